//! Hand-built wire bytes for what kubectl's fixtures do not exercise: every special type, maps,
//! packed and unpacked lists, inline structs, pointer zeros, merging and unknown fields.

use serde_json::{Value, json};
use wasmkube_protobuf::decode;

use crate::builder::{Msg, envelope, packed};

fn named(name: &str) -> Msg {
    Msg::new().str(1, name)
}

fn time(seconds: i64, nanos: i64) -> Msg {
    Msg::new().int(1, seconds).int(2, nanos)
}

fn decode_ok(api_version: &str, kind: &str, object: Msg) -> Value {
    decode(&envelope(api_version, kind, object)).unwrap()
}

fn pod_with_spec(spec: Msg) -> Value {
    decode_ok("v1", "Pod", Msg::new().msg(1, named("p")).msg(2, spec))
}

#[test]
fn string_and_bytes_maps() {
    let cm = Msg::new()
        .msg(1, named("cm").entry(11, "app", Msg::new().str(2, "web")))
        .entry(2, "a", Msg::new().str(2, "1"))
        .entry(2, "b", Msg::new().str(2, "2"))
        .entry(2, "empty", Msg::new())
        .entry(3, "bin", Msg::new().bytes(2, &[0xff, 0x00]))
        .int(4, 1);
    assert_eq!(
        decode_ok("v1", "ConfigMap", cm),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "cm", "labels": {"app": "web"}},
               "data": {"a": "1", "b": "2", "empty": ""},
               "binaryData": {"bin": "/wA="},
               "immutable": true})
    );
}

#[test]
fn secret_string_data_type_and_immutable_false() {
    let secret = Msg::new()
        .msg(1, named("s"))
        .entry(2, "k", Msg::new().bytes(2, b"v"))
        .str(3, "Opaque")
        .entry(4, "plain", Msg::new().str(2, "text"))
        .int(5, 0);
    assert_eq!(
        decode_ok("v1", "Secret", secret),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "data": {"k": "dg=="}, "type": "Opaque",
               "stringData": {"plain": "text"}, "immutable": false})
    );
}

#[test]
fn packed_and_unpacked_repeated_numbers_concatenate() {
    let security = Msg::new().bytes(4, &packed(&[1, 2])).int(4, 3).bytes(4, &packed(&[4_000_000_000]));
    let pod = pod_with_spec(Msg::new().msg(14, security));
    assert_eq!(pod["spec"]["securityContext"]["supplementalGroups"], json!([1, 2, 3, 4_000_000_000_i64]));
}

#[test]
fn repeated_strings_and_messages_keep_order() {
    let container = Msg::new()
        .str(1, "c")
        .str(3, "sh")
        .str(3, "-c")
        .str(4, "echo")
        .msg(7, Msg::new().str(1, "A").str(2, "1"))
        .msg(7, Msg::new().str(1, "B").msg(3, Msg::new()));
    let pod = pod_with_spec(Msg::new().msg(2, container));
    assert_eq!(
        pod["spec"]["containers"],
        json!([{"name": "c", "command": ["sh", "-c"], "args": ["echo"],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {}}]}])
    );
}

#[test]
fn quantities_in_resource_maps() {
    let resources = Msg::new()
        .entry(1, "cpu", Msg::new().msg(2, Msg::new().str(1, "500m")))
        .entry(1, "memory", Msg::new().msg(2, Msg::new().str(1, "128Mi")))
        .entry(2, "cpu", Msg::new().msg(2, Msg::new()))
        .entry(2, "memory", Msg::new());
    let pod = pod_with_spec(Msg::new().msg(2, named("c").msg(8, resources)));
    assert_eq!(
        pod["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "128Mi"},
               "requests": {"cpu": "0", "memory": "0"}})
    );
}

#[test]
fn int_or_string_both_ways() {
    let rolling = Msg::new().msg(1, Msg::new().int(1, 1).str(3, "25%")).msg(2, Msg::new().int(2, 2));
    let spec = Msg::new().msg(4, Msg::new().str(1, "RollingUpdate").msg(2, rolling));
    let deployment = decode_ok("apps/v1", "Deployment", Msg::new().msg(2, spec));
    assert_eq!(
        deployment["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}})
    );
}

#[test]
fn times_micro_times_and_fields_v1() {
    let managed = Msg::new()
        .str(1, "kubectl")
        .str(2, "Update")
        .msg(4, time(1_700_000_000, 0))
        .str(6, "FieldsV1")
        .msg(7, Msg::new().bytes(1, br#"{"f:data":{}}"#));
    let meta = named("e").msg(8, time(1_700_000_000, 999_999_999)).msg(9, time(0, 0)).msg(17, managed);
    let event = Msg::new().msg(1, meta).msg(6, Msg::new()).msg(10, time(1_700_000_000, 123_456_789));
    let value = decode_ok("v1", "Event", event);
    assert_eq!(value["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
    // seconds and nanos both zero but present: Go's time.Unix(0, 0), not the zero time.
    assert_eq!(value["metadata"]["deletionTimestamp"], "1970-01-01T00:00:00Z");
    assert_eq!(value["firstTimestamp"], Value::Null);
    assert_eq!(value["eventTime"], "2023-11-14T22:13:20.123456Z");
    assert_eq!(
        value["metadata"]["managedFields"],
        json!([{"manager": "kubectl", "operation": "Update", "time": "2023-11-14T22:13:20Z",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}])
    );
}

#[test]
fn raw_extension_embeds_json_and_nested_protobuf() {
    let nested = envelope("v1", "ConfigMap", Msg::new().msg(1, named("inner")));
    let list = Msg::new()
        .msg(1, Msg::new())
        .msg(2, Msg::new().bytes(1, br#"{"kind":"Pod","apiVersion":"v1"}"#))
        .msg(2, Msg::new().bytes(1, &nested))
        .msg(2, Msg::new());
    assert_eq!(
        decode_ok("v1", "List", list)["items"],
        json!([{"kind": "Pod", "apiVersion": "v1"},
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inner"}},
               null])
    );
}

#[test]
fn inline_structs_land_in_the_enclosing_object() {
    let config_map_source = Msg::new().msg(1, named("cfg")).int(3, 420);
    let volume = named("v").msg(2, Msg::new().msg(19, config_map_source));
    let probe = Msg::new()
        .msg(1, Msg::new().msg(2, Msg::new().str(1, "/healthz").msg(2, Msg::new().int(2, 8080))))
        .int(4, 10);
    let pod = pod_with_spec(Msg::new().msg(1, volume).msg(2, named("c").msg(10, probe)));
    assert_eq!(
        pod["spec"]["volumes"],
        json!([{"name": "v", "configMap": {"name": "cfg", "defaultMode": 420}}])
    );
    assert_eq!(
        pod["spec"]["containers"][0]["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10})
    );
}

#[test]
fn pointer_zeros_stay_and_omitempty_zeros_go() {
    let meta = named("d").str(3, "").int(7, 0);
    let spec = Msg::new().int(1, 0).int(5, 0).int(7, 0);
    let deployment = decode_ok("apps/v1", "Deployment", Msg::new().msg(1, meta).msg(2, spec));
    assert_eq!(deployment["metadata"], json!({"name": "d"}));
    assert_eq!(deployment["spec"], json!({"replicas": 0}));

    let job_spec = Msg::new().int(7, 0).int(10, 0).int(8, 0);
    let job = decode_ok("batch/v1", "Job", Msg::new().msg(2, job_spec));
    assert_eq!(job["spec"], json!({"backoffLimit": 0, "suspend": false, "ttlSecondsAfterFinished": 0}));
}

#[test]
fn negative_numbers_are_sign_extended_varints() {
    let pod = pod_with_spec(Msg::new().int(4, -30));
    assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], -30);
    let deployment = decode_ok("apps/v1", "Deployment", Msg::new().msg(2, Msg::new().int(1, -1)));
    assert_eq!(deployment["spec"]["replicas"], -1);
}

#[test]
fn owner_references_keep_pointer_bools() {
    let owner =
        Msg::new().str(1, "ReplicaSet").str(3, "rs").str(4, "uid-1").str(5, "apps/v1").int(6, 1).int(7, 0);
    let pod = decode_ok("v1", "Pod", Msg::new().msg(1, named("p").msg(13, owner).str(14, "f")));
    assert_eq!(
        pod["metadata"],
        json!({"name": "p", "finalizers": ["f"],
               "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "uid-1",
                                    "apiVersion": "apps/v1", "controller": true,
                                    "blockOwnerDeletion": false}]})
    );
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let meta = named("x").int(900, 5).key(901, 1).raw(&[0; 8]).str(902, "ignored").key(903, 5).raw(&[0; 4]);
    let ns = decode_ok("v1", "Namespace", Msg::new().msg(1, meta).int(99, 1));
    assert_eq!(ns, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}));
}

#[test]
fn repeated_singular_fields_merge_messages_and_last_scalar_wins() {
    let object = Msg::new()
        .msg(1, named("first").entry(11, "a", Msg::new().str(2, "1")))
        .msg(1, named("second").entry(11, "b", Msg::new().str(2, "2")));
    assert_eq!(
        decode_ok("v1", "Namespace", object)["metadata"],
        json!({"name": "second", "labels": {"a": "1", "b": "2"}})
    );
}

#[test]
fn envelope_content_type_and_unknown_envelope_fields() {
    let type_meta = Msg::new().str(1, "v1").str(2, "Namespace");
    let unknown = Msg::new()
        .msg(1, type_meta)
        .msg(2, Msg::new().msg(1, named("n")))
        .str(3, "")
        .str(4, "application/vnd.kubernetes.protobuf")
        .int(9, 1);
    let body = [b"k8s\0".as_slice(), &unknown.into_bytes()].concat();
    assert_eq!(decode(&body).unwrap()["metadata"]["name"], "n");
}

#[test]
fn every_supported_kind_decodes_an_empty_object() {
    let kinds: Vec<_> = wasmkube_protobuf::supported_kinds().collect();
    assert!(kinds.len() >= 80, "{}", kinds.len());
    for (api_version, kind) in kinds {
        let value = decode(&envelope(api_version, kind, Msg::new())).unwrap();
        assert_eq!(value, json!({"apiVersion": api_version, "kind": kind}));
    }
}
