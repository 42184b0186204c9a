//! Integration tests for `wasmkube_protobuf::decode`: one test binary, one module per concern.

mod builder;
mod hand_built;
mod kubectl_fixtures;
mod malformed;
