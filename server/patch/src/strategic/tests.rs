use super::*;
use crate::schema::root_type;
use serde_json::json;

fn deploy() -> TypeRef {
    root_type("apps", "v1", "Deployment").unwrap()
}

fn pod() -> TypeRef {
    root_type("", "v1", "Pod").unwrap()
}

fn smp(original: Value, patch: Value, ty: TypeRef) -> Value {
    strategic_merge(&original, &patch, ty).unwrap()
}

fn pod_with(containers: Value) -> Value {
    json!({"spec": {"containers": containers}})
}

#[test]
fn null_deletes_maps_merge_scalars_replace() {
    let out = smp(
        json!({"metadata": {"labels": {"a": "1", "b": "2"}, "name": "x"}, "spec": {"replicas": 1}}),
        json!({"metadata": {"labels": {"a": null, "c": "3"}}, "spec": {"replicas": 4}}),
        deploy(),
    );
    assert_eq!(
        out,
        json!({"metadata": {"labels": {"b": "2", "c": "3"}, "name": "x"}, "spec": {"replicas": 4}})
    );
}

#[test]
fn null_for_absent_key_is_ignored_and_new_values_drop_nulls() {
    let out = smp(
        json!({"spec": {}}),
        json!({"spec": {"paused": null, "strategy": {"type": "Recreate", "rollingUpdate": null}}}),
        deploy(),
    );
    assert_eq!(out, json!({"spec": {"strategy": {"type": "Recreate"}}}));
}

#[test]
fn merge_list_merges_items_by_key_and_appends_new_ones() {
    let out = smp(
        pod_with(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}])),
        pod_with(json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"}])),
        pod(),
    );
    // Patch order wins for named items; "a" keeps its live place before "b".
    assert_eq!(
        out,
        pod_with(json!([
            {"name": "a", "image": "x"},
            {"name": "b", "image": "z"},
            {"name": "c", "image": "w"}
        ]))
    );
}

#[test]
fn nested_merge_lists_merge_recursively() {
    let out = smp(
        pod_with(
            json!([{"name": "a", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80}]}]),
        ),
        pod_with(
            json!([{"name": "a", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 80, "name": "http"}]}]),
        ),
        pod(),
    );
    // Upstream `mergeSortedSlice` puts a patch item that is not live (Y) before a live-only
    // item (X): the live-only item goes first only when both are live and it came first.
    assert_eq!(
        out,
        pod_with(json!([{
            "name": "a",
            "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}],
            "ports": [{"containerPort": 80, "name": "http"}]
        }]))
    );
}

#[test]
fn lists_without_strategy_are_replaced() {
    let out = smp(
        pod_with(json!([{"name": "a", "args": ["1", "2"], "tolerations": []}])),
        pod_with(json!([{"name": "a", "args": ["3"]}])),
        pod(),
    );
    assert_eq!(out["spec"]["containers"][0]["args"], json!(["3"]));
    let out = smp(
        json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
        json!({"spec": {"tolerations": [{"key": "c"}]}}),
        pod(),
    );
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "c"}]));
}

#[test]
fn primitive_merge_lists_are_unioned() {
    let out = smp(
        json!({"metadata": {"finalizers": ["a", "b"]}}),
        json!({"metadata": {"finalizers": ["c", "a"]}}),
        pod(),
    );
    // Patch items keep patch order ("c" before "a"); "b" is live-only and after "a" live.
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
}

#[test]
fn delete_from_primitive_list() {
    let out = smp(
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}}),
        pod(),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    let err = strategic_merge(
        &json!({}),
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "b"}}),
        pod(),
    );
    assert!(matches!(err, Err(Error::BadPrimitiveList(_))));
}

#[test]
fn patch_delete_item_removes_matching_entries() {
    let out = smp(
        pod_with(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])),
        pod_with(json!([{"$patch": "delete", "name": "b"}])),
        pod(),
    );
    assert_eq!(out, pod_with(json!([{"name": "a"}, {"name": "c"}])));
}

#[test]
fn patch_replace_item_replaces_the_whole_list() {
    let out = smp(
        pod_with(json!([{"name": "a", "image": "x"}, {"name": "b"}])),
        pod_with(json!([{"name": "c", "image": "z"}, {"$patch": "replace"}])),
        pod(),
    );
    assert_eq!(out, pod_with(json!([{"name": "c", "image": "z"}])));
}

#[test]
fn map_directives_replace_delete_merge() {
    let live = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let replaced =
        smp(live.clone(), json!({"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}}), deploy());
    assert_eq!(replaced, json!({"spec": {"strategy": {"type": "Recreate"}}}));
    let deleted = smp(live.clone(), json!({"spec": {"strategy": {"$patch": "delete"}}}), deploy());
    assert_eq!(deleted, json!({"spec": {"strategy": {}}}));
    let merged =
        smp(live.clone(), json!({"spec": {"strategy": {"$patch": "merge", "type": "Recreate"}}}), deploy());
    assert_eq!(merged, json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}}));
    let bad = strategic_merge(&live, &json!({"spec": {"$patch": "explode"}}), deploy());
    assert!(matches!(bad, Err(Error::BadPatchType { .. })));
}

#[test]
fn retain_keys_drops_unlisted_keys_after_merge() {
    let out = smp(
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        deploy(),
    );
    assert_eq!(out, json!({"spec": {"strategy": {"type": "Recreate"}}}));
    let err = strategic_merge(
        &json!({}),
        &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}),
        deploy(),
    );
    assert!(matches!(err, Err(Error::BadRetainKeys(_))));
    let err = strategic_merge(&json!({}), &json!({"spec": {"strategy": {"$retainKeys": "type"}}}), deploy());
    assert!(matches!(err, Err(Error::BadRetainKeys(_))));
}

#[test]
fn retain_keys_on_volume_items_switch_the_source() {
    let out = smp(
        json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}}),
        json!({"spec": {"volumes": [{"$retainKeys": ["hostPath", "name"], "name": "v", "hostPath": {"path": "/x"}}]}}),
        pod(),
    );
    assert_eq!(out, json!({"spec": {"volumes": [{"name": "v", "hostPath": {"path": "/x"}}]}}));
}

#[test]
fn set_element_order_reorders_and_interleaves_live_only_items() {
    let out = smp(
        pod_with(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}])),
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "new"}]
        }}),
        pod(),
    );
    // "b" is not in the order list: it stays before "c" as it was live.
    assert_eq!(out, pod_with(json!([{"name": "b"}, {"name": "c", "image": "new"}, {"name": "a"}])));
}

#[test]
fn set_element_order_without_a_patch_list_only_reorders() {
    let out = smp(
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}}),
        pod(),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "b", "a"]));
}

#[test]
fn set_element_order_must_agree_with_the_patch_list() {
    let err = strategic_merge(
        &pod_with(json!([{"name": "a"}, {"name": "b"}])),
        &json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b"}, {"name": "a"}]
        }}),
        pod(),
    );
    assert!(matches!(err, Err(Error::BadSetElementOrder(_))));
    let err =
        strategic_merge(&json!({}), &json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}), pod());
    assert!(matches!(err, Err(Error::BadSetElementOrder(_))));
}

#[test]
fn directives_in_new_values_never_leak() {
    let out = smp(
        pod_with(json!([{"name": "a"}])),
        pod_with(json!([{
            "name": "n",
            "$setElementOrder/env": [{"name": "E"}],
            "env": [{"name": "E", "value": "1"}, {"$patch": "delete", "name": "gone"}],
            "resources": {"$patch": "replace", "limits": {"cpu": "1"}},
            "securityContext": {"$retainKeys": ["privileged"], "privileged": true}
        }])),
        pod(),
    );
    assert_eq!(
        out,
        pod_with(json!([
            {"name": "n", "env": [{"name": "E", "value": "1"}], "resources": {"limits": {"cpu": "1"}}, "securityContext": {"privileged": true}},
            {"name": "a"}
        ]))
    );
    let text = out.to_string();
    assert!(!text.contains('$'), "{text}");
}

#[test]
fn new_delete_map_is_omitted() {
    let out = smp(json!({"spec": {}}), json!({"spec": {"strategy": {"$patch": "delete"}}}), deploy());
    assert_eq!(out, json!({"spec": {}}));
}

#[test]
fn unknown_fields_merge_maps_and_replace_lists() {
    let out = smp(
        json!({"spec": {"x": {"a": 1, "l": [1, 2]}}}),
        json!({"spec": {"x": {"b": 2, "l": [3]}}}),
        deploy(),
    );
    assert_eq!(out, json!({"spec": {"x": {"a": 1, "b": 2, "l": [3]}}}));
}

#[test]
fn numbers_match_across_int_and_float_encodings() {
    let out = smp(
        pod_with(json!([{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 443}]}])),
        pod_with(json!([{"name": "a", "ports": [{"$patch": "delete", "containerPort": 443.0}]}])),
        pod(),
    );
    assert_eq!(out["spec"]["containers"][0]["ports"], json!([{"containerPort": 80}]));
}

#[test]
fn malformed_patches_are_errors() {
    let live = pod_with(json!([{"name": "a"}]));
    let cases = [
        json!([1]),
        json!({"spec": {"containers": [{"image": "no-name"}]}}),
        json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        json!({"spec": {"containers": [{"$patch": "sideways", "name": "a"}]}}),
        json!({"spec": {"$bogus": 1}}),
        json!({"metadata": {"finalizers": ["a", 1]}}),
        json!({"spec": {"containers": [[1]]}}),
    ];
    for patch in cases {
        assert!(strategic_merge(&live, &patch, pod()).is_err(), "{patch}");
    }
    assert_eq!(strategic_merge(&json!(3), &json!({}), pod()), Err(Error::NotAnObject("original")));
}

#[test]
fn merge_list_of_maps_needs_a_declared_key() {
    // An unknown list is replaced, never merged, so it needs no key.
    let out = smp(json!({"x": [{"a": 1}]}), json!({"x": [{"b": 2}]}), TypeRef::Untyped);
    assert_eq!(out, json!({"x": [{"b": 2}]}));
}

#[test]
fn the_original_is_left_untouched() {
    let live = pod_with(json!([{"name": "a"}]));
    let before = live.clone();
    smp(live.clone(), pod_with(json!([{"name": "b"}])), pod());
    assert_eq!(live, before);
}

#[test]
fn kubectl_style_primitive_list_patch_adds_removes_and_orders() {
    let out = smp(
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "$setElementOrder/finalizers": ["a", "c", "d"],
            "finalizers": ["d"]
        }}),
        pod(),
    );
    assert_eq!(out, json!({"metadata": {"finalizers": ["a", "c", "d"]}}));
}
