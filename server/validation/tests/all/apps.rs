//! Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController and
//! ControllerRevision.

use serde_json::json;

use crate::support::{assert_has, assert_valid, create_errors, remove, set, update_errors};
use crate::valid_objects::{daemon_set, deployment, replica_set, replication_controller, stateful_set};

const MISMATCH: &str = "`selector` does not match template `labels`";

#[test]
fn selector_is_required() {
    let mut d = deployment();
    remove(&mut d, "/spec/selector");
    let errs = create_errors("apps", "Deployment", d);
    assert_has(&errs, "spec.selector: Required value");
    assert_has(
        &errs,
        &format!(
            "spec.template.metadata.labels: Invalid value: map[string]string{{\"app\":\"web\", \"tier\":\"frontend\"}}: {MISMATCH}"
        ),
    );
}

#[test]
fn selector_must_match_template_labels() {
    let mut d = deployment();
    set(&mut d, "/spec/selector", json!({"matchLabels": {"app": "api"}}));
    assert_has(
        &create_errors("apps", "Deployment", d),
        &format!(
            "spec.template.metadata.labels: Invalid value: map[string]string{{\"app\":\"web\", \"tier\":\"frontend\"}}: {MISMATCH}"
        ),
    );
    let mut rs = replica_set();
    set(&mut rs, "/spec/selector/matchExpressions/0/operator", json!("NotIn"));
    assert_has(
        &create_errors("apps", "ReplicaSet", rs),
        &format!(
            "spec.template.metadata.labels: Invalid value: map[string]string{{\"app\":\"web\", \"tier\":\"frontend\"}}: {MISMATCH}"
        ),
    );
}

#[test]
fn empty_selector_is_invalid() {
    let mut d = deployment();
    set(&mut d, "/spec/selector", json!({}));
    assert_has(
        &create_errors("apps", "Deployment", d),
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
    );
}

#[test]
fn selector_expressions_are_validated() {
    let mut d = deployment();
    set(
        &mut d,
        "/spec/selector",
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Near", "values": ["x"]}]}),
    );
    let errs = create_errors("apps", "Deployment", d);
    assert_has(
        &errs,
        "spec.selector.matchExpressions[0].operator: Invalid value: \"Near\": not a valid selector operator",
    );
    assert!(errs.iter().any(|e| e.field == "spec.selector" && e.detail == "invalid label selector"));
}

#[test]
fn replicas_and_counts_are_non_negative() {
    let mut d = deployment();
    set(&mut d, "/spec/replicas", json!(-1));
    d["spec"]["revisionHistoryLimit"] = json!(-2);
    d["spec"]["minReadySeconds"] = json!(700);
    let errs = create_errors("apps", "Deployment", d);
    assert_has(&errs, "spec.replicas: Invalid value: -1: must be greater than or equal to 0");
    assert_has(&errs, "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0");
    assert_has(
        &errs,
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
    );
}

#[test]
fn rolling_update_needs_surge_or_unavailability() {
    let mut d = deployment();
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}});
    assert_has(
        &create_errors("apps", "Deployment", d.clone()),
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0",
    );
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x", "maxUnavailable": "150%"}});
    let errs = create_errors("apps", "Deployment", d.clone());
    assert_has(
        &errs,
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: x: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    assert_has(
        &errs,
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%",
    );
    d["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}});
    assert_has(
        &create_errors("apps", "Deployment", d),
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    );
}

#[test]
fn templates_must_restart_always() {
    let mut d = deployment();
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    d["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(10);
    let errs = create_errors("apps", "Deployment", d);
    assert_has(
        &errs,
        "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
    );
    assert_has(
        &errs,
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in Deployment is not Supported",
    );
}

#[test]
fn selectors_are_immutable_on_update() {
    let old = deployment();
    let mut new = old.clone();
    set(&mut new, "/spec/selector", json!({"matchLabels": {"app": "web", "tier": "frontend"}}));
    assert_has(
        &update_errors("apps", "Deployment", old, new),
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"frontend\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
    );

    let old = daemon_set();
    let mut new = old.clone();
    set(&mut new, "/spec/selector/matchLabels/app", json!("agent2"));
    set(&mut new, "/spec/template/metadata/labels/app", json!("agent2"));
    assert_has(
        &update_errors("apps", "DaemonSet", old, new),
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"agent2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
    );

    let old = replica_set();
    let mut new = old.clone();
    set(&mut new, "/spec/replicas", json!(5));
    assert_valid(&update_errors("apps", "ReplicaSet", old, new));
}

#[test]
fn statefulset_rules() {
    let mut s = stateful_set();
    s["spec"]["podManagementPolicy"] = json!("Random");
    s["spec"]["updateStrategy"] = json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}});
    s["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenDeleted": "Keep"});
    let errs = create_errors("apps", "StatefulSet", s);
    assert_has(
        &errs,
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
    );
    assert!(errs.iter().any(|e| e.field == "spec.updateStrategy.rollingUpdate"
        && e.detail == "only allowed for updateStrategy 'RollingUpdate'"));
    assert_has(
        &errs,
        "spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
    );

    let old = stateful_set();
    let mut new = old.clone();
    set(&mut new, "/spec/serviceName", json!("other"));
    assert_has(
        &update_errors("apps", "StatefulSet", old.clone(), new),
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    let mut scaled = old.clone();
    set(&mut scaled, "/spec/replicas", json!(5));
    assert_valid(&update_errors("apps", "StatefulSet", old, scaled));
}

#[test]
fn daemonset_strategy() {
    let mut ds = daemon_set();
    ds["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
    assert_has(
        &create_errors("apps", "DaemonSet", ds.clone()),
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
    );
    ds["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "10%"}});
    assert_has(
        &create_errors("apps", "DaemonSet", ds),
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 10%: may not be set when maxUnavailable is non-zero",
    );
}

#[test]
fn replication_controller_rules() {
    let mut rc = replication_controller();
    rc["spec"]["selector"] = json!({"app": "other"});
    rc["spec"]["replicas"] = json!(-3);
    let errs = create_errors("", "ReplicationController", rc);
    assert_has(
        &errs,
        &format!(
            "spec.template.metadata.labels: Invalid value: map[string]string{{\"app\":\"legacy\"}}: {MISMATCH}"
        ),
    );
    assert_has(&errs, "spec.replicas: Invalid value: -3: must be greater than or equal to 0");
}

#[test]
fn controller_revision_data_is_required_and_immutable() {
    let cr = json!({"metadata": {"name": "r", "namespace": "d"}, "revision": 1});
    assert_has(
        &create_errors("apps", "ControllerRevision", cr.clone()),
        "data: Required value: data is mandatory",
    );
    let old = json!({"metadata": {"name": "r", "namespace": "d"}, "revision": 1, "data": {"a": "1"}});
    let mut new = old.clone();
    new["data"] = json!({"a": "2"});
    let errs = update_errors("apps", "ControllerRevision", old, new);
    assert!(errs.iter().any(|e| e.field == "data" && e.detail == "field is immutable"));
}

#[test]
fn replica_set_selector_is_immutable() {
    let old = replica_set();
    let mut new = old.clone();
    set(&mut new, "/spec/selector", json!({"matchLabels": {"app": "web"}}));
    let errs = update_errors("apps", "ReplicaSet", old, new);
    assert!(errs.iter().any(|e| e.field == "spec.selector" && e.detail == "field is immutable"));
}
