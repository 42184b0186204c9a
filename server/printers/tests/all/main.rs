//! One integration-test binary for the printers: a realistic object per kind with its exact
//! expected cells, the pod STATUS cases, `human_duration` edge cases, and a robustness sweep.

mod batch;
mod config;
mod duration;
mod event;
mod fallback;
mod hpa;
mod networking;
mod node;
mod pod;
mod pod_status;
mod robustness;
mod service;
mod storage;
mod support;
mod workloads;
