//! Small namespaced and cluster objects whose rows are mostly counts: Namespace, ConfigMap,
//! Secret, ServiceAccount, ResourceQuota, Lease and RuntimeClass.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, count, name, text};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    CONFIG_MAP_DATA, LEASE_SPEC_HOLDER_IDENTITY, SECRET_DATA, SECRET_TYPE, SERVICE_ACCOUNT_SECRETS,
};
use crate::field::Field;
use crate::quantity::quantity_or_zero;

pub(crate) const NAMESPACE: KindPrinter = KindPrinter {
    group: "",
    kind: "Namespace",
    columns: &[NAME, Column::string("Status", "The status of the namespace"), AGE],
    cells: namespace_cells,
};

fn namespace_cells(ns: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    // The API server sets `Active` on create.
    let phase = ns.path(&["status", "phase"]).str().unwrap_or("Active");
    vec![name(ns), text(phase), age(ns, now)]
}

pub(crate) const CONFIG_MAP: KindPrinter = KindPrinter {
    group: "",
    kind: "ConfigMap",
    columns: &[NAME, Column::integer("Data", CONFIG_MAP_DATA), AGE],
    cells: config_map_cells,
};

fn config_map_cells(cm: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let entries = cm.get("data").map_len() + cm.get("binaryData").map_len();
    vec![name(cm), count(entries), age(cm, now)]
}

pub(crate) const SECRET: KindPrinter = KindPrinter {
    group: "",
    kind: "Secret",
    columns: &[NAME, Column::string("Type", SECRET_TYPE), Column::integer("Data", SECRET_DATA), AGE],
    cells: secret_cells,
};

fn secret_cells(secret: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    // Upstream folds write-only `stringData` into `data` before storing, so count both's keys.
    let keys: BTreeSet<&str> =
        secret.get("data").entries().chain(secret.get("stringData").entries()).map(|(key, _)| key).collect();
    vec![
        name(secret),
        text(secret.get("type").str().unwrap_or("Opaque")),
        count(keys.len()),
        age(secret, now),
    ]
}

pub(crate) const SERVICE_ACCOUNT: KindPrinter = KindPrinter {
    group: "",
    kind: "ServiceAccount",
    columns: &[NAME, Column::integer("Secrets", SERVICE_ACCOUNT_SECRETS), AGE],
    cells: service_account_cells,
};

fn service_account_cells(sa: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(sa), count(sa.get("secrets").array_len()), age(sa, now)]
}

pub(crate) const RESOURCE_QUOTA: KindPrinter = KindPrinter {
    group: "",
    kind: "ResourceQuota",
    columns: &[
        NAME,
        Column::string(
            "Request",
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
        Column::string(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE,
    ],
    cells: resource_quota_cells,
};

/// `resource: used/hard` for every hard limit, sorted by resource name; `limits.*` resources go
/// to LIMIT, everything else to REQUEST.
fn resource_quota_cells(quota: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let status = quota.get("status");
    let hard: BTreeSet<&str> = status.get("hard").entries().map(|(k, _)| k).collect();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for resource in hard {
        let used = quantity_or_zero(status.path(&["used", resource]));
        let limit = quantity_or_zero(status.path(&["hard", resource]));
        let entry = format!("{resource}: {used}/{limit}");
        let is_limit = resource.split_once('.').is_some_and(|(prefix, _)| prefix == "limits");
        if is_limit {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![name(quota), text(requests.join(", ")), text(limits.join(", ")), age(quota, now)]
}

pub(crate) const LEASE: KindPrinter = KindPrinter {
    group: "coordination.k8s.io",
    kind: "Lease",
    columns: &[NAME, Column::string("Holder", LEASE_SPEC_HOLDER_IDENTITY), AGE],
    cells: lease_cells,
};

fn lease_cells(lease: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let holder = lease.path(&["spec", "holderIdentity"]).string();
    vec![name(lease), text(holder), age(lease, now)]
}

pub(crate) const RUNTIME_CLASS: KindPrinter = KindPrinter {
    group: "node.k8s.io",
    kind: "RuntimeClass",
    // Upstream looks the description up under a key ObjectMeta does not have, so it is empty.
    columns: &[NAME, Column::string("Handler", ""), AGE],
    cells: runtime_class_cells,
};

fn runtime_class_cells(class: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(class), text(class.get("handler").string()), age(class, now)]
}
