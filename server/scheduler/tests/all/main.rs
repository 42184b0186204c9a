//! Scheduler integration tests: a real store and Api, Nodes and Pods created through the Api,
//! the real scheduler binding pods. One binary, a module per area.

mod accounting;
mod inter_pod;
mod node_affinity;
mod ports;
mod resources;
mod retry;
mod spread;
mod support;
mod taints;
