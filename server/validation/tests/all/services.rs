//! Service, Endpoints and EndpointSlice.

use serde_json::json;

use crate::support::{assert_has, assert_reason, assert_valid, create_errors, set, update_errors};
use crate::valid_objects::service;

#[test]
fn ports_are_required_unless_headless_or_external_name() {
    let mut s = service();
    set(&mut s, "/spec/ports", json!([]));
    assert_has(&create_errors("", "Service", s.clone()), "spec.ports: Required value");
    s["spec"]["clusterIP"] = json!("None");
    assert_valid(&create_errors("", "Service", s));
    let ext = json!({"metadata": {"name": "ext", "namespace": "d"}, "spec": {"type": "ExternalName", "externalName": "db.example.com."}});
    assert_valid(&create_errors("", "Service", ext));
}

#[test]
fn service_ports() {
    let mut s = service();
    set(
        &mut s,
        "/spec/ports",
        json!([
            {"name": "http", "port": 0},
            {"port": 443, "protocol": "ICMP"},
            {"name": "http", "port": 8080, "targetPort": "Not_A_Name"}
        ]),
    );
    let errs = create_errors("", "Service", s);
    assert_has(&errs, "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive");
    assert_has(&errs, "spec.ports[1].name: Required value");
    assert_has(
        &errs,
        "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
    );
    assert_has(&errs, "spec.ports[2].name: Duplicate value: \"http\"");
    assert_has(
        &errs,
        "spec.ports[2].targetPort: Invalid value: \"Not_A_Name\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    );
}

#[test]
fn type_and_node_ports() {
    let mut s = service();
    s["spec"]["type"] = json!("Magic");
    assert_has(
        &create_errors("", "Service", s.clone()),
        "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
    );
    s["spec"]["type"] = json!("ClusterIP");
    set(&mut s, "/spec/ports/0/nodePort", json!(30080));
    assert_has(
        &create_errors("", "Service", s.clone()),
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    );
    s["spec"]["type"] = json!("NodePort");
    set(&mut s, "/spec/ports/0/nodePort", json!(80));
    assert_has(
        &create_errors("", "Service", s.clone()),
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
    );
    set(&mut s, "/spec/ports/0/nodePort", json!(30080));
    set(&mut s, "/spec/ports/1/nodePort", json!(30080));
    assert_has(&create_errors("", "Service", s), "spec.ports[1].nodePort: Duplicate value: 30080");
}

#[test]
fn external_name_rules() {
    let ext = json!({"metadata": {"name": "ext", "namespace": "d"}, "spec": {"type": "ExternalName", "clusterIP": "10.0.0.1"}});
    let errs = create_errors("", "Service", ext);
    assert_has(&errs, "spec.externalName: Required value");
    assert_has(&errs, "spec.clusterIPs: Forbidden: may not be set for ExternalName services");
}

#[test]
fn cluster_ips_are_validated_and_immutable() {
    let mut s = service();
    s["spec"]["clusterIP"] = json!("10.96.0.300");
    assert_has(
        &create_errors("", "Service", s),
        "spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
    );

    let mut old = service();
    old["spec"]["clusterIP"] = json!("10.96.0.10");
    let mut new = old.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.11");
    new["spec"]["clusterIPs"] = json!(["10.96.0.11"]);
    old["spec"]["clusterIPs"] = json!(["10.96.0.10"]);
    let errs = update_errors("", "Service", old.clone(), new);
    assert_has(&errs, "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not change once set");
    assert_valid(&update_errors("", "Service", old.clone(), old));
}

#[test]
fn session_affinity() {
    let mut s = service();
    s["spec"]["sessionAffinity"] = json!("Cookie");
    assert_has(
        &create_errors("", "Service", s.clone()),
        "spec.sessionAffinity: Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"",
    );
    s["spec"]["sessionAffinity"] = json!("ClientIP");
    s["spec"]["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 100000}});
    assert_has(
        &create_errors("", "Service", s),
        "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 100000: must be greater than 0 and less than 86400",
    );
}

#[test]
fn traffic_policies() {
    let mut s = service();
    s["spec"]["externalTrafficPolicy"] = json!("Local");
    assert_has(
        &create_errors("", "Service", s.clone()),
        "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for externally-accessible services",
    );
    s["spec"]["type"] = json!("NodePort");
    s["spec"]["externalTrafficPolicy"] = json!("Nearest");
    s["spec"]["internalTrafficPolicy"] = json!("Nearest");
    let errs = create_errors("", "Service", s);
    assert_has(
        &errs,
        "spec.externalTrafficPolicy: Unsupported value: \"Nearest\": supported values: \"Cluster\", \"Local\"",
    );
    assert_has(
        &errs,
        "spec.internalTrafficPolicy: Unsupported value: \"Nearest\": supported values: \"Cluster\", \"Local\"",
    );
}

#[test]
fn endpoints_rules() {
    let ep = json!({"metadata": {"name": "e", "namespace": "d"}, "subsets": [
        {"ports": [{"port": 80}]},
        {"addresses": [{"ip": "127.0.0.1"}, {"ip": "not-an-ip"}], "ports": [{"port": 80}, {"port": 81, "name": "b"}]}
    ]});
    let errs = create_errors("", "Endpoints", ep);
    assert_has(&errs, "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`");
    assert_has(
        &errs,
        "subsets[1].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
    );
    assert_has(
        &errs,
        "subsets[1].addresses[1].ip: Invalid value: \"not-an-ip\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
    );
    assert_has(&errs, "subsets[1].ports[0].name: Required value");
}

#[test]
fn endpoint_slice_rules() {
    let slice = json!({"metadata": {"name": "s", "namespace": "d"}, "addressType": "IPv4", "endpoints": [
        {"addresses": []}, {"addresses": ["fd00::1"]}
    ], "ports": [{"name": "Web", "port": 80}]});
    let errs = create_errors("discovery.k8s.io", "EndpointSlice", slice.clone());
    assert_has(&errs, "endpoints[0].addresses: Required value: must contain at least 1 address");
    assert_has(&errs, "endpoints[1].addresses[0]: Invalid value: \"fd00::1\": must be a valid IPv4 address");
    assert_reason(&errs, "ports[0].name", "FieldValueInvalid");

    let bad_type = json!({"metadata": {"name": "s", "namespace": "d"}, "addressType": "IPv5"});
    assert_has(
        &create_errors("discovery.k8s.io", "EndpointSlice", bad_type),
        "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
    );

    let mut many = slice.clone();
    many["endpoints"] = json!([{"addresses": vec!["10.0.0.1"; 101]}]);
    assert_has(
        &create_errors("discovery.k8s.io", "EndpointSlice", many),
        "endpoints[0].addresses: Too many: 101: must have at most 100 items",
    );

    let ok = json!({"metadata": {"name": "s", "namespace": "d"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}]});
    let mut changed = ok.clone();
    changed["addressType"] = json!("IPv6");
    changed["endpoints"] = json!([{"addresses": ["fd00::1"]}]);
    assert_has(
        &update_errors("discovery.k8s.io", "EndpointSlice", ok, changed),
        "addressType: Invalid value: \"IPv6\": field is immutable",
    );
}
