//! Pod controllers and their helpers: Deployment, ReplicaSet, StatefulSet, DaemonSet,
//! ReplicationController, PodTemplate and ControllerRevision.
//!
//! Where upstream reads `spec.replicas` it relies on API defaulting having set it to 1; we apply
//! the same default so an object stored without it prints like one read back from a real server.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, containers_and_images, int, name, text};
use crate::column::{AGE, CONTAINERS_WIDE, Column, IMAGES_WIDE, NAME};
use crate::descriptions::{
    CONTROLLER_REVISION_REVISION, DEPLOYMENT_SPEC_SELECTOR, DEPLOYMENT_STATUS_AVAILABLE,
    DEPLOYMENT_STATUS_UPDATED, DS_SPEC_SELECTOR, DS_STATUS_AVAILABLE, DS_STATUS_CURRENT, DS_STATUS_DESIRED,
    DS_STATUS_READY, DS_STATUS_UPDATED, POD_SPEC_NODE_SELECTOR, RC_SPEC_REPLICAS, RC_SPEC_SELECTOR,
    RC_STATUS_READY_REPLICAS, RC_STATUS_REPLICAS, RS_SPEC_REPLICAS, RS_SPEC_SELECTOR,
    RS_STATUS_READY_REPLICAS, RS_STATUS_REPLICAS,
};
use crate::field::Field;
use crate::labels::{format_label_selector, format_labels, selector_string};

const READY_PODS: Column = Column::string("Ready", "Number of the pod with ready state");

pub(crate) const DEPLOYMENT: KindPrinter = KindPrinter {
    group: "apps",
    kind: "Deployment",
    columns: &[
        NAME,
        READY_PODS,
        Column::string("Up-to-date", DEPLOYMENT_STATUS_UPDATED),
        Column::string("Available", DEPLOYMENT_STATUS_AVAILABLE),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        Column::string("Selector", DEPLOYMENT_SPEC_SELECTOR).wide(),
    ],
    cells: deployment_cells,
};

fn deployment_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let status = obj.get("status");
    let [containers, images] = containers_and_images(obj.path(&["spec", "template", "spec"]));
    // Unlike the other controllers, upstream prints a Deployment's selector without `<none>`.
    let selector =
        selector_string(obj.path(&["spec", "selector"])).unwrap_or_else(|_| "<invalid>".to_owned());
    vec![
        name(obj),
        text(ready_of_desired(obj)),
        int(status.get("updatedReplicas").int_or_zero()),
        int(status.get("availableReplicas").int_or_zero()),
        age(obj, now),
        containers,
        images,
        text(selector),
    ]
}

pub(crate) const REPLICA_SET: KindPrinter = KindPrinter {
    group: "apps",
    kind: "ReplicaSet",
    columns: &replica_columns(
        RS_SPEC_REPLICAS,
        RS_STATUS_REPLICAS,
        RS_STATUS_READY_REPLICAS,
        RS_SPEC_SELECTOR,
    ),
    cells: replica_set_cells,
};

fn replica_set_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    replica_cells(obj, now, format_label_selector(obj.path(&["spec", "selector"])))
}

pub(crate) const STATEFUL_SET: KindPrinter = KindPrinter {
    group: "apps",
    kind: "StatefulSet",
    columns: &[NAME, READY_PODS, AGE, CONTAINERS_WIDE, IMAGES_WIDE],
    cells: stateful_set_cells,
};

fn stateful_set_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let [containers, images] = containers_and_images(obj.path(&["spec", "template", "spec"]));
    vec![name(obj), text(ready_of_desired(obj)), age(obj, now), containers, images]
}

pub(crate) const DAEMON_SET: KindPrinter = KindPrinter {
    group: "apps",
    kind: "DaemonSet",
    columns: &[
        NAME,
        Column::integer("Desired", DS_STATUS_DESIRED),
        Column::integer("Current", DS_STATUS_CURRENT),
        Column::integer("Ready", DS_STATUS_READY),
        Column::integer("Up-to-date", DS_STATUS_UPDATED),
        Column::integer("Available", DS_STATUS_AVAILABLE),
        Column::string("Node Selector", POD_SPEC_NODE_SELECTOR),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        Column::string("Selector", DS_SPEC_SELECTOR).wide(),
    ],
    cells: daemon_set_cells,
};

fn daemon_set_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let status = obj.get("status");
    let pod_spec = obj.path(&["spec", "template", "spec"]);
    let [containers, images] = containers_and_images(pod_spec);
    let counter = |key: &str| int(status.get(key).int_or_zero());
    vec![
        name(obj),
        counter("desiredNumberScheduled"),
        counter("currentNumberScheduled"),
        counter("numberReady"),
        counter("updatedNumberScheduled"),
        counter("numberAvailable"),
        text(format_labels(pod_spec.get("nodeSelector"))),
        age(obj, now),
        containers,
        images,
        text(format_label_selector(obj.path(&["spec", "selector"]))),
    ]
}

pub(crate) const REPLICATION_CONTROLLER: KindPrinter = KindPrinter {
    group: "",
    kind: "ReplicationController",
    columns: &replica_columns(
        RC_SPEC_REPLICAS,
        RC_STATUS_REPLICAS,
        RC_STATUS_READY_REPLICAS,
        RC_SPEC_SELECTOR,
    ),
    cells: replication_controller_cells,
};

fn replication_controller_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    // A ReplicationController selector is a plain label map, not a LabelSelector.
    replica_cells(obj, now, format_labels(obj.path(&["spec", "selector"])))
}

pub(crate) const POD_TEMPLATE: KindPrinter = KindPrinter {
    group: "",
    kind: "PodTemplate",
    columns: &[
        NAME,
        Column::string("Containers", "Names of each container in the template."),
        Column::string("Images", "Images referenced by each container in the template."),
        Column::string("Pod Labels", "The labels for the pod template."),
    ],
    cells: pod_template_cells,
};

fn pod_template_cells(obj: Field<'_>, _now: DateTime<Utc>) -> Vec<Value> {
    let template = obj.get("template");
    let [containers, images] = containers_and_images(template.get("spec"));
    vec![name(obj), containers, images, text(format_labels(template.path(&["metadata", "labels"])))]
}

pub(crate) const CONTROLLER_REVISION: KindPrinter = KindPrinter {
    group: "apps",
    kind: "ControllerRevision",
    columns: &[
        NAME,
        Column::string("Controller", "Controller of the object"),
        Column::string("Revision", CONTROLLER_REVISION_REVISION),
        AGE,
    ],
    cells: controller_revision_cells,
};

fn controller_revision_cells(obj: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), text(controller_of(obj)), int(obj.get("revision").int_or_zero()), age(obj, now)]
}

/// The owner marked `controller: true`, as `kind.group/name` lower-cased, or `<none>`.
fn controller_of(obj: Field<'_>) -> String {
    let Some(owner) =
        obj.path(&["metadata", "ownerReferences"]).items().find(|r| r.get("controller").bool() == Some(true))
    else {
        return "<none>".to_owned();
    };
    let api_version = owner.get("apiVersion").str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let kind = owner.get("kind").str().unwrap_or_default();
    let name = owner.get("name").string();
    match (group, kind) {
        ("", "") => name,
        ("", kind) => format!("{}/{name}", kind.to_lowercase()),
        (group, kind) => format!("{}.{}/{name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

/// The columns of ReplicaSets and ReplicationControllers, which differ only in their
/// descriptions (the arguments).
const fn replica_columns(
    desired: &'static str,
    current: &'static str,
    ready: &'static str,
    selector: &'static str,
) -> [Column; 8] {
    [
        NAME,
        Column::integer("Desired", desired),
        Column::integer("Current", current),
        Column::integer("Ready", ready),
        AGE,
        CONTAINERS_WIDE,
        IMAGES_WIDE,
        Column::string("Selector", selector).wide(),
    ]
}

/// The cells of [`replica_columns`]; the two kinds spell their selectors differently, so the
/// caller formats it.
fn replica_cells(obj: Field<'_>, now: DateTime<Utc>, selector: String) -> Vec<Value> {
    let status = obj.get("status");
    let [containers, images] = containers_and_images(obj.path(&["spec", "template", "spec"]));
    vec![
        name(obj),
        int(desired_replicas(obj)),
        int(status.get("replicas").int_or_zero()),
        int(status.get("readyReplicas").int_or_zero()),
        age(obj, now),
        containers,
        images,
        text(selector),
    ]
}

/// `spec.replicas`, defaulted to 1 as the API server does for these kinds.
fn desired_replicas(obj: Field<'_>) -> i64 {
    obj.path(&["spec", "replicas"]).int().unwrap_or(1)
}

/// `ready/desired`, the READY cell of Deployments and StatefulSets.
fn ready_of_desired(obj: Field<'_>) -> String {
    let ready = obj.path(&["status", "readyReplicas"]).int_or_zero();
    format!("{ready}/{}", desired_replicas(obj))
}
