//! One integration-test binary (wasmtime style): the observed kubectl vectors, end to end.

mod apply_flow;
mod strategic_vectors;
