//! One printer per served kind, and the lookup from `(group, kind)` to its printer.
//!
//! Each printer pairs a static column list with a function producing exactly one cell per
//! column; the column lists, cell order and cell text follow upstream's
//! `pkg/printers/internalversion/printers.go`. Kinds without an upstream printer (LimitRange, and
//! anything we do not know) use the API server's default table, see [`fallback`].

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::column::Column;
use crate::field::Field;

mod batch;
mod common;
mod config;
mod event;
mod fallback;
mod hpa;
mod networking;
mod node;
mod pod;
mod pod_status;
mod service;
mod storage;
mod workloads;

/// Builds the cells of one row from an object and the current time.
pub(crate) type CellsFn = fn(Field<'_>, DateTime<Utc>) -> Vec<Value>;

/// Columns and cell builder for one API kind.
pub(crate) struct KindPrinter {
    /// API group; `""` for the core group.
    pub(crate) group: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) columns: &'static [Column],
    pub(crate) cells: CellsFn,
}

/// Every kind with its own printer.
const PRINTERS: &[KindPrinter] = &[
    pod::POD,
    workloads::POD_TEMPLATE,
    workloads::REPLICATION_CONTROLLER,
    service::SERVICE,
    service::ENDPOINTS,
    node::NODE,
    config::NAMESPACE,
    config::CONFIG_MAP,
    config::SECRET,
    config::SERVICE_ACCOUNT,
    event::CORE_EVENT,
    storage::PERSISTENT_VOLUME,
    storage::PERSISTENT_VOLUME_CLAIM,
    config::RESOURCE_QUOTA,
    workloads::DEPLOYMENT,
    workloads::REPLICA_SET,
    workloads::STATEFUL_SET,
    workloads::DAEMON_SET,
    workloads::CONTROLLER_REVISION,
    batch::JOB,
    batch::CRON_JOB,
    networking::INGRESS,
    networking::INGRESS_CLASS,
    networking::NETWORK_POLICY,
    service::ENDPOINT_SLICE,
    hpa::HORIZONTAL_POD_AUTOSCALER,
    config::LEASE,
    config::RUNTIME_CLASS,
    event::EVENTS_API_EVENT,
];

/// The printer for `(group, kind)`, or the API server's default table for anything else.
pub(crate) fn lookup(group: &str, kind: &str) -> &'static KindPrinter {
    PRINTERS.iter().find(|p| p.group == group && p.kind == kind).unwrap_or(&fallback::DEFAULT_TABLE)
}

/// Every printer, for tests that must cover all kinds.
#[cfg(test)]
pub(crate) fn all() -> impl Iterator<Item = &'static KindPrinter> {
    PRINTERS.iter().chain(std::iter::once(&fallback::DEFAULT_TABLE))
}
