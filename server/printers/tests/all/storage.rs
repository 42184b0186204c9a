//! PersistentVolume and PersistentVolumeClaim rows.

use serde_json::json;

use crate::support::{ago, cells, column_names, meta, row};

#[test]
fn bound_persistent_volume() {
    assert_eq!(
        column_names("", "PersistentVolume"),
        [
            "Name",
            "Capacity",
            "Access Modes",
            "Reclaim Policy",
            "Status",
            "Claim",
            "StorageClass",
            "VolumeAttributesClass",
            "Reason",
            "Age",
            "VolumeMode*"
        ]
    );
    let pv = json!({
        "metadata": meta("pv-data", 7 * 86_400),
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": "fast",
            "volumeMode": "Block",
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "shop", "name": "data"},
            "hostPath": {"path": "/srv/data"}
        },
        "status": {"phase": "Bound"}
    });
    assert_eq!(
        row("", "PersistentVolume", &pv),
        cells(json!([
            "pv-data",
            "10Gi",
            "RWO,RWX",
            "Delete",
            "Bound",
            "shop/data",
            "fast",
            "<unset>",
            "",
            "7d",
            "Block"
        ]))
    );
}

#[test]
fn persistent_volume_defaults_and_overrides() {
    let mut pv = json!({
        "metadata": meta("pv-old", 60),
        "spec": {"capacity": {"storage": "1073741824"}, "storageClassName": "ignored", "volumeAttributesClassName": "gold"},
        "status": {"phase": "Failed", "reason": "Recycle failed"}
    });
    pv["metadata"]["annotations"] = json!({"volume.beta.kubernetes.io/storage-class": "legacy"});
    assert_eq!(
        row("", "PersistentVolume", &pv),
        cells(json!([
            "pv-old",
            "1073741824",
            "",
            "Retain",
            "Failed",
            "",
            "legacy",
            "gold",
            "Recycle failed",
            "60s",
            "Filesystem"
        ]))
    );
    pv["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(row("", "PersistentVolume", &pv)[4], json!("Terminating"));
}

#[test]
fn persistent_volume_claims() {
    assert_eq!(
        column_names("", "PersistentVolumeClaim"),
        [
            "Name",
            "Status",
            "Volume",
            "Capacity",
            "Access Modes",
            "StorageClass",
            "VolumeAttributesClass",
            "Age",
            "VolumeMode*"
        ]
    );
    let bound = json!({
        "metadata": meta("data", 3600),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                 "storageClassName": "fast", "volumeName": "pv-data", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"], "capacity": {"storage": "5120Mi"}}
    });
    assert_eq!(
        row("", "PersistentVolumeClaim", &bound),
        cells(json!(["data", "Bound", "pv-data", "5Gi", "RWO,RWOP", "fast", "<unset>", "60m", "Filesystem"]))
    );
    let pending = json!({
        "metadata": meta("scratch", 30),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"}
    });
    assert_eq!(
        row("", "PersistentVolumeClaim", &pending),
        cells(json!(["scratch", "Pending", "", "", "", "", "<unset>", "30s", "Filesystem"]))
    );
}
