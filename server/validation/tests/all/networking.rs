//! Ingress, IngressClass and NetworkPolicy.

use serde_json::json;

use crate::support::{assert_has, create_errors, update_errors};

fn ingress(path: serde_json::Value) -> serde_json::Value {
    json!({"metadata": {"name": "i", "namespace": "d"}, "spec": {"rules": [{"host": "example.com", "http": {"paths": [path]}}]}})
}

#[test]
fn ingress_needs_rules_or_default_backend() {
    let i = json!({"metadata": {"name": "i", "namespace": "d"}, "spec": {}});
    assert!(
        create_errors("networking.k8s.io", "Ingress", i)
            .iter()
            .any(|e| e.field == "spec" && e.detail == "either `defaultBackend` or `rules` must be specified")
    );
}

#[test]
fn ingress_paths_need_path_type() {
    let i = ingress(json!({"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}));
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", i),
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
    );
    let i = ingress(
        json!({"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}),
    );
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", i),
        "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path",
    );
    let i = ingress(
        json!({"path": "/", "pathType": "Regex", "backend": {"service": {"name": "web", "port": {"number": 80}}}}),
    );
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", i),
        "spec.rules[0].http.paths[0].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
    );
}

#[test]
fn ingress_backends_need_exactly_one_port_form() {
    let both = ingress(
        json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80, "name": "http"}}}}),
    );
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", both),
        "spec.rules[0].http.paths[0].backend: Invalid value: \"\": cannot set both port name & port number",
    );
    let neither = ingress(
        json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {}}}}),
    );
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", neither),
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required",
    );
    let bad_name = ingress(
        json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "1web", "port": {"number": 80}}}}),
    );
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", bad_name),
        "spec.rules[0].http.paths[0].backend.service.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
    let none = ingress(json!({"path": "/", "pathType": "Prefix", "backend": {}}));
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", none),
        "spec.rules[0].http.paths[0].backend: Invalid value: \"\": resource or service backend is required",
    );
}

#[test]
fn ingress_hosts() {
    let mut i = ingress(
        json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}),
    );
    i["spec"]["rules"][0]["host"] = json!("10.0.0.1");
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", i.clone()),
        "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
    );
    i["spec"]["rules"][0]["host"] = json!("*.*.example.com");
    assert_has(
        &create_errors("networking.k8s.io", "Ingress", i),
        "spec.rules[0].host: Invalid value: \"*.*.example.com\": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
}

#[test]
fn ingress_class_controller() {
    let ic = json!({"metadata": {"name": "c"}, "spec": {"controller": "nginx"}});
    assert_has(
        &create_errors("networking.k8s.io", "IngressClass", ic),
        "spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")",
    );
    let old = json!({"metadata": {"name": "c"}, "spec": {"controller": "example.com/a"}});
    let new = json!({"metadata": {"name": "c"}, "spec": {"controller": "example.com/b"}});
    assert_has(
        &update_errors("networking.k8s.io", "IngressClass", old, new),
        "spec.controller: Invalid value: \"example.com/b\": field is immutable",
    );
}

#[test]
fn network_policy_rules() {
    let np = json!({"metadata": {"name": "n", "namespace": "d"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Sideways"], "ingress": [{
        "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/24", "except": ["10.1.0.0/25"]}, "podSelector": {}}],
        "ports": [{"port": 80, "endPort": 70}, {"protocol": "ICMP"}]
    }]}});
    let errs = create_errors("networking.k8s.io", "NetworkPolicy", np);
    assert_has(&errs, "spec.ingress[0].from[0]: Required value: must specify a peer");
    assert_has(&errs, "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer");
    assert_has(
        &errs,
        "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"10.1.0.0/25\": must be a strict subset of `cidr`",
    );
    assert_has(
        &errs,
        "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`",
    );
    assert_has(
        &errs,
        "spec.ingress[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
    );
    assert_has(
        &errs,
        "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
    );
}
