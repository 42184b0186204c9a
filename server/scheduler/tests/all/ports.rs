//! NodePorts: one claim per host port (and protocol, and address) per node.

use crate::support::{Cluster, node};
use serde_json::{Value, json};

fn with_host_port(name: &str, port: u16, protocol: &str) -> Value {
    json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "http-hello:latest",
        "ports": [{"containerPort": 8080, "hostPort": port, "protocol": protocol}]}]}})
}

#[tokio::test]
async fn a_host_port_is_taken_once_per_node() {
    let c = Cluster::start().await;
    c.node(node("only")).await;
    c.pod("default", with_host_port("first", 8080, "TCP")).await;
    assert_eq!(c.bound("default", "first").await, "only");
    // Another protocol on the same port is another claim.
    c.pod("default", with_host_port("udp", 8080, "UDP")).await;
    assert_eq!(c.bound("default", "udp").await, "only");

    c.pod("default", with_host_port("second", 8080, "TCP")).await;
    let expected = "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. \
        preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.";
    assert_eq!(c.unschedulable("default", "second").await, expected);

    // A second node resolves it; deleting the first pod would too.
    c.node(node("another")).await;
    assert_eq!(c.bound("default", "second").await, "another");
}

#[tokio::test]
async fn deleting_the_holder_frees_the_port() {
    let c = Cluster::start().await;
    c.node(node("only")).await;
    c.pod("default", with_host_port("holder", 9090, "TCP")).await;
    c.bound("default", "holder").await;
    c.pod("default", with_host_port("waiter", 9090, "TCP")).await;
    c.unschedulable("default", "waiter").await;
    c.delete_pod("default", "holder").await;
    assert_eq!(c.bound("default", "waiter").await, "only");
}
