//! Local-storage eviction, as the kubelet's eviction manager does it: every [`INTERVAL`] the
//! disk usage behind each local-storage limit is measured (as `du` counts it), and a pod over
//! one is evicted at once (phase `Failed`, reason `Evicted`, upstream's message), so that its
//! controller replaces it. The limits, checked in upstream's order:
//! - an emptyDir's `sizeLimit` (its directory);
//! - the pod's total of its containers' `limits.ephemeral-storage` (its emptyDirs — all of
//!   them: `medium: Memory` is a directory on disk here too — plus every container's logs and
//!   writable layer);
//! - one container's `limits.ephemeral-storage` (its logs and writable layer).
//!
//! A limit of zero is no limit, as upstream's. Static pods and pods of system-critical
//! priority are never evicted (the worker checks), nor are pods that already ended.

use crate::translate::parse_bytes;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::path::PathBuf;
use std::time::Duration;
use wasmkube_runtime::PodHandle;

/// How often the limits are checked (the kubelet's housekeeping runs every 10 s).
pub(crate) const INTERVAL: Duration = Duration::from_secs(2);

/// One limit and the directories whose usage it bounds.
pub(crate) struct Limit {
    dirs: Vec<PathBuf>,
    bytes: u64,
    /// The eviction message when the usage exceeds `bytes`.
    message: String,
}

/// The pod's local-storage limits, in the order the kubelet checks them.
pub(crate) fn limits(spec: &core::PodSpec, handle: &PodHandle) -> Vec<Limit> {
    let mut limits = Vec::new();
    let empty_dirs: Vec<(&core::Volume, &core::EmptyDirVolumeSource)> =
        spec.volumes.iter().flatten().filter_map(|v| Some((v, v.empty_dir.as_ref()?))).collect();
    for (volume, empty_dir) in &empty_dirs {
        let Some((bytes, text)) = quantity(empty_dir.size_limit.as_ref()) else { continue };
        limits.push(Limit {
            dirs: vec![handle.volume_dir(&volume.name)],
            bytes,
            message: format!("Usage of EmptyDir volume {:?} exceeds the limit {text:?}.", volume.name),
        });
    }
    let ephemeral =
        |c: &core::Container| quantity(c.resources.as_ref()?.limits.as_ref()?.get("ephemeral-storage"));
    let containers: Vec<(&core::Container, Option<(u64, String)>)> =
        spec.containers.iter().map(|c| (c, ephemeral(c))).collect();
    let pod_total =
        containers.iter().filter_map(|(_, l)| l.as_ref().map(|(b, _)| *b)).fold(0u64, u64::saturating_add);
    if containers.iter().any(|(_, l)| l.is_some()) {
        let mut dirs: Vec<PathBuf> = empty_dirs.iter().map(|(v, _)| handle.volume_dir(&v.name)).collect();
        dirs.extend(spec.containers.iter().flat_map(|c| handle.container_disk_dirs(&c.name)));
        limits.push(Limit {
            dirs,
            bytes: pod_total,
            message: format!(
                "Pod ephemeral local storage usage exceeds the total limit of containers {}.",
                canonical(pod_total)
            ),
        });
    }
    for (c, limit) in containers {
        let Some((bytes, text)) = limit else { continue };
        limits.push(Limit {
            dirs: handle.container_disk_dirs(&c.name).into(),
            bytes,
            message: format!("Container {} exceeded its local ephemeral storage limit {text:?}.", c.name),
        });
    }
    limits
}

/// A positive limit in bytes and as spelled; zero means none.
fn quantity(q: Option<&Quantity>) -> Option<(u64, String)> {
    let q = q?;
    match parse_bytes(q) {
        Ok(0) => None,
        Ok(bytes) => Some((bytes, q.0.clone())),
        Err(e) => {
            tracing::warn!(error = %e, "a local-storage limit is not enforced");
            None
        }
    }
}

/// A byte count as a Kubernetes quantity prints it: the largest binary suffix that divides it.
fn canonical(bytes: u64) -> String {
    for (shift, suffix) in [(50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if bytes != 0 && bytes.is_multiple_of(1u64 << shift) {
            return format!("{}{suffix}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Resolves with the eviction message once a limit is exceeded; never resolves for a pod
/// without local-storage limits.
pub(crate) async fn watch(limits: Vec<Limit>) -> String {
    if limits.is_empty() {
        return std::future::pending().await;
    }
    let limits = std::sync::Arc::new(limits);
    loop {
        tokio::time::sleep(INTERVAL).await;
        let measured = limits.clone();
        let over = tokio::task::spawn_blocking(move || {
            let used =
                |l: &Limit| l.dirs.iter().map(|d| wasmkube_runtime::volumes::disk_usage(d)).sum::<u64>();
            measured.iter().find(|l| used(l) > l.bytes).map(|l| l.message.clone())
        })
        .await;
        if let Ok(Some(message)) = over {
            return message;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn totals_print_as_quantities_do() {
        assert_eq!(super::canonical(3 << 30), "3Gi");
        assert_eq!(super::canonical((1 << 30) + (512 << 20)), "1536Mi");
        assert_eq!(super::canonical(1000), "1000");
    }
}
