//! The API's semantics, free of HTTP: what create, update, patch, delete, list and watch mean for
//! Kubernetes objects (uids, generations, finalizers, subresources, defaulting, validation),
//! on top of the [`Store`].
//!
//! **Architecture Invariant:** this is the only code that touches the store. HTTP handlers and
//! in-process controllers (garbage collector, namespace lifecycle) both call [`Api`], so a
//! controller's write is checked exactly like a user's.

mod admission;
mod create;
mod delete;
mod feed;
mod ipam;
mod list;
mod patch;
pub mod subresource;
pub mod update;
mod watch;

pub use create::SYSTEM_NAMESPACES;
pub use delete::{DeleteOptions, Deleted};
pub use feed::{AnyEvent, EverythingStream, Subscription};
pub use ipam::ServiceCidr;
pub use list::{ListOptions, ObjectList};
pub use patch::PatchType;
pub use watch::{WatchEvent, WatchOptions};

use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use wasmkube_api::decode::FieldValidation;
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, convert, meta};
use wasmkube_store::{Key, KeyValue, Store};

/// Options common to writes (`?fieldManager=&fieldValidation=&dryRun=`).
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub field_manager: Option<String>,
    pub field_validation: FieldValidation,
    pub dry_run: bool,
}

/// An object written, with the warnings to return (`Warning:` headers).
#[derive(Debug)]
pub struct Written {
    pub object: Value,
    pub warnings: Vec<String>,
}

#[derive(Clone)]
pub struct Api {
    store: Arc<dyn Store>,
    feed: Arc<feed::Feed>,
    services: Arc<ipam::ServiceAddresses>,
}

impl Api {
    /// An API over `store`, with Services' cluster IPs from the default 10.96.0.0/12.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Api::with_service_cidr(store, ServiceCidr::default())
    }

    pub fn with_service_cidr(store: Arc<dyn Store>, cidr: ServiceCidr) -> Self {
        Api { store, feed: Arc::default(), services: Arc::new(ipam::ServiceAddresses::new(cidr)) }
    }

    /// Where Services' cluster IPs come from.
    pub fn service_cidr(&self) -> ServiceCidr {
        self.services.cidr()
    }

    pub fn store_rev(&self) -> u64 {
        self.store.current_rev()
    }

    fn key(def: &ResourceDef, ns: &str, name: &str) -> Key {
        Key::new(def.storage, if def.namespaced { ns } else { "" }, name)
    }

    /// A stored record -> the object as `def`'s version serves it, with its resourceVersion.
    fn decode_stored(def: &ResourceDef, kv: &KeyValue) -> Result<Value, ApiError> {
        let mut obj: Value = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::internal(format!("corrupt object {:?}: {e}", kv.key)))?;
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), kv.mod_rev.to_string().into());
        Ok(convert::from_storage(def, obj))
    }

    /// The object as stored: the storage version, without resourceVersion.
    fn encode_for_storage(def: &ResourceDef, obj: &Value) -> Bytes {
        let mut obj = convert::to_storage(def, obj.clone());
        meta::metadata_mut(&mut obj).remove("resourceVersion");
        Bytes::from(serde_json::to_vec(&obj).expect("JSON values always serialise"))
    }

    fn with_rev(mut obj: Value, rev: u64) -> Value {
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), rev.to_string().into());
        obj
    }

    /// The current object and its mod revision.
    pub async fn get_with_rev(
        &self,
        def: &ResourceDef,
        ns: &str,
        name: &str,
    ) -> Result<(Value, u64), ApiError> {
        let kv = self
            .store
            .get(&Self::key(def, ns, name))
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found(def.group, def.plural, name))?;
        Ok((Self::decode_stored(def, &kv)?, kv.mod_rev))
    }

    pub async fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value, ApiError> {
        Ok(self.get_with_rev(def, ns, name).await?.0)
    }
}

/// Store failures that are not ordinary answers become internal errors; the ordinary ones are
/// mapped by the caller, which knows the resource and name.
pub(crate) fn store_error(e: wasmkube_store::Error) -> ApiError {
    use wasmkube_store::Error as E;
    match e {
        E::Compacted { requested, compacted } => {
            ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
        }
        E::FutureRevision { requested, current } => {
            ApiError::timeout(format!("Too large resource version: {requested}, current: {current}"))
        }
        other => ApiError::internal(other.to_string()),
    }
}

/// Parse a `resourceVersion` string as clients send it.
pub(crate) fn parse_rv(rv: &str) -> Result<u64, ApiError> {
    rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

/// Upstream's GuaranteedUpdate: after a concurrent write wins, re-read and re-apply. Unpinned
/// writes retry until the request deadline, backing off a little once contention is heavy.
pub(crate) struct ConflictRetry {
    deadline: tokio::time::Instant,
    attempts: u32,
}

impl ConflictRetry {
    pub(crate) fn new() -> Self {
        ConflictRetry {
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(30),
            attempts: 0,
        }
    }

    /// Whether to try again; waits briefly when many attempts have lost.
    pub(crate) async fn again(&mut self) -> bool {
        if tokio::time::Instant::now() >= self.deadline {
            return false;
        }
        self.attempts += 1;
        if self.attempts > 3 {
            let jitter = rand::random::<u64>() % u64::from(self.attempts.min(20));
            tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
        }
        true
    }
}
