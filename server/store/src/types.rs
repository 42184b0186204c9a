//! The vocabulary every store backend shares.

use bytes::Bytes;

/// A global revision (the `resourceVersion` of every object and event).
pub type Rev = u64;

/// Errors a store reports. Conflicts and precondition failures are ordinary answers that the API
/// layer turns into `409`; I/O and corruption are real failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("key already exists")]
    AlreadyExists,
    #[error("key not found")]
    NotFound,
    #[error("revision precondition failed: expected {expected}, found {found}")]
    Conflict { expected: Rev, found: Rev },
    #[error("revision {requested} has been compacted (oldest retained is {compacted})")]
    Compacted { requested: Rev, compacted: Rev },
    #[error("revision {requested} is in the future (current is {current})")]
    FutureRevision { requested: Rev, current: Rev },
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("the store is shutting down")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where an object lives: `resource` is the group-qualified plural (`pods`, `apps/deployments`),
/// `namespace` is empty for cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(resource: &str, namespace: &str, name: &str) -> Self {
        Key { resource: resource.into(), namespace: namespace.into(), name: name.into() }
    }

    /// The on-disk encoding. NUL cannot occur in resource, namespace or object names (the API
    /// layer validates names as DNS labels/subdomains or path segments), so the encoding is
    /// unambiguous and sorts by (resource, namespace, name).
    pub fn encode(&self) -> String {
        format!("{}\0{}\0{}", self.resource, self.namespace, self.name)
    }

    pub fn decode(s: &str) -> Option<Key> {
        let mut it = s.splitn(3, '\0');
        Some(Key::new(it.next()?, it.next()?, it.next()?))
    }
}

/// A range of keys: every object of a resource, optionally within one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub resource: Option<String>,
    pub namespace: Option<String>,
}

impl Prefix {
    /// Everything in the store (used by the garbage collector and namespace controller).
    pub fn all() -> Self {
        Prefix { resource: None, namespace: None }
    }

    pub fn resource(resource: &str, namespace: Option<&str>) -> Self {
        Prefix { resource: Some(resource.into()), namespace: namespace.map(Into::into) }
    }

    pub fn encode(&self) -> String {
        match (&self.resource, &self.namespace) {
            (None, _) => String::new(),
            (Some(r), None) => format!("{r}\0"),
            (Some(r), Some(ns)) => format!("{r}\0{ns}\0"),
        }
    }

    pub fn matches(&self, key: &Key) -> bool {
        self.resource.as_ref().is_none_or(|r| *r == key.resource)
            && self.namespace.as_ref().is_none_or(|ns| *ns == key.namespace)
    }
}

/// One stored object with the revisions that describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Key,
    pub value: Bytes,
    /// The revision of the last write to this key: the object's `resourceVersion`.
    pub mod_rev: Rev,
}

/// A snapshot of a range.
#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision the snapshot is consistent at.
    pub rev: Rev,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One entry of the event log. For `Deleted`, `value` is the object as it was when deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub rev: Rev,
    pub kind: EventType,
    pub key: Key,
    pub value: Bytes,
    /// The value before this event with its revision (absent for `Added`); lets a reader
    /// rebuild older snapshots by undoing events.
    pub prev: Option<(Rev, Bytes)>,
}

/// A write. `expected_rev` is an optimistic-concurrency precondition on the key's `mod_rev`.
#[derive(Debug, Clone)]
pub enum Op {
    Create { key: Key, value: Bytes },
    Update { key: Key, value: Bytes, expected_rev: Option<Rev> },
    Delete { key: Key, expected_rev: Option<Rev> },
}

impl Op {
    pub fn key(&self) -> &Key {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

/// What a successful write did.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The revision this write was given.
    pub rev: Rev,
    /// The value before the write (`None` for creates).
    pub prev: Option<KeyValue>,
}
