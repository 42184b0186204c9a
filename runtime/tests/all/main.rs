//! Integration tests of the runtime with the real guests from `guest-examples/out/` (build them
//! with `bash guest-examples/build.sh`). One test binary, a module per area, as wasmtime does.

mod cache;
mod commands;
mod escape;
mod http;
mod images;
mod limits;
mod logs;
mod network;
mod oci;
mod restarts;
mod support;
