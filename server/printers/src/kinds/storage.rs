//! PersistentVolumes and PersistentVolumeClaims.
//!
//! Several fields read here are always set by API defaulting upstream (reclaim policy `Retain`,
//! volume mode `Filesystem`, phase `Pending`); we apply those defaults so a stored object that
//! lacks them prints as a real cluster would show it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, name, text};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    PV_SPEC_ACCESS_MODES, PV_SPEC_CAPACITY, PV_SPEC_CLAIM_REF, PV_SPEC_RECLAIM_POLICY, PV_SPEC_VOLUME_MODE,
    PV_STATUS_PHASE, PV_STATUS_REASON, PVC_SPEC_VOLUME_MODE, PVC_SPEC_VOLUME_NAME, PVC_STATUS_ACCESS_MODES,
    PVC_STATUS_CAPACITY, PVC_STATUS_PHASE,
};
use crate::field::Field;
use crate::quantity::quantity_or_zero;

/// Annotation that overrides `spec.storageClassName` on both kinds.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

pub(crate) const PERSISTENT_VOLUME: KindPrinter = KindPrinter {
    group: "",
    kind: "PersistentVolume",
    columns: &[
        NAME,
        Column::string("Capacity", PV_SPEC_CAPACITY),
        Column::string("Access Modes", PV_SPEC_ACCESS_MODES),
        Column::string("Reclaim Policy", PV_SPEC_RECLAIM_POLICY),
        Column::string("Status", PV_STATUS_PHASE),
        Column::string("Claim", PV_SPEC_CLAIM_REF),
        Column::string("StorageClass", "StorageClass of the pv"),
        Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        Column::string("Reason", PV_STATUS_REASON),
        AGE,
        Column::string("VolumeMode", PV_SPEC_VOLUME_MODE).wide(),
    ],
    cells: persistent_volume_cells,
};

fn persistent_volume_cells(pv: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = pv.get("spec");
    let claim = spec.get("claimRef");
    let claim = if claim.is_object() {
        format!("{}/{}", claim.get("namespace").string(), claim.get("name").string())
    } else {
        String::new()
    };
    let policy = spec.get("persistentVolumeReclaimPolicy").str();
    vec![
        name(pv),
        text(quantity_or_zero(spec.path(&["capacity", "storage"]))),
        text(access_modes(spec.get("accessModes"))),
        text(policy.unwrap_or("Retain")),
        text(phase(pv)),
        text(claim),
        text(storage_class(pv)),
        text(attributes_class(spec)),
        text(pv.path(&["status", "reason"]).string()),
        age(pv, now),
        text(volume_mode(spec)),
    ]
}

pub(crate) const PERSISTENT_VOLUME_CLAIM: KindPrinter = KindPrinter {
    group: "",
    kind: "PersistentVolumeClaim",
    columns: &[
        NAME,
        Column::string("Status", PVC_STATUS_PHASE),
        Column::string("Volume", PVC_SPEC_VOLUME_NAME),
        Column::string("Capacity", PVC_STATUS_CAPACITY),
        Column::string("Access Modes", PVC_STATUS_ACCESS_MODES),
        Column::string("StorageClass", "StorageClass of the pvc"),
        Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        Column::string("VolumeMode", PVC_SPEC_VOLUME_MODE).wide(),
    ],
    cells: persistent_volume_claim_cells,
};

fn persistent_volume_claim_cells(pvc: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = pvc.get("spec");
    let status = pvc.get("status");
    let volume = spec.get("volumeName").string();
    // Capacity and access modes are only meaningful once the claim is bound to a volume.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity_or_zero(status.path(&["capacity", "storage"])), access_modes(status.get("accessModes")))
    };
    vec![
        name(pvc),
        text(phase(pvc)),
        text(volume),
        text(capacity),
        text(modes),
        text(storage_class(pvc)),
        text(attributes_class(spec)),
        age(pvc, now),
        text(volume_mode(spec)),
    ]
}

/// `RWO,ROX,RWX,RWOP` in that fixed order, each at most once.
fn access_modes(modes: Field<'_>) -> String {
    let has = |mode: &str| modes.items().any(|m| m.str() == Some(mode));
    let known = [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ];
    let present: Vec<&str> = known.iter().filter(|(mode, _)| has(mode)).map(|(_, short)| *short).collect();
    present.join(",")
}

/// `Terminating` while being deleted, otherwise the phase (defaulted to `Pending`).
fn phase(obj: Field<'_>) -> String {
    if obj.path(&["metadata", "deletionTimestamp"]).is_set() {
        return "Terminating".to_owned();
    }
    obj.path(&["status", "phase"]).str().unwrap_or("Pending").to_owned()
}

/// The beta annotation if present, else `spec.storageClassName`.
fn storage_class(obj: Field<'_>) -> String {
    let annotation = obj.path(&["metadata", "annotations", BETA_STORAGE_CLASS]);
    annotation.str().or_else(|| obj.path(&["spec", "storageClassName"]).str()).unwrap_or_default().to_owned()
}

fn attributes_class(spec: Field<'_>) -> String {
    let class = spec.get("volumeAttributesClassName").str();
    class.unwrap_or("<unset>").to_owned()
}

fn volume_mode(spec: Field<'_>) -> String {
    spec.get("volumeMode").str().unwrap_or("Filesystem").to_owned()
}
