//! Integration tests of the workload controllers against a real store and API.

mod cronjob;
mod daemonset;
mod deployment;
mod endpoints;
mod harness;
mod job;
mod kubectl;
mod kubelet;
mod quiet;
mod replicaset;
mod statefulset;
