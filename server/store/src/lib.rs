//! The cluster store: every API object, one global revision, an event log, watches.
//!
//! # Layout
//! - [`types`]: keys, values, events and write operations — the vocabulary every backend shares.
//! - [`Store`]: the trait the API server programs against. An etcd backend can implement it later
//!   without touching the API layer (as k3s's kine does for SQL).
//! - [`redb_store`]: the embedded backend on one redb file, with group commit
//!   ([`redb_store::writer`]) and watches fed by an in-memory broadcast plus the on-disk log
//!   ([`redb_store::watch`]).
//!
//! Values are opaque bytes to the store. The API layer stores objects *without*
//! `metadata.resourceVersion` and fills it in from [`KeyValue::mod_rev`] on the way out, as the
//! upstream API server does with etcd's mod revision; so a write never needs to know its own
//! revision in advance and the group-commit writer can assign revisions freely.

pub mod redb_store;
pub mod types;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
pub use redb_store::{RedbStore, RedbStoreConfig};
use std::sync::Arc;
pub use types::{Error, Event, EventType, Key, KeyValue, ListResult, Op, Prefix, Result, Rev, WriteOutcome};

/// A stream of events; ends with an error if the watcher fell behind compacted history.
pub type WatchStream = BoxStream<'static, Result<Arc<Event>>>;

/// A revisioned key-value store with an event log. All revisions are global: every successful
/// write bumps one counter, and that counter is every object's `resourceVersion`.
pub trait Store: Send + Sync + 'static {
    /// The latest committed revision.
    fn current_rev(&self) -> Rev;

    /// The oldest revision a watch may resume from (older ones were compacted away).
    fn compacted_rev(&self) -> Rev;

    /// One object at the latest revision.
    fn get<'a>(&'a self, key: &'a Key) -> BoxFuture<'a, Result<Option<KeyValue>>>;

    /// Every object under `prefix`, sorted by key, as of revision `at` (the latest when `None`).
    /// Fails with [`Error::Compacted`] when `at` is older than the retained history.
    fn list<'a>(&'a self, prefix: &'a Prefix, at: Option<Rev>) -> BoxFuture<'a, Result<ListResult>>;

    /// Apply one write durably. Concurrent callers share commits (group commit).
    fn write(&self, op: Op) -> BoxFuture<'_, Result<WriteOutcome>>;

    /// Events under `prefix` with a revision strictly greater than `after`, then live ones.
    /// Fails at once with [`Error::Compacted`] if `after` is older than the retained history.
    fn watch(&self, prefix: Prefix, after: Rev) -> Result<WatchStream>;
}
