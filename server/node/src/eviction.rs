//! Local-storage eviction, as the kubelet's eviction manager does it for emptyDir `sizeLimit`:
//! the usage of each limited emptyDir is measured every [`INTERVAL`], and a pod whose emptyDir
//! holds more than its limit is evicted at once (phase `Failed`, reason `Evicted`, upstream's
//! message), so that its controller replaces it.

use crate::translate::parse_bytes;
use k8s_openapi::api::core::v1 as core;
use std::path::PathBuf;
use std::time::Duration;
use wasmkube_runtime::PodHandle;

/// How often limited emptyDirs are measured (the kubelet's housekeeping runs every 10 s).
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);

/// An emptyDir with a `sizeLimit`.
pub(crate) struct Limit {
    volume: String,
    dir: PathBuf,
    bytes: u64,
    /// The limit as the pod spells it, for the message.
    quantity: String,
}

/// The pod's emptyDirs that have a `sizeLimit`.
pub(crate) fn limits(spec: &core::PodSpec, handle: &PodHandle) -> Vec<Limit> {
    let volumes = spec.volumes.iter().flatten();
    volumes
        .filter_map(|v| {
            let limit = v.empty_dir.as_ref()?.size_limit.as_ref()?;
            Some(Limit {
                volume: v.name.clone(),
                dir: handle.volume_dir(&v.name),
                bytes: parse_bytes(limit).ok()?,
                quantity: limit.0.clone(),
            })
        })
        .collect()
}

/// Resolves with the eviction message once an emptyDir holds more than its limit; never
/// resolves for a pod without limits.
pub(crate) async fn watch(limits: Vec<Limit>) -> String {
    if limits.is_empty() {
        return std::future::pending().await;
    }
    let limits = std::sync::Arc::new(limits);
    loop {
        tokio::time::sleep(INTERVAL).await;
        let measured = limits.clone();
        let over = tokio::task::spawn_blocking(move || {
            measured.iter().find(|l| wasmkube_runtime::volumes::disk_usage(&l.dir) > l.bytes).map(message)
        })
        .await;
        if let Ok(Some(message)) = over {
            return message;
        }
    }
}

fn message(limit: &Limit) -> String {
    format!("Usage of EmptyDir volume {:?} exceeds the limit {:?}.", limit.volume, limit.quantity)
}
