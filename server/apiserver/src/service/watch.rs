//! Watch: optional initial state, then changes, filtered by selectors, with bookmarks and a
//! server-side timeout. A watcher that fell behind compacted history gets one ERROR event with
//! a 410 `Status`, after which the client relists (as upstream's reflectors do).

use super::list::ListOptions;
use super::{Api, parse_rv};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::time::Duration;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta};
use wasmkube_store::{EventType, KeyValue, Prefix, WatchStream};

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub list: ListOptions,
    pub allow_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub timeout: Duration,
    pub bookmark_every: Duration,
}

/// One event as the wire shows it: `{"type": ..., "object": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub kind: &'static str,
    pub object: Value,
}

struct State {
    def: &'static ResourceDef,
    opts: WatchOptions,
    pending: VecDeque<WatchEvent>,
    inner: Option<WatchStream>,
    last_rev: u64,
    deadline: tokio::time::Instant,
    next_bookmark: tokio::time::Instant,
}

impl Api {
    pub async fn watch(
        &self,
        def: &'static ResourceDef,
        ns: Option<&str>,
        opts: WatchOptions,
    ) -> Result<BoxStream<'static, WatchEvent>, ApiError> {
        let rv = opts.list.resource_version.clone().filter(|s| !s.is_empty());
        let initial = opts.send_initial_events.unwrap_or(matches!(rv.as_deref(), None | Some("0")));
        let mut pending = VecDeque::new();
        let start = if initial {
            let mut list_opts = opts.list.clone();
            list_opts.resource_version = None;
            list_opts.resource_version_match = None;
            list_opts.limit = None;
            list_opts.continue_token = None;
            let list = self.list(def, ns, &list_opts).await?;
            pending.extend(list.items.into_iter().map(|object| WatchEvent { kind: "ADDED", object }));
            if opts.send_initial_events == Some(true) && opts.allow_bookmarks {
                pending.push_back(bookmark(def, list.resource_version, true));
            }
            list.resource_version
        } else {
            parse_rv(rv.as_deref().unwrap_or("0"))?
        };
        let prefix = Prefix::resource(def.storage, if def.namespaced { ns } else { None });
        let inner = match self.store.watch(prefix, start) {
            Ok(s) => Some(s),
            Err(wasmkube_store::Error::Compacted { requested, compacted }) => {
                pending.push_back(expired(requested, compacted));
                None
            }
            Err(e) => return Err(super::store_error(e)),
        };
        let now = tokio::time::Instant::now();
        let state = State {
            def,
            deadline: now + opts.timeout,
            next_bookmark: now + opts.bookmark_every,
            opts,
            pending,
            inner,
            last_rev: start,
        };
        Ok(futures::stream::unfold(state, next_event).boxed())
    }
}

async fn next_event(mut s: State) -> Option<(WatchEvent, State)> {
    loop {
        if let Some(ev) = s.pending.pop_front() {
            return Some((ev, s));
        }
        let inner = s.inner.as_mut()?;
        tokio::select! {
            item = inner.next() => match item {
                None => return None,
                Some(Err(wasmkube_store::Error::Compacted { requested, compacted })) => {
                    s.inner = None;
                    return Some((expired(requested, compacted), s));
                }
                Some(Err(_)) => return None,
                Some(Ok(ev)) => {
                    s.last_rev = ev.rev;
                    if let Some(out) = translate(&s, &ev) {
                        return Some((out, s));
                    }
                }
            },
            _ = tokio::time::sleep_until(s.deadline) => return None,
            _ = tokio::time::sleep_until(s.next_bookmark) => {
                s.next_bookmark = tokio::time::Instant::now() + s.opts.bookmark_every;
                if s.opts.allow_bookmarks {
                    return Some((bookmark(s.def, s.last_rev, false), s));
                }
            }
        }
    }
}

/// Selector-aware translation: an object that starts or stops matching is ADDED or DELETED.
fn translate(s: &State, ev: &wasmkube_store::Event) -> Option<WatchEvent> {
    let decode = |value: &bytes::Bytes| {
        let kv = KeyValue { key: ev.key.clone(), value: value.clone(), mod_rev: ev.rev };
        Api::decode_stored(s.def, &kv).ok()
    };
    let object = decode(&ev.value)?;
    let now = s.opts.list.matches(&object);
    // Without a selector the previous state matched if there was one: no need to decode it.
    let before = if s.opts.list.matches_everything() {
        ev.prev.is_some()
    } else {
        ev.prev.as_ref().and_then(|(_, p)| decode(p)).is_some_and(|p| s.opts.list.matches(&p))
    };
    let kind = match (ev.kind, before, now) {
        (EventType::Deleted, _, true) => "DELETED",
        (EventType::Deleted, _, false) => return None,
        (_, false, true) => "ADDED",
        (EventType::Modified, true, true) => "MODIFIED",
        (EventType::Modified, true, false) => "DELETED",
        _ => return None,
    };
    Some(WatchEvent { kind, object })
}

fn bookmark(def: &ResourceDef, rev: u64, initial_end: bool) -> WatchEvent {
    let mut object = json!({"kind": def.kind, "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": rev.to_string(), "creationTimestamp": null}});
    if initial_end {
        meta::metadata_mut(&mut object)
            .insert("annotations".into(), json!({"k8s.io/initial-events-end": "true"}));
    }
    WatchEvent { kind: "BOOKMARK", object }
}

fn expired(requested: u64, compacted: u64) -> WatchEvent {
    let status =
        ApiError::expired(format!("too old resource version: {requested} ({compacted})")).to_status();
    WatchEvent { kind: "ERROR", object: status }
}
