//! OCI containers beside wasm ones: images from `docker save` tarballs, OCI layouts (and, in
//! the node agent, registries) kept in the same image store, and containers run by a real OCI
//! runtime binary (`runc` or `crun`) in the pod.
//!
//! - [`image`]: manifests, indexes and image configs, as the store reads them.
//! - `archive`: importing tarballs and layouts into the store.
//! - `rootfs`: an image's layers applied once, shared by its containers as an overlay's lower layer.
//! - `netns`: the network namespace of a pod's OCI containers, joined to the pod network.

pub(crate) mod archive;
pub mod image;
pub(crate) mod netns;
pub(crate) mod rootfs;

/// How the network namespaces of a data dir's OCI pods are named (`wk-<hash>-`): what a
/// crash leaves is found by it (and tools and tests can tell a node's namespaces apart).
pub fn namespace_prefix(data_dir: &std::path::Path) -> String {
    netns::Pool::prefix(data_dir)
}
