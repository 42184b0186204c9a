//! One decoded feed of every change, shared by the in-process watchers (the controllers, the
//! scheduler, the node agent). Each store event is decoded once and handed to every subscriber
//! as an `Arc`, instead of being decoded again by each of a dozen watchers — under a burst of
//! pod starts that decoding was the server's largest cost.
//!
//! A subscriber subscribes first and lists second, then skips what its listing already holds:
//! the feed delivers every event after the revision it started at, and the listing is at least
//! that new, so nothing falls between the two. The feed runs while someone listens: it starts
//! with the first subscriber and stops when the last one is gone or the store's watch ends
//! (its subscribers then see their stream end and relist, as after a watch expiry).

use super::{Api, store_error};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, registry};
use wasmkube_store::{EventType, KeyValue, Prefix, WatchStream};

/// A change to any object, decoded in its resource's storage form.
#[derive(Debug, Clone)]
pub struct AnyEvent {
    pub rev: u64,
    pub deleted: bool,
    pub def: &'static ResourceDef,
    /// Shared: the controllers' caches keep this very allocation rather than copies of it.
    pub object: Arc<Value>,
}

/// Changes after a listing, each shared by every subscriber. Ends with an error when the
/// subscriber fell too far behind (relist), or without one when the feed stopped (relist too).
pub type EverythingStream = BoxStream<'static, Result<Arc<AnyEvent>, ApiError>>;

/// Events a subscriber may leave unread before it must relist (a scheduler parsing a large
/// listing while pods pour in is the slowest reader).
const BACKLOG: usize = 32 * 1024;

#[derive(Default)]
pub(crate) struct Feed {
    running: Mutex<Option<broadcast::Sender<Arc<AnyEvent>>>>,
}

impl Feed {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<broadcast::Sender<Arc<AnyEvent>>>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Every change from the moment it was taken; turn it into a stream once the listing it
/// accompanies is known.
pub struct Subscription(broadcast::Receiver<Arc<AnyEvent>>);

impl Subscription {
    /// The changes newer than `rev` (the revision of the listing taken after subscribing).
    pub fn after(self, rev: u64) -> EverythingStream {
        futures::stream::unfold(self.0, move |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(ev) if ev.rev <= rev => continue,
                    Ok(ev) => return Some((Ok(ev), rx)),
                    Err(broadcast::error::RecvError::Closed) => return None,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        let message = format!("the watch fell {missed} events behind; relist");
                        // A fresh receiver that only ever reports the end: the stream stops here.
                        let (_, closed) = broadcast::channel(1);
                        return Some((Err(ApiError::expired(message)), closed));
                    }
                }
            }
        })
        .boxed()
    }
}

impl Api {
    /// Subscribe to every change from now on. List after this, then call
    /// [`Subscription::after`] with the listing's revision.
    pub fn subscribe_everything(&self) -> Result<Subscription, ApiError> {
        let mut running = self.feed.lock();
        if let Some(tx) = running.as_ref() {
            return Ok(Subscription(tx.subscribe()));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ApiError::internal("watching needs the server's async runtime"))?;
        let from = self.store.current_rev();
        let inner = self.store.watch(Prefix::all(), from).map_err(store_error)?;
        let (tx, rx) = broadcast::channel(BACKLOG);
        runtime.spawn(pump(Pump { feed: self.feed.clone(), tx: tx.clone() }, inner));
        *running = Some(tx);
        Ok(Subscription(rx))
    }

    /// Every object of every resource, and every change after that listing.
    pub async fn list_watch_everything(
        &self,
    ) -> Result<(Vec<(&'static ResourceDef, Arc<Value>)>, EverythingStream), ApiError> {
        let subscription = self.subscribe_everything()?;
        let snapshot = self.store.list(&Prefix::all(), None).await.map_err(store_error)?;
        let mut out = Vec::with_capacity(snapshot.items.len());
        for kv in &snapshot.items {
            if let Some(def) = registry::by_storage(&kv.key.resource) {
                out.push((def, Arc::new(Self::decode_stored(def, kv)?)));
            }
        }
        Ok((out, subscription.after(snapshot.rev)))
    }
}

/// The running feed's task. However it ends (no subscriber left, the store's watch ending, a
/// panic, its runtime shutting down), dropping this takes the feed down with it, so its
/// subscribers' streams end and they relist rather than wait on a channel nobody feeds.
struct Pump {
    feed: Arc<Feed>,
    tx: broadcast::Sender<Arc<AnyEvent>>,
}

impl Drop for Pump {
    fn drop(&mut self) {
        let mut running = self.feed.lock();
        if running.as_ref().is_some_and(|current| current.same_channel(&self.tx)) {
            *running = None;
        }
    }
}

/// Decode each store event once and hand it to every subscriber, until none is left or the
/// store's watch ends.
async fn pump(pump: Pump, mut inner: WatchStream) {
    while let Some(ev) = inner.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(error = %e, "the shared feed's store watch failed; subscribers relist");
                return;
            }
        };
        let Some(def) = registry::by_storage(&ev.key.resource) else { continue };
        let kv = KeyValue { key: ev.key.clone(), value: ev.value.clone(), mod_rev: ev.rev };
        let object = match Api::decode_stored(def, &kv) {
            Ok(object) => object,
            Err(e) => {
                tracing::error!(error = %e, "undecodable object in the store; skipped");
                continue;
            }
        };
        let deleted = ev.kind == EventType::Deleted;
        let shared = Arc::new(AnyEvent { rev: ev.rev, deleted, def, object: Arc::new(object) });
        // Send and check under the lock a new subscriber takes, so none joins a stopping feed.
        let running = pump.feed.lock();
        if pump.tx.send(shared).is_err() {
            drop(running);
            return; // nobody listens: `Pump::drop` stops the feed
        }
    }
    tracing::debug!("the shared feed's store watch ended; subscribers relist");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::WriteOptions;
    use serde_json::json;
    use wasmkube_store::{RedbStore, RedbStoreConfig};

    fn api(dir: &tempfile::TempDir) -> Api {
        let store = RedbStore::open(RedbStoreConfig::new(dir.path().join("store.redb"))).unwrap();
        Api::new(Arc::new(store))
    }

    async fn create(api: &Api, storage: &str, ns: &str, name: &str) {
        let def = registry::by_storage(storage).unwrap();
        let obj = json!({"apiVersion": def.api_version(), "kind": def.kind, "metadata": {"name": name}});
        api.create(def, ns, obj, &WriteOptions::default()).await.unwrap();
    }

    async fn next(events: &mut EverythingStream) -> Arc<AnyEvent> {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.next()).await;
        ev.expect("an event in time").expect("the stream goes on").expect("no error")
    }

    #[tokio::test]
    async fn a_change_between_subscribing_and_listing_is_in_the_listing_not_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let api = api(&dir);
        create(&api, "namespaces", "", "default").await;
        let subscription = api.subscribe_everything().unwrap();
        let other = api.subscribe_everything().unwrap();
        create(&api, "configmaps", "default", "before-listing").await;
        let listing = api.store_rev();
        create(&api, "configmaps", "default", "after-listing").await;
        let mut events = subscription.after(listing);
        let ev = next(&mut events).await;
        assert_eq!(wasmkube_api::meta::name(&ev.object), "after-listing");
        assert_eq!(ev.def.storage, "configmaps");
        // The other subscriber receives the very same decoded event, not a copy.
        let mut everything = other.after(0);
        let first = next(&mut everything).await;
        assert_eq!(wasmkube_api::meta::name(&first.object), "before-listing");
        assert!(Arc::ptr_eq(&next(&mut everything).await, &ev));
    }

    #[tokio::test]
    async fn the_feed_stops_with_its_last_subscriber_and_starts_again_with_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let api = api(&dir);
        create(&api, "namespaces", "", "default").await;
        drop(api.subscribe_everything().unwrap());
        // The next change finds nobody listening: the feed ends.
        create(&api, "configmaps", "default", "unheard").await;
        for _ in 0..100 {
            if api.feed.lock().is_none() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(api.feed.lock().is_none(), "the feed stopped");
        let (listing, mut events) = api.list_watch_everything().await.unwrap();
        assert!(listing.iter().any(|(_, o)| wasmkube_api::meta::name(o) == "unheard"));
        create(&api, "configmaps", "default", "heard").await;
        assert_eq!(wasmkube_api::meta::name(&next(&mut events).await.object), "heard");
    }
}
