//! Node rows.

use serde_json::{Value, json};

use crate::support::{cells, column_names, meta, row};

fn node(labels: Value, spec: Value, conditions: Value) -> Value {
    let mut metadata = meta("worker-1", 20 * 86_400);
    metadata["labels"] = labels;
    json!({
        "metadata": metadata,
        "spec": spec,
        "status": {
            "conditions": conditions,
            "addresses": [
                {"type": "Hostname", "address": "worker-1"},
                {"type": "InternalIP", "address": "192.168.1.11"},
                {"type": "InternalIP", "address": "fd00::11"}
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.2", "osImage": "Ubuntu 24.04.1 LTS",
                "kernelVersion": "6.8.0-45-generic", "containerRuntimeVersion": "containerd://1.7.22"
            }
        }
    })
}

#[test]
fn ready_control_plane_node() {
    assert_eq!(
        column_names("", "Node"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "Internal-IP*",
            "External-IP*",
            "OS-Image*",
            "Kernel-Version*",
            "Container-Runtime*"
        ]
    );
    let labels = json!({
        "kubernetes.io/hostname": "worker-1",
        "node-role.kubernetes.io/control-plane": "",
        "node-role.kubernetes.io/etcd": "true",
        "kubernetes.io/role": "master"
    });
    let conditions = json!([
        {"type": "MemoryPressure", "status": "False"},
        {"type": "Ready", "status": "True"}
    ]);
    assert_eq!(
        row("", "Node", &node(labels, json!({}), conditions)),
        cells(json!([
            "worker-1",
            "Ready",
            "control-plane,etcd,master",
            "20d",
            "v1.32.2",
            "192.168.1.11",
            "<none>",
            "Ubuntu 24.04.1 LTS",
            "6.8.0-45-generic",
            "containerd://1.7.22"
        ]))
    );
}

#[test]
fn node_status_variants() {
    let status =
        |spec: Value, conditions: Value| row("", "Node", &node(json!({}), spec, conditions))[1].clone();
    let ready = json!([{"type": "Ready", "status": "True"}]);
    assert_eq!(status(json!({"unschedulable": true}), ready), json!("Ready,SchedulingDisabled"));
    assert_eq!(status(json!({}), json!([{"type": "Ready", "status": "Unknown"}])), json!("NotReady"));
    assert_eq!(status(json!({"unschedulable": true}), json!([])), json!("Unknown,SchedulingDisabled"));
    let roles =
        row("", "Node", &node(json!({"node-role.kubernetes.io/": "x"}), json!({}), json!([])))[2].clone();
    assert_eq!(roles, json!("<none>"));
}

#[test]
fn bare_node_shows_placeholders() {
    let bare = json!({"metadata": {"name": "n0"}});
    assert_eq!(
        row("", "Node", &bare),
        cells(json!([
            "n0",
            "Unknown",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]))
    );
}
