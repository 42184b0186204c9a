use super::*;
use crate::schema::root_type;
use serde_json::json;

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-01T00:01:00Z";

fn deploy() -> TypeRef {
    root_type("apps", "v1", "Deployment").unwrap()
}

fn config(replicas: i64, labels: Value, containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa", "namespace": "default", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}}
        }
    })
}

fn nginx() -> Value {
    json!([{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}])
}

fn entries(obj: &Value) -> Vec<ManagedEntry> {
    decode_managed_fields(obj).unwrap()
}

#[test]
fn create_via_apply_records_one_apply_entry() {
    let applied = config(2, json!({"app": "web"}), nginx());
    let out = server_side_apply(None, &applied, "kubectl", false, deploy(), T1).unwrap();
    assert_eq!(without_managed_fields(&out), applied);
    let expected = json!([{
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": T1,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}
                }
            }
        }
    }]);
    assert_eq!(out["metadata"]["managedFields"], expected);
}

#[test]
fn reapply_without_a_field_removes_it() {
    let two = json!([{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]);
    let first = config(2, json!({"app": "web", "tier": "x"}), two);
    let live = server_side_apply(None, &first, "mgr", false, deploy(), T1).unwrap();
    let second = config(2, json!({"app": "web"}), json!([{"name": "nginx", "image": "nginx:1.25"}]));
    let out = server_side_apply(Some(&live), &second, "mgr", false, deploy(), T2).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx:1.25"}])
    );
    assert_eq!(entries(&out).len(), 1);
}

#[test]
fn removed_fields_stay_when_another_manager_owns_them() {
    let a = config(2, json!({"app": "web", "tier": "x"}), nginx());
    let live = server_side_apply(None, &a, "a", false, deploy(), T1).unwrap();
    let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa", "labels": {"tier": "x"}}});
    let live = server_side_apply(Some(&live), &b, "b", false, deploy(), T1).unwrap();
    let a2 = config(2, json!({"app": "web"}), nginx());
    let out = server_side_apply(Some(&live), &a2, "a", false, deploy(), T2).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "tier": "x"}));
}

#[test]
fn conflicting_managers_get_an_error_listing_the_field() {
    let live = server_side_apply(None, &config(2, json!({"app": "web"}), nginx()), "a", false, deploy(), T1)
        .unwrap();
    let err =
        server_side_apply(Some(&live), &config(3, json!({"app": "web"}), nginx()), "b", false, deploy(), T2)
            .unwrap_err();
    let ApplyError::Conflict(conflicts) = &err else { panic!("{err:?}") };
    assert_eq!(
        conflicts,
        &[Conflict {
            manager: "a".into(),
            manager_description: "\"a\"".into(),
            field_path: ".spec.replicas".into()
        }]
    );
    assert_eq!(err.to_string(), "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas");
    assert_eq!(conflicts[0].cause_message(), "conflict with \"a\"");
    assert_eq!(conflicts[0].to_string(), "conflict with \"a\": .spec.replicas");
}

#[test]
fn same_value_is_shared_not_conflicting() {
    let c = config(2, json!({"app": "web"}), nginx());
    let live = server_side_apply(None, &c, "a", false, deploy(), T1).unwrap();
    let out = server_side_apply(Some(&live), &c, "b", false, deploy(), T2).unwrap();
    let all = entries(&out);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].fields, all[1].fields);
}

#[test]
fn force_moves_ownership() {
    let live = server_side_apply(None, &config(2, json!({"app": "web"}), nginx()), "a", false, deploy(), T1)
        .unwrap();
    let out =
        server_side_apply(Some(&live), &config(3, json!({"app": "web"}), nginx()), "b", true, deploy(), T2)
            .unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    let all = entries(&out);
    let replicas = [PathElement::Field("spec".into()), PathElement::Field("replicas".into())];
    let a = all.iter().find(|e| e.manager == "a").unwrap();
    let b = all.iter().find(|e| e.manager == "b").unwrap();
    assert!(!a.fields.contains(&replicas));
    assert!(b.fields.contains(&replicas));
}

#[test]
fn list_map_items_from_two_managers_merge() {
    let live = server_side_apply(None, &config(2, json!({"app": "web"}), nginx()), "a", false, deploy(), T1)
        .unwrap();
    let side = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ssa"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}
    });
    let out = server_side_apply(Some(&live), &side, "b", false, deploy(), T2).unwrap();
    let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "side"]);
    // a re-applies without knowing about "side": it stays, b owns it.
    let out =
        server_side_apply(Some(&out), &config(2, json!({"app": "web"}), nginx()), "a", false, deploy(), T2)
            .unwrap();
    assert_eq!(out["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 2);
}

#[test]
fn noop_reapply_keeps_the_timestamp() {
    let c = config(2, json!({"app": "web"}), nginx());
    let live = server_side_apply(None, &c, "a", false, deploy(), T1).unwrap();
    let out = server_side_apply(Some(&live), &c, "a", false, deploy(), T2).unwrap();
    assert_eq!(out, live);
}

#[test]
fn objects_without_managed_fields_belong_to_before_first_apply() {
    let live = config(2, json!({"app": "web"}), nginx());
    let err =
        server_side_apply(Some(&live), &config(3, json!({"app": "web"}), nginx()), "a", false, deploy(), T1)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
    let out = server_side_apply(Some(&live), &live, "a", false, deploy(), T1).unwrap();
    assert_eq!(entries(&out).len(), 2);
}

#[test]
fn status_and_server_metadata_are_neither_applied_nor_owned() {
    let live = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ssa", "uid": "u1", "resourceVersion": "5", "generation": 3},
        "status": {"replicas": 1}
    });
    let mut c = config(2, json!({"app": "web"}), nginx());
    c["status"] = json!({"replicas": 9});
    c["metadata"]["resourceVersion"] = json!("4");
    c["metadata"]["managedFields"] = json!([{"manager": "x"}]);
    let out = server_side_apply(Some(&live), &c, "a", false, deploy(), T1).unwrap();
    assert_eq!(out["status"], json!({"replicas": 1}));
    assert_eq!(out["metadata"]["resourceVersion"], "5");
    assert_eq!(out["metadata"]["uid"], "u1");
    let fields = &out["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(fields.get("f:status").is_none() && fields.get("f:apiVersion").is_none());
    assert_eq!(fields["f:metadata"], json!({"f:labels": {"f:app": {}}}));
}

#[test]
fn update_then_apply_conflict_names_the_updater_with_its_version() {
    let created = config(2, json!({"app": "web"}), nginx());
    let live = record_update(None, &created, "kubectl-client-side-apply", None, deploy(), T1).unwrap();
    let err = server_side_apply(
        Some(&live),
        &config(3, json!({"app": "web"}), nginx()),
        "other",
        false,
        deploy(),
        T2,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn several_conflicts_are_grouped_by_manager() {
    let live =
        record_update(None, &config(2, json!({"app": "web"}), nginx()), "csa", None, deploy(), T1).unwrap();
    let changed = config(3, json!({"app": "web2"}), nginx());
    let err = server_side_apply(Some(&live), &changed, "other", false, deploy(), T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"csa\" using apps/v1:\n- .metadata.labels.app\n- .spec.replicas"
    );
}

#[test]
fn kubectl_may_take_over_fields_last_applied_client_side() {
    let mut created = config(2, json!({"app": "web"}), nginx());
    created["metadata"]["annotations"] = json!({(last_applied::LAST_APPLIED): created.to_string()});
    let live = record_update(None, &created, "kubectl-client-side-apply", None, deploy(), T1).unwrap();
    let applied = config(3, json!({"app": "web"}), nginx());
    let out = server_side_apply(Some(&live), &applied, "kubectl", false, deploy(), T2).unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    let annotation = out["metadata"]["annotations"][last_applied::LAST_APPLIED].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(annotation).unwrap(), applied);
    // Any other manager name still conflicts.
    assert!(server_side_apply(Some(&live), &applied, "kubectl-x", false, deploy(), T2).is_err());
}

#[test]
fn record_update_moves_changed_fields_to_the_writer() {
    let live = record_update(None, &config(2, json!({"app": "web"}), nginx()), "creator", None, deploy(), T1)
        .unwrap();
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    let out = record_update(Some(&live), &scaled, "kubectl", Some("scale"), deploy(), T2).unwrap();
    let all = entries(&out);
    let replicas = [PathElement::Field("spec".into()), PathElement::Field("replicas".into())];
    let scaler = all.iter().find(|e| e.manager == "kubectl").unwrap();
    assert_eq!(scaler.subresource.as_deref(), Some("scale"));
    assert_eq!(scaler.time.as_deref(), Some(T2));
    assert_eq!(scaler.fields.paths(), vec![replicas.to_vec()]);
    assert!(!all.iter().find(|e| e.manager == "creator").unwrap().fields.contains(&replicas));
    assert_eq!(scaler.describe(), "\"kubectl\" with subresource \"scale\" using apps/v1");
}

#[test]
fn record_update_of_status_only_tracks_status() {
    let live = record_update(None, &config(2, json!({"app": "web"}), nginx()), "creator", None, deploy(), T1)
        .unwrap();
    let mut with_status = live.clone();
    with_status["status"] = json!({"replicas": 2});
    with_status["spec"]["replicas"] = json!(9);
    let out = record_update(Some(&live), &with_status, "controller", Some("status"), deploy(), T2).unwrap();
    let ctrl = entries(&out).into_iter().find(|e| e.manager == "controller").unwrap();
    assert_eq!(ctrl.fields.to_fields_v1(), json!({"f:status": {".": {}, "f:replicas": {}}}));
}

#[test]
fn record_update_honours_managed_fields_set_by_the_client() {
    let live = record_update(None, &config(2, json!({"app": "web"}), nginx()), "creator", None, deploy(), T1)
        .unwrap();
    let mut reset = live.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let out = record_update(Some(&live), &reset, "x", None, deploy(), T2).unwrap();
    assert!(out["metadata"].get("managedFields").is_none());
    let mut edited = live.clone();
    edited["metadata"]["managedFields"][0]["manager"] = json!("renamed");
    let out = record_update(Some(&live), &edited, "x", None, deploy(), T2).unwrap();
    assert_eq!(out["metadata"]["managedFields"][0]["manager"], "renamed");
    let mut dropped = live.clone();
    dropped["metadata"].as_object_mut().unwrap().remove("managedFields");
    let out = record_update(Some(&live), &dropped, "x", None, deploy(), T2).unwrap();
    assert_eq!(out["metadata"]["managedFields"], live["metadata"]["managedFields"]);
}

#[test]
fn malformed_inputs_are_errors() {
    assert!(matches!(
        server_side_apply(None, &json!([1]), "a", false, deploy(), T1),
        Err(ApplyError::InvalidObject(_))
    ));
    let keyless = config(1, json!({}), json!([{"image": "x"}]));
    assert!(matches!(
        server_side_apply(None, &keyless, "a", false, deploy(), T1),
        Err(ApplyError::InvalidObject(_))
    ));
    let broken = json!({"metadata": {"managedFields": [{"manager": "m", "operation": "Apply", "fieldsV1": {"q": {}}}]}});
    assert!(matches!(
        server_side_apply(Some(&broken), &config(1, json!({}), nginx()), "a", false, deploy(), T1),
        Err(ApplyError::ManagedFields(_))
    ));
}
