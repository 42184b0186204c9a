//! Ownership as upstream's `ControllerRefManager` decides it: a controller adopts orphans its
//! selector matches and releases the objects it owns that no longer match.

use crate::cache::{Objects, controller_uid};
use crate::client::Client;
use crate::pods::controller_reference;
use serde_json::{Value, json};
use std::sync::Arc;
use wasmkube_api::selector::LabelSelector;
use wasmkube_api::{ApiError, ResourceDef, meta};
use wasmkube_apiserver::service::PatchType;

/// What claiming found: objects already ours and matching, orphans to adopt, ours to release.
pub(crate) struct Claims {
    pub owned: Vec<Arc<Value>>,
    adopt: Vec<Arc<Value>>,
    release: Vec<Arc<Value>>,
}

/// Decide ownership of the objects in `owner`'s namespace. `adoptable` narrows which orphans
/// may be adopted (e.g. only active pods for ReplicaSets).
pub(crate) fn plan(
    objects: &Objects,
    owner: &Value,
    selector: &LabelSelector,
    adoptable: impl Fn(&Value) -> bool,
) -> Claims {
    let deleting = meta::is_deleting(owner);
    let mut claims = Claims { owned: Vec::new(), adopt: Vec::new(), release: Vec::new() };
    for obj in objects.owned_by(meta::uid(owner)) {
        if selector.matches_object(obj) {
            claims.owned.push(obj.clone());
        } else if !deleting {
            claims.release.push(obj.clone());
        }
    }
    // An empty selector would adopt everything; upstream refuses such selectors for workloads.
    if deleting || selector.is_empty() {
        return claims;
    }
    for obj in objects.orphans_in(meta::namespace(owner)) {
        if !meta::is_deleting(obj) && selector.matches_object(obj) && adoptable(obj) {
            claims.adopt.push(obj.clone());
        }
    }
    claims
}

impl Claims {
    /// Whether claiming needs writes.
    pub fn is_settled(&self) -> bool {
        self.adopt.is_empty() && self.release.is_empty()
    }

    /// Make the adoptions and releases. Returns the owned objects afterwards and every object
    /// written (for the caller's cache).
    pub async fn execute(
        mut self,
        client: &Client,
        def: &'static ResourceDef,
        owner_def: &'static ResourceDef,
        owner: &Value,
    ) -> Result<(Vec<Arc<Value>>, Vec<Value>), ApiError> {
        let mut written = Vec::new();
        if !self.adopt.is_empty() && still_adoptable(client, owner_def, owner).await? {
            let patch = json!({"metadata": {"ownerReferences": [controller_reference(owner)]}});
            for obj in std::mem::take(&mut self.adopt) {
                tracing::debug!(
                    kind = def.kind,
                    name = meta::name(&obj),
                    owner = meta::name(owner),
                    "adopting"
                );
                match client.patch(def, &obj, PatchType::Strategic, &patch).await {
                    Ok(o) if controller_uid(&o) == Some(meta::uid(owner)) => {
                        self.owned.push(Arc::new(o.clone()));
                        written.push(o);
                    }
                    Ok(o) => written.push(o),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": meta::uid(owner)}]}});
        for obj in self.release {
            tracing::debug!(kind = def.kind, name = meta::name(&obj), owner = meta::name(owner), "releasing");
            match client.patch(def, &obj, PatchType::Strategic, &patch).await {
                Ok(o) => written.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok((self.owned, written))
    }
}

/// Upstream re-reads the owner before adopting: a cached owner may already be gone or
/// being deleted, and adopting for it would hand the orphan to the garbage collector.
async fn still_adoptable(
    client: &Client,
    def: &'static ResourceDef,
    owner: &Value,
) -> Result<bool, ApiError> {
    match client.api.get(def, meta::namespace(owner), meta::name(owner)).await {
        Ok(fresh) => Ok(meta::uid(&fresh) == meta::uid(owner) && !meta::is_deleting(&fresh)),
        Err(e) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}
