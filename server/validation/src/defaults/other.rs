//! Defaults of the kinds outside the core, apps and batch groups.

use serde_json::{Value, json};

use crate::json::{arr, child_mut, each_mut, ensure_obj, get, s, set_default};

/// `SetDefaults_NetworkPolicyPort` and `SetDefaults_NetworkPolicy`.
pub fn network_policy(obj: &mut Value) {
    let spec = ensure_obj(obj, "spec");
    for dir in ["ingress", "egress"] {
        each_mut(spec, dir, |rule| {
            each_mut(rule, "ports", |p| set_default(p, "protocol", json!("TCP")));
        });
    }
    if arr(spec, "policyTypes").is_empty() {
        let mut types = vec![json!("Ingress")];
        if !arr(spec, "egress").is_empty() {
            types.push(json!("Egress"));
        }
        spec["policyTypes"] = Value::Array(types);
    }
}

/// `SetDefaults_EndpointPort` (discovery/v1).
pub fn endpoint_slice(obj: &mut Value) {
    each_mut(obj, "ports", |p| {
        set_default(p, "name", json!(""));
        set_default(p, "protocol", json!("TCP"));
    });
}

/// autoscaling defaults: v1 only defaults `minReplicas`; v2 also adds the
/// 80% CPU metric when no metric is given and completes a given `behavior`.
pub fn horizontal_pod_autoscaler(obj: &mut Value) {
    let v1 = s(obj, "apiVersion") == "autoscaling/v1";
    let spec = ensure_obj(obj, "spec");
    set_default(spec, "minReplicas", json!(1));
    if v1 {
        return;
    }
    if arr(spec, "metrics").is_empty() {
        spec["metrics"] = json!([{
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
        }]);
    }
    if let Some(behavior) = child_mut(spec, "behavior") {
        let up = json!({
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]
        });
        let down = json!({
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        });
        scaling_rules(behavior, "scaleUp", up);
        scaling_rules(behavior, "scaleDown", down);
    }
}

/// `copyHPAScalingRules`: user fields win, missing ones come from the defaults.
fn scaling_rules(behavior: &mut Value, key: &str, defaults: Value) {
    if get(behavior, key).is_none() {
        behavior[key] = defaults;
        return;
    }
    let rules = ensure_obj(behavior, key);
    for field in ["stabilizationWindowSeconds", "selectPolicy", "policies"] {
        set_default(rules, field, defaults[field].clone());
    }
}
