//! The feeder: a task of its own that lists, watches, and parses what the scheduler reads
//! (Pods, Nodes, Namespaces) into [`Update`]s, sent in batches to the scheduling loop.
//!
//! Decoding watch events is a large share of the scheduler's work under load (every bind comes
//! back as a pod event), so it runs beside the loop rather than inside it: on a two-core machine
//! the loop decides while the feeder decodes. The channel is bounded; a loop that falls behind
//! makes the feeder wait, and the store keeps the events meanwhile.

use crate::model::node::NodeSpec;
use crate::model::pod::PodInfo;
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use wasmkube_api::{ApiError, ResourceDef, meta};
use wasmkube_apiserver::Api;

/// Updates per batch: enough to amortise the channel, small enough to keep the loop responsive.
const BATCH: usize = 512;
/// Batches that may wait for the loop.
const QUEUED_BATCHES: usize = 64;

/// One object's change, parsed.
#[derive(Debug)]
pub enum Update {
    Pod(Arc<PodInfo>),
    PodDeleted(String),
    Node(NodeSpec),
    NodeDeleted(String),
    Namespace(String, Map<String, Value>),
    NamespaceDeleted(String),
}

impl Update {
    fn parse(def: &ResourceDef, obj: &Value, deleted: bool) -> Option<Update> {
        let name = || meta::name(obj).to_string();
        Some(match (def.storage, deleted) {
            ("pods", false) => Update::Pod(Arc::new(PodInfo::parse(obj))),
            ("pods", true) => Update::PodDeleted(meta::uid(obj).to_string()),
            ("nodes", false) => Update::Node(NodeSpec::parse(obj)),
            ("nodes", true) => Update::NodeDeleted(name()),
            ("namespaces", false) => {
                Update::Namespace(name(), meta::labels(obj).cloned().unwrap_or_default())
            }
            ("namespaces", true) => Update::NamespaceDeleted(name()),
            _ => return None,
        })
    }
}

/// Parse a full listing on two threads, each also freeing its half of the JSON afterwards
/// (freeing ten thousand pods' JSON takes as long as parsing them). A restarted scheduler's
/// first decision waits for this, so it is worth the two cores.
async fn parse_listing(mut objects: Vec<(&'static ResourceDef, Arc<Value>)>) -> Option<Vec<Update>> {
    let second = objects.split_off(objects.len() / 2);
    let parse = |chunk: Vec<(&'static ResourceDef, Arc<Value>)>| {
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let parsed: Vec<Update> =
                chunk.iter().filter_map(|(def, obj)| Update::parse(def, obj, false)).collect();
            let _ = tx.send(parsed);
            drop(chunk);
        });
        rx
    };
    let (a, b) = (parse(objects), parse(second));
    // Either half is missing only when the runtime is shutting down (its blocking pool gone).
    let mut updates = a.await.ok()?;
    updates.extend(b.await.ok()?);
    Some(updates)
}

#[derive(Debug)]
pub enum Feed {
    /// Everything as of a fresh listing: the loop starts over from it.
    Reset(Vec<Update>),
    Updates(Vec<Update>),
}

/// Start the feeder; it stops when the receiver is dropped.
pub fn spawn(api: Api) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(QUEUED_BATCHES);
    let span = tracing::info_span!("scheduler_feed");
    tokio::spawn(tracing::Instrument::instrument(run(api, tx), span));
    rx
}

async fn run(api: Api, tx: mpsc::Sender<Feed>) {
    loop {
        match feed(&api, &tx).await {
            Err(e) => tracing::warn!(error = %e, "scheduler watch ended; relisting"),
            Ok(()) if tx.is_closed() => return,
            Ok(()) => tracing::debug!("scheduler watch ended; relisting"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One listing and the watch after it. `Ok` when the watch or the receiver ended.
async fn feed(api: &Api, tx: &mpsc::Sender<Feed>) -> Result<(), ApiError> {
    let (objects, mut events) = api.list_watch_everything().await?;
    let Some(listing) = parse_listing(objects).await else { return Ok(()) };
    if tx.send(Feed::Reset(listing)).await.is_err() {
        return Ok(());
    }
    loop {
        let first = tokio::select! {
            ev = events.next() => ev,
            // The loop is gone (its task was aborted): stop rather than hold the watch open.
            () = tx.closed() => return Ok(()),
        };
        let Some(first) = first else { return Ok(()) };
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(ev) = next.take() {
            let ev = ev?;
            batch.extend(Update::parse(ev.def, &ev.object, ev.deleted));
            if batch.len() < BATCH {
                // Take what has already arrived, without waiting for more.
                next = events.next().now_or_never().flatten();
            }
        }
        if !batch.is_empty() && tx.send(Feed::Updates(batch)).await.is_err() {
            return Ok(());
        }
    }
}
