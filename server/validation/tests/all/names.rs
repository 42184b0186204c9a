//! Name rules per kind, checked word for word against upstream's messages.

use serde_json::json;

use crate::support::{assert_has, assert_reason, create_errors};

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const RFC1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QNAME_PART: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn config_map(meta: serde_json::Value) -> serde_json::Value {
    json!({"metadata": meta, "data": {"a": "b"}})
}

#[test]
fn subdomain_names_match_upstream_text() {
    let errs =
        create_errors("", "ConfigMap", config_map(json!({"name": "Bad_Name", "namespace": "default"})));
    assert_has(&errs, &format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN}"));
    assert_eq!(errs[0].reason(), "FieldValueInvalid");
    assert_eq!(errs[0].body(), format!("Invalid value: \"Bad_Name\": {SUBDOMAIN}"));
}

#[test]
fn namespace_names_are_labels() {
    let errs = create_errors("", "Namespace", json!({"metadata": {"name": "My_NS"}}));
    assert_has(&errs, &format!("metadata.name: Invalid value: \"My_NS\": {LABEL}"));
    let errs = create_errors("", "Namespace", json!({"metadata": {"name": "a.b"}}));
    assert_has(&errs, "metadata.name: Invalid value: \"a.b\": must not contain dots");
}

#[test]
fn service_names_are_rfc1035_labels() {
    let mut svc = crate::valid_objects::service();
    svc["metadata"]["name"] = json!("1web");
    assert_has(
        &create_errors("", "Service", svc),
        &format!("metadata.name: Invalid value: \"1web\": {RFC1035}"),
    );
}

#[test]
fn statefulset_names_are_labels() {
    let mut sts = crate::valid_objects::stateful_set();
    sts["metadata"]["name"] = json!("db.primary");
    assert_has(
        &create_errors("apps", "StatefulSet", sts),
        "metadata.name: Invalid value: \"db.primary\": must not contain dots",
    );
}

#[test]
fn long_names_report_length() {
    let name = "a".repeat(254);
    let errs = create_errors("", "ConfigMap", config_map(json!({"name": name, "namespace": "default"})));
    assert_has(
        &errs,
        &format!("metadata.name: Invalid value: \"{name}\": must be no more than 253 characters"),
    );
}

#[test]
fn missing_name_and_namespace() {
    let errs = create_errors("", "ConfigMap", config_map(json!({})));
    assert_has(&errs, "metadata.name: Required value: name or generateName is required");
    assert_has(&errs, "metadata.namespace: Required value");
    assert_reason(&errs, "metadata.namespace", "FieldValueRequired");
}

#[test]
fn cluster_scoped_kinds_reject_namespace() {
    let errs = create_errors("", "Namespace", json!({"metadata": {"name": "ok", "namespace": "default"}}));
    assert_has(&errs, "metadata.namespace: Forbidden: not allowed on this type");
}

#[test]
fn generate_name_prefix_rules() {
    let errs =
        create_errors("", "ConfigMap", config_map(json!({"generateName": "Web-", "namespace": "default"})));
    assert_has(&errs, &format!("metadata.generateName: Invalid value: \"Web-\": {SUBDOMAIN}"));
}

#[test]
fn label_keys_and_values() {
    let meta = json!({"name": "x", "namespace": "default", "labels": {"bad key": "ok", "good": "-bad-"}});
    let errs = create_errors("", "ConfigMap", config_map(meta));
    assert_has(&errs, &format!("metadata.labels: Invalid value: \"bad key\": {QNAME_PART}"));
    assert_has(
        &errs,
        "metadata.labels: Invalid value: \"-bad-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
}

#[test]
fn label_key_prefix_rules() {
    let meta = json!({"name": "x", "namespace": "default", "labels": {"Example.com/app": "v", "/app": "v", "a/b/c": "v"}});
    let errs = create_errors("", "ConfigMap", config_map(meta));
    assert_has(
        &errs,
        &format!("metadata.labels: Invalid value: \"Example.com/app\": prefix part {SUBDOMAIN}"),
    );
    assert_has(&errs, "metadata.labels: Invalid value: \"/app\": prefix part must be non-empty");
    assert_has(
        &errs,
        "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    );
}

#[test]
fn annotations_keys_and_total_size() {
    let big = "x".repeat(256 * 1024);
    let meta = json!({"name": "x", "namespace": "default", "annotations": {"Example.COM/Key": "ok", "bad key": "v", "big": big}});
    let errs = create_errors("", "ConfigMap", config_map(meta));
    assert_has(&errs, &format!("metadata.annotations: Invalid value: \"bad key\": {QNAME_PART}"));
    assert_has(&errs, "metadata.annotations: Too long: must have at most 262144 bytes");
    assert!(
        !errs.iter().any(|e| e.message().contains("Example.COM/Key")),
        "annotation keys are case-insensitive"
    );
}

#[test]
fn finalizers_and_owner_references() {
    let meta = json!({
        "name": "x", "namespace": "default",
        "finalizers": ["kubernetes", "custom", "example.com/cleanup"],
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
            {"apiVersion": "", "kind": "", "name": "", "uid": ""}
        ]
    });
    let errs = create_errors("", "ConfigMap", config_map(meta));
    assert_has(
        &errs,
        "metadata.finalizers[1]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
    );
    assert_has(&errs, "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty");
    assert_has(&errs, "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty");
    assert!(errs.iter().any(|e| e.detail == "Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b"));
}

#[test]
fn no_new_finalizers_while_deleting() {
    let old = config_map(
        json!({"name": "x", "namespace": "default", "deletionTimestamp": "2025-01-01T00:00:00Z", "finalizers": ["a.io/x"]}),
    );
    let mut new = old.clone();
    new["metadata"]["finalizers"] = json!(["a.io/x", "b.io/y"]);
    let errs = crate::support::update_errors("", "ConfigMap", old, new);
    assert_has(
        &errs,
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b.io/y\"}",
    );
}
