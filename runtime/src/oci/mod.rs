//! OCI containers beside wasm ones: images from `docker save` tarballs, OCI layouts (and, in
//! the node agent, registries) kept in the same image store, and containers run by a real OCI
//! runtime binary (`runc`) in the pod.
//!
//! - [`image`]: manifests, indexes and image configs, as the store reads them.
//! - `archive`: importing tarballs and layouts into the store.
//! - `rootfs`: an image's layers applied once, shared by its containers as an overlay's lower layer.

pub(crate) mod archive;
pub mod image;
pub(crate) mod netns;
pub(crate) mod rootfs;
