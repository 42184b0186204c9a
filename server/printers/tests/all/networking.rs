//! Ingress, IngressClass and NetworkPolicy rows.

use serde_json::json;

use crate::support::{cells, column_names, meta, row};

const GROUP: &str = "networking.k8s.io";

#[test]
fn ingress() {
    assert_eq!(column_names(GROUP, "Ingress"), ["Name", "Class", "Hosts", "Address", "Ports", "Age"]);
    let ingress = json!({
        "metadata": meta("shop", 86_400),
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
            "rules": [
                {"host": "shop.example.com", "http": {"paths": []}},
                {"host": "api.example.com"}
            ]
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}, {"hostname": "lb.example.net"}]}}
    });
    assert_eq!(
        row(GROUP, "Ingress", &ingress),
        cells(json!([
            "shop",
            "nginx",
            "shop.example.com,api.example.com",
            "203.0.113.5,lb.example.net",
            "80, 443",
            "24h"
        ]))
    );
}

#[test]
fn ingress_hosts_placeholders_and_overflow() {
    let catch_all =
        json!({"metadata": meta("all", 60), "spec": {"defaultBackend": {}, "rules": [{"http": {}}]}});
    assert_eq!(row(GROUP, "Ingress", &catch_all), cells(json!(["all", "<none>", "*", "", "80", "60s"])));
    let many = json!({"metadata": meta("many", 60), "spec": {"rules": [
        {"host": "a.example"}, {}, {"host": "b.example"}, {"host": "c.example"}, {"host": "d.example"}
    ]}});
    // The overflow count is over all rules, including the one without a host.
    assert_eq!(row(GROUP, "Ingress", &many)[2], json!("a.example,b.example,c.example + 2 more..."));
}

#[test]
fn ingress_class() {
    assert_eq!(column_names(GROUP, "IngressClass"), ["Name", "Controller", "Parameters", "Age"]);
    let class = json!({
        "metadata": {"name": "nginx", "creationTimestamp": crate::support::ago(300)},
        "spec": {
            "controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}
        }
    });
    assert_eq!(
        row(GROUP, "IngressClass", &class),
        cells(json!([
            "nginx",
            "k8s.io/ingress-nginx",
            "IngressParameters.k8s.example.com/external-lb",
            "5m"
        ]))
    );
    let plain = json!({"metadata": meta("plain", 300), "spec": {"controller": "example.com/ctl"}});
    assert_eq!(row(GROUP, "IngressClass", &plain)[2], json!("<none>"));
    let core_ref =
        json!({"metadata": meta("c", 300), "spec": {"parameters": {"kind": "ConfigMap", "name": "cfg"}}});
    assert_eq!(row(GROUP, "IngressClass", &core_ref)[2], json!("ConfigMap/cfg"));
}

#[test]
fn network_policy() {
    assert_eq!(column_names(GROUP, "NetworkPolicy"), ["Name", "Pod-Selector", "Age"]);
    let policy = json!({
        "metadata": meta("allow-web", 120),
        "spec": {"podSelector": {"matchLabels": {"role": "db"}}, "policyTypes": ["Ingress"]}
    });
    assert_eq!(row(GROUP, "NetworkPolicy", &policy), cells(json!(["allow-web", "role=db", "2m"])));
    let deny_all = json!({"metadata": meta("deny-all", 120), "spec": {"podSelector": {}}});
    assert_eq!(row(GROUP, "NetworkPolicy", &deny_all)[1], json!("<none>"));
}
