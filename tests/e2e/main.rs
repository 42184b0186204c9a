//! End-to-end tests: the real `wasmkube` binary driven by the real `/usr/bin/kubectl`, raw
//! HTTP and the official Python client. One test binary (as wasmtime's `tests/all`), a module
//! per area.

mod admission;
mod api_shape;
mod bad_input;
mod guestbook;
mod ingress;
mod kubectl_apply;
mod kubectl_basics;
mod kubectl_delete;
mod node_agent;
mod oci;
mod persistence;
mod play;
mod python_client;
mod services;
mod support;
mod wasmkube_cli;
