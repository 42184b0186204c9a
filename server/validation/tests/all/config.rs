//! ConfigMap, Secret and ServiceAccount.

use serde_json::json;

use crate::support::{assert_has, assert_valid, create_errors, update_errors};

#[test]
fn config_map_keys() {
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "x", "..hidden": "y", "dup": "z"}, "binaryData": {"dup": "eg=="}});
    let errs = create_errors("", "ConfigMap", cm);
    assert_has(
        &errs,
        "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    assert_has(&errs, "data[..hidden]: Invalid value: \"..hidden\": must not start with '..'");
    assert_has(&errs, "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData");
}

#[test]
fn config_map_total_size() {
    let big = "x".repeat(1024 * 1024);
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a": big, "b": "y"}});
    assert_has(&create_errors("", "ConfigMap", cm), ": Too long: must have at most 1048576 bytes");
}

#[test]
fn immutable_config_maps_keep_their_data() {
    let old = json!({"metadata": {"name": "c", "namespace": "d"}, "immutable": true, "data": {"a": "1"}});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    new["immutable"] = json!(false);
    let errs = update_errors("", "ConfigMap", old.clone(), new);
    assert_has(&errs, "data: Forbidden: field is immutable when `immutable` is set");
    assert_has(&errs, "immutable: Forbidden: field is immutable when `immutable` is set");
    let mut labelled = old.clone();
    labelled["metadata"]["labels"] = json!({"x": "y"});
    assert_valid(&update_errors("", "ConfigMap", old, labelled));
}

#[test]
fn secret_keys_size_and_types() {
    let s = json!({"metadata": {"name": "s", "namespace": "d"}, "data": {"a/b": "eA=="}});
    assert_has(
        &create_errors("", "Secret", s),
        "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );

    let big = "x".repeat(1024 * 1024 + 1);
    let s = json!({"metadata": {"name": "s", "namespace": "d"}, "stringData": {"big": big}});
    assert_has(&create_errors("", "Secret", s), "data: Too long: must have at most 1048576 bytes");

    let tls = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
    assert_has(&create_errors("", "Secret", tls), "data[tls.key]: Required value");
    let sa =
        json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/service-account-token"});
    assert_has(
        &create_errors("", "Secret", sa),
        "metadata.annotations[kubernetes.io/service-account.name]: Required value",
    );
    let docker = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "bm90IGpzb24="}});
    let errs = create_errors("", "Secret", docker);
    assert!(errs.iter().any(|e| {
        e.field == "data[.dockerconfigjson]"
            && e.message()
                .starts_with("data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": ")
    }));
}

#[test]
fn secret_type_is_immutable() {
    let old = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque", "data": {"a": "eA=="}});
    let mut new = old.clone();
    new["type"] = json!("example.com/custom");
    assert_has(
        &update_errors("", "Secret", old, new),
        "type: Invalid value: \"example.com/custom\": field is immutable",
    );
}

#[test]
fn service_accounts_check_metadata_only() {
    let sa = json!({"metadata": {"name": "Builder", "namespace": "d"}});
    let errs = create_errors("", "ServiceAccount", sa);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "metadata.name");
}
