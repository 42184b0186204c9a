//! The local-path provisioner: a Pending claim of class `local-path` (or of no class) gets a
//! PersistentVolume `pvc-<claim uid>` backed by a node-local directory
//! `<volumes_dir>/pvc-<claim uid>`, and both are marked Bound. When a claim is gone, the
//! volume it had (reclaim policy Delete) is deleted with its directory.

use crate::cache::{Key, Objects, key_of};
use crate::client::Removal;
use crate::clock::Clock;
use crate::context::Ctx;
use crate::queue::WorkQueue;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

pub const STORAGE_CLASS: &str = "local-path";
pub const PROVISIONER: &str = "wasmkube.io/local-path";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";

pub struct LocalPathProvisioner {
    ctx: Ctx,
    claims_def: &'static ResourceDef,
    volumes_def: &'static ResourceDef,
    claims: Objects,
    volumes: Objects,
    /// Claims are keyed by (namespace, name), volumes by ("", name).
    queue: WorkQueue,
    dir: PathBuf,
}

fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

impl LocalPathProvisioner {
    pub fn new(api: Api, volumes_dir: PathBuf, clock: Arc<dyn Clock>) -> Self {
        LocalPathProvisioner {
            ctx: Ctx::new(api, "persistentvolume-controller", clock),
            claims_def: registry::by_storage("persistentvolumeclaims").expect("claims are served"),
            volumes_def: registry::by_storage("persistentvolumes").expect("volumes are served"),
            claims: Objects::default(),
            volumes: Objects::default(),
            queue: WorkQueue::default(),
            dir: volumes_dir,
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "persistentvolumeclaims" if self.claims.observe(obj, deleted).is_some() => {
                self.queue.add(key_of(obj));
                // The claim's volume may have lost its claim.
                let uid = meta::uid(obj);
                let volumes: Vec<Key> = self
                    .volumes
                    .iter()
                    .filter(|v| s(v, "/spec/claimRef/uid") == uid)
                    .map(|v| key_of(v))
                    .collect();
                volumes.into_iter().for_each(|k| self.queue.add(k));
            }
            "persistentvolumes" if self.volumes.observe(obj, deleted).is_some() => {
                self.queue.add(key_of(obj))
            }
            _ => {}
        }
    }

    #[tracing::instrument(skip(self), fields(controller = self.ctx.name))]
    async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        if key.0.is_empty() { self.sync_volume(key).await } else { self.sync_claim(key).await }
    }

    async fn sync_claim(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(claim) = self.claims.get_key(key).map(|c| (**c).clone()) else { return Ok(()) };
        let class = s(&claim, "/spec/storageClassName");
        let pending = matches!(s(&claim, "/status/phase"), "" | "Pending");
        if meta::is_deleting(&claim) || !(class.is_empty() || class == STORAGE_CLASS) || !pending {
            return Ok(());
        }
        let name = format!("pvc-{}", meta::uid(&claim));
        let bound_elsewhere =
            !s(&claim, "/spec/volumeName").is_empty() && s(&claim, "/spec/volumeName") != name;
        let size = claim.pointer("/spec/resources/requests/storage").cloned();
        let (Some(size), false) = (size, bound_elsewhere) else { return Ok(()) };
        let path = self.dir.join(&name);
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|e| ApiError::internal(format!("creating {}: {e}", path.display())))?;
        let modes = claim.pointer("/spec/accessModes").cloned().unwrap_or_else(|| json!(["ReadWriteOnce"]));
        let volume = match self.volumes.get_key(&(String::new(), name.clone())).map(|v| (**v).clone()) {
            Some(v) => v,
            None => {
                let pv = json!({
                    "apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
                    "spec": {
                        "capacity": {"storage": size}, "accessModes": modes,
                        "hostPath": {"path": path.to_string_lossy(), "type": "DirectoryOrCreate"},
                        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": key.0,
                                     "name": key.1, "uid": meta::uid(&claim)},
                        "persistentVolumeReclaimPolicy": "Delete", "storageClassName": STORAGE_CLASS,
                        "volumeMode": claim.pointer("/spec/volumeMode").cloned().unwrap_or(json!("Filesystem")),
                    },
                });
                let created = match self.ctx.client.create(self.volumes_def, "", pv).await {
                    Ok(v) => v,
                    Err(e) if e.reason == "AlreadyExists" => {
                        self.ctx.client.api.get(self.volumes_def, "", &name).await?
                    }
                    Err(e) => return Err(e),
                };
                self.volumes.wrote(created.clone());
                self.ctx.normal(
                    &claim,
                    "ProvisioningSucceeded",
                    format!("Successfully provisioned volume {name}"),
                );
                created
            }
        };
        if s(&volume, "/status/phase") != "Bound" {
            let written =
                self.ctx.client.put_status(self.volumes_def, &volume, json!({"phase": "Bound"})).await?;
            self.volumes.wrote(written);
        }
        let patch = json!({
            "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                         "pv.kubernetes.io/bound-by-controller": "yes",
                                         "volume.kubernetes.io/storage-provisioner": PROVISIONER}},
            "spec": {"volumeName": name},
        });
        let claim = self.ctx.client.merge(self.claims_def, &claim, &patch).await?;
        let status = json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}});
        let written = self.ctx.client.put_status(self.claims_def, &claim, status).await?;
        self.claims.wrote(written);
        Ok(())
    }

    /// A volume we provisioned whose claim is gone goes, with its directory.
    async fn sync_volume(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(volume) = self.volumes.get_key(key).map(|v| (**v).clone()) else { return Ok(()) };
        let ours = volume.pointer("/metadata/annotations").and_then(|a| a.get(PROVISIONED_BY))
            == Some(&json!(PROVISIONER));
        if !ours
            || meta::is_deleting(&volume)
            || s(&volume, "/spec/persistentVolumeReclaimPolicy") != "Delete"
        {
            return Ok(());
        }
        let claim_key = (
            s(&volume, "/spec/claimRef/namespace").to_string(),
            s(&volume, "/spec/claimRef/name").to_string(),
        );
        let claimed =
            self.claims.get_key(&claim_key).is_some_and(|c| meta::uid(c) == s(&volume, "/spec/claimRef/uid"));
        if claimed {
            return Ok(());
        }
        tracing::info!(volume = meta::name(&volume), "deleting a released local-path volume");
        self.remove_directory(Path::new(s(&volume, "/spec/hostPath/path")), meta::name(&volume)).await?;
        match self.ctx.client.delete(self.volumes_def, &volume, None).await? {
            Removal::Gone(o) => drop(self.volumes.removed(o.as_ref().unwrap_or(&volume))),
            Removal::Pending(o) => drop(self.volumes.wrote(o)),
        }
        Ok(())
    }

    /// Only ever a directory we made: `<volumes_dir>/<volume name>`.
    async fn remove_directory(&self, path: &Path, volume: &str) -> Result<(), ApiError> {
        if path != self.dir.join(volume) {
            tracing::warn!(path = %path.display(), volume, "not removing a directory outside the volumes dir");
            return Ok(());
        }
        match tokio::fs::remove_dir_all(path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ApiError::internal(format!("removing {}: {e}", path.display()))),
        }
    }
}

impl Reconciler for LocalPathProvisioner {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.claims.clear();
        self.volumes.clear();
        self.queue.clear();
        for (def, obj) in &objects {
            self.note(def.storage, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def.storage, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, _api: &Api) -> bool {
        crate::queue::drain(self).await
    }
}

impl crate::queue::QueueSync for LocalPathProvisioner {
    fn queue(&mut self) -> &mut crate::queue::WorkQueue {
        &mut self.queue
    }

    fn context(&self) -> &crate::context::Ctx {
        &self.ctx
    }

    fn sync(
        &mut self,
        key: &crate::cache::Key,
    ) -> impl Future<Output = Result<(), wasmkube_api::ApiError>> + Send {
        Self::sync(self, key)
    }
}
