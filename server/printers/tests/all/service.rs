//! Service, Endpoints and EndpointSlice rows.

use serde_json::{Value, json};

use crate::support::{cells, column_names, meta, row};

fn service(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web", 7200), "spec": spec, "status": status})
}

#[test]
fn cluster_ip_service() {
    assert_eq!(
        column_names("", "Service"),
        ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"]
    );
    let svc = service(
        json!({
            "type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                {"name": "dns", "port": 53, "protocol": "UDP"}
            ]
        }),
        json!({"loadBalancer": {}}),
    );
    assert_eq!(
        row("", "Service", &svc),
        cells(json!(["web", "ClusterIP", "10.96.12.7", "<none>", "80/TCP,53/UDP", "120m", "app=web"]))
    );
}

#[test]
fn node_port_and_load_balancer_services() {
    let node_port = service(
        json!({"type": "NodePort", "clusterIPs": ["10.96.0.20"], "externalIPs": ["192.0.2.10"],
               "ports": [{"port": 80, "nodePort": 30080}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}]}),
        json!({}),
    );
    let cells_np = row("", "Service", &node_port);
    assert_eq!(cells_np[3], json!("192.0.2.10"));
    assert_eq!(cells_np[4], json!("80:30080/TCP,443:30443/TCP"));
    assert_eq!(cells_np[6], json!("<none>"));

    let pending = service(json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.21"]}), json!({}));
    assert_eq!(
        row("", "Service", &pending),
        cells(json!(["web", "LoadBalancer", "10.96.0.21", "<pending>", "<none>", "120m", "<none>"]))
    );
    let ready = service(
        json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.22"], "externalIPs": ["192.0.2.1"]}),
        json!({"loadBalancer": {"ingress": [
            {"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.10"}, {"ip": "203.0.113.9"}
        ]}}),
    );
    // Load-balancer points are sorted and de-duplicated, never shortened, then external IPs follow.
    assert_eq!(row("", "Service", &ready)[3], json!("203.0.113.10,203.0.113.9,lb.example.com,192.0.2.1"));
}

#[test]
fn headless_and_external_name_services() {
    let headless =
        service(json!({"clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"}}), json!({}));
    let cells_h = row("", "Service", &headless);
    assert_eq!(
        (&cells_h[1], &cells_h[2], &cells_h[3]),
        (&json!("ClusterIP"), &json!("None"), &json!("<none>"))
    );
    let external = service(json!({"type": "ExternalName", "externalName": "db.example.com"}), json!({}));
    let cells_e = row("", "Service", &external);
    assert_eq!((&cells_e[2], &cells_e[3]), (&json!("<none>"), &json!("db.example.com")));
    let only_singular = service(json!({"clusterIP": "10.96.0.30"}), json!({}));
    assert_eq!(row("", "Service", &only_singular)[2], json!("10.96.0.30"));
}

#[test]
fn endpoints() {
    assert_eq!(column_names("", "Endpoints"), ["Name", "Endpoints", "Age"]);
    let eps = json!({
        "metadata": meta("web", 300),
        "subsets": [
            {"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.7"}], "ports": [{"port": 8080}, {"port": 9090}]},
            {"addresses": [{"ip": "fd00::9"}], "ports": [{"port": 8080}]}
        ]
    });
    assert_eq!(
        row("", "Endpoints", &eps),
        cells(json!(["web", "10.244.1.5:8080,10.244.2.7:8080,10.244.1.5:9090 + 2 more...", "5m"]))
    );
    let headless = json!({"metadata": meta("db", 300), "subsets": [{"addresses": [{"ip": "fd00::9"}]}]});
    assert_eq!(row("", "Endpoints", &headless)[1], json!("fd00::9"));
    let v6 = json!({"metadata": meta("v6", 300), "subsets": [{"addresses": [{"ip": "fd00::9"}], "ports": [{"port": 53}]}]});
    assert_eq!(row("", "Endpoints", &v6)[1], json!("[fd00::9]:53"));
    let empty = json!({"metadata": meta("none", 300)});
    assert_eq!(row("", "Endpoints", &empty)[1], json!("<none>"));
}

#[test]
fn endpoint_slice() {
    assert_eq!(
        column_names("discovery.k8s.io", "EndpointSlice"),
        ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    );
    let slice = json!({
        "metadata": meta("web-abc12", 300),
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics"}, {}],
        "endpoints": [
            {"addresses": ["10.244.1.5"], "conditions": {"ready": true}},
            {"addresses": ["10.244.2.7", "10.244.2.8"]},
            {"addresses": ["10.244.3.1"]}
        ]
    });
    assert_eq!(
        row("discovery.k8s.io", "EndpointSlice", &slice),
        cells(json!([
            "web-abc12",
            "IPv4",
            "8080,metrics,*",
            "10.244.1.5,10.244.2.7,10.244.2.8 + 1 more...",
            "5m"
        ]))
    );
    let empty = json!({"metadata": meta("e", 300), "addressType": "IPv6"});
    assert_eq!(
        row("discovery.k8s.io", "EndpointSlice", &empty),
        cells(json!(["e", "IPv6", "<unset>", "<unset>", "5m"]))
    );
}
