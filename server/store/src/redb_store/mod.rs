//! The embedded backend: one redb file holding three tables.
//!
//! - `objects`: encoded [`Key`] -> `mod_rev` + value (the latest state).
//! - `events`: revision -> encoded [`Event`] (the log; compacted to a bounded history).
//! - `meta`: `current_rev` and `compacted_rev`.
//!
//! **Architecture Invariant:** only the writer thread ([`writer`]) opens write transactions, so
//! revisions are assigned in commit order with no locking beyond redb's own. Readers open short
//! read transactions and never keep one across an `.await` (watches re-read the log in chunks).

pub(crate) mod codec;
pub mod watch;
pub(crate) mod writer;

use crate::types::{Error, Event, Key, KeyValue, ListResult, Op, Prefix, Result, Rev, WriteOutcome};
use crate::{Store, WatchStream};
use futures::future::BoxFuture;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{broadcast, mpsc, oneshot};

pub(crate) const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// How the embedded store behaves; owned by the store, filled by the binary from its flags.
#[derive(Debug, Clone)]
pub struct RedbStoreConfig {
    pub path: PathBuf,
    /// How many revisions of event history to keep for watches and consistent lists.
    pub history_revisions: u64,
    /// The most writes one commit may carry.
    pub max_batch: usize,
}

impl RedbStoreConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RedbStoreConfig { path: path.into(), history_revisions: 10_000, max_batch: 512 }
    }
}

/// State shared by the writer thread, readers and watchers.
pub(crate) struct Shared {
    pub db: Database,
    pub current_rev: AtomicU64,
    pub compacted_rev: AtomicU64,
    pub events: broadcast::Sender<Arc<Event>>,
}

pub struct RedbStore {
    shared: Arc<Shared>,
    writes: mpsc::UnboundedSender<writer::Request>,
}

fn storage<E: std::fmt::Display>(e: E) -> Error {
    Error::Storage(e.to_string())
}

impl RedbStore {
    /// Open (or create) the store file and start its writer thread.
    pub fn open(config: RedbStoreConfig) -> Result<Self> {
        let db = Database::create(&config.path).map_err(storage)?;
        let (current, compacted) = init_tables(&db)?;
        let (events, _) = broadcast::channel(16_384);
        let shared = Arc::new(Shared {
            db,
            current_rev: AtomicU64::new(current),
            compacted_rev: AtomicU64::new(compacted),
            events,
        });
        let writes = writer::spawn(shared.clone(), config)?;
        Ok(RedbStore { shared, writes })
    }
}

fn init_tables(db: &Database) -> Result<(Rev, Rev)> {
    let txn = db.begin_write().map_err(storage)?;
    let revs = {
        txn.open_table(OBJECTS).map_err(storage)?;
        txn.open_table(EVENTS).map_err(storage)?;
        let meta = txn.open_table(META).map_err(storage)?;
        let get = |k| meta.get(k).map(|v| v.map_or(0, |g| g.value()));
        (get("current_rev").map_err(storage)?, get("compacted_rev").map_err(storage)?)
    };
    txn.commit().map_err(storage)?;
    Ok(revs)
}

impl Store for RedbStore {
    fn current_rev(&self) -> Rev {
        self.shared.current_rev.load(Ordering::Acquire)
    }

    fn compacted_rev(&self) -> Rev {
        self.shared.compacted_rev.load(Ordering::Acquire)
    }

    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<KeyValue>>> {
        Box::pin(async move {
            let txn = self.shared.db.begin_read().map_err(storage)?;
            let table = txn.open_table(OBJECTS).map_err(storage)?;
            let Some(raw) = table.get(key.encode().as_str()).map_err(storage)? else {
                return Ok(None);
            };
            let (mod_rev, value) = codec::decode_object(raw.value())
                .ok_or_else(|| Error::Storage(format!("corrupt object record {key:?}")))?;
            Ok(Some(KeyValue { key: key.clone(), value, mod_rev }))
        })
    }

    fn list<'a>(&'a self, prefix: &'a Prefix, at: Option<Rev>) -> BoxFuture<'a, Result<ListResult>> {
        Box::pin(async move { list_at(&self.shared.db, prefix, at) })
    }

    fn write(&self, op: Op) -> BoxFuture<'_, Result<WriteOutcome>> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.writes.send(writer::Request { op, reply }).map_err(|_| Error::Closed)?;
            answer.await.map_err(|_| Error::Closed)?
        })
    }

    fn watch(&self, prefix: Prefix, after: Rev) -> Result<WatchStream> {
        watch::start(self.shared.clone(), prefix, after)
    }
}

/// A consistent snapshot of `prefix` at `at`: the current range read in one transaction, with
/// the events after `at` undone (newest first) from the same transaction's log.
fn list_at(db: &Database, prefix: &Prefix, at: Option<Rev>) -> Result<ListResult> {
    let txn = db.begin_read().map_err(storage)?;
    let meta = txn.open_table(META).map_err(storage)?;
    let get = |k| meta.get(k).map(|v| v.map_or(0, |g| g.value()));
    let current = get("current_rev").map_err(storage)?;
    let compacted = get("compacted_rev").map_err(storage)?;
    let rev = at.unwrap_or(current);
    if rev > current {
        return Err(Error::FutureRevision { requested: rev, current });
    }
    if rev < compacted {
        return Err(Error::Compacted { requested: rev, compacted });
    }
    let objects = txn.open_table(OBJECTS).map_err(storage)?;
    let start = prefix.encode();
    let mut items: BTreeMap<String, (Rev, bytes::Bytes)> = BTreeMap::new();
    for entry in objects.range(start.as_str()..).map_err(storage)? {
        let (k, v) = entry.map_err(storage)?;
        if !k.value().starts_with(start.as_str()) {
            break;
        }
        let rec = codec::decode_object(v.value())
            .ok_or_else(|| Error::Storage(format!("corrupt object record {:?}", k.value())))?;
        items.insert(k.value().to_owned(), rec);
    }
    if rev < current {
        let events = txn.open_table(EVENTS).map_err(storage)?;
        for entry in events.range(rev + 1..=current).map_err(storage)?.rev() {
            let (r, raw) = entry.map_err(storage)?;
            let ev = codec::decode_event(r.value(), raw.value())
                .ok_or_else(|| Error::Storage(format!("corrupt event {}", r.value())))?;
            if prefix.matches(&ev.key) {
                undo(&mut items, ev);
            }
        }
    }
    let items = items
        .into_iter()
        .filter_map(|(k, (mod_rev, value))| Some(KeyValue { key: Key::decode(&k)?, value, mod_rev }))
        .collect();
    Ok(ListResult { items, rev })
}

fn undo(items: &mut BTreeMap<String, (Rev, bytes::Bytes)>, ev: Event) {
    let k = ev.key.encode();
    match ev.prev {
        None => {
            items.remove(&k);
        }
        Some(prev) => {
            items.insert(k, prev);
        }
    }
}

#[cfg(test)]
mod tests;
