//! Which nodes a DaemonSet's pod belongs on (upstream `NodeShouldRunDaemonPod`): node name,
//! nodeSelector and required node affinity, and taints against the pod's tolerations plus
//! those every daemon pod gets.

use serde_json::{Value, json};
use wasmkube_api::meta;
use wasmkube_api::taints::{Effect, Taint, Toleration, tolerated};

/// Tolerations upstream adds to every daemon pod, so that node conditions do not evict them.
const DAEMON_TOLERATIONS: &[(&str, &str)] = &[
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];
const NETWORK_UNAVAILABLE: (&str, &str) = ("node.kubernetes.io/network-unavailable", "NoSchedule");

/// `AddOrUpdateDaemonPodTolerations` on a pod spec.
pub(crate) fn add_daemon_tolerations(spec: &mut Value) {
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    let extra = host_network.then_some(NETWORK_UNAVAILABLE);
    for (key, effect) in DAEMON_TOLERATIONS.iter().copied().chain(extra) {
        let t = json!({"key": key, "operator": "Exists", "effect": effect});
        match spec.get_mut("tolerations").and_then(Value::as_array_mut) {
            Some(list) => {
                list.retain(|x| !(x["key"] == key && x["effect"] == effect));
                list.push(t);
            }
            None => spec["tolerations"] = json!([t]),
        }
    }
}

/// `ReplaceDaemonSetPodNodeNameNodeAffinity`: the pod may only land on `node`.
pub(crate) fn pin_to_node(spec: &mut Value, node: &str) {
    let term = json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]);
    let required = &mut spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    if required.is_object() {
        required["nodeSelectorTerms"] = term;
    } else {
        *required = json!({"nodeSelectorTerms": term});
    }
}

/// The node a daemon pod is meant for: its nodeName, or the node its affinity pins it to.
pub(crate) fn target_node(pod: &Value) -> Option<&str> {
    let name = crate::pods::node_name(pod);
    if !name.is_empty() {
        return Some(name);
    }
    let terms = pod.pointer(
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
    )?;
    terms.as_array()?.iter().find_map(|t| {
        t.get("matchFields")?.as_array()?.iter().find_map(|f| {
            let values = f.get("values")?.as_array()?;
            (f["key"] == "metadata.name" && f["operator"] == "In" && values.len() == 1)
                .then(|| values[0].as_str())?
        })
    })
}

fn requirement_matches(req: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> =
        req.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let num = |v: &str| v.parse::<i64>().ok();
    match req.get("operator").and_then(Value::as_str) {
        Some("In") => value.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => value.is_none_or(|v| !values.contains(&v)),
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        Some("Gt") => {
            value.and_then(num).zip(values.first().and_then(|v| num(v))).is_some_and(|(a, b)| a > b)
        }
        Some("Lt") => {
            value.and_then(num).zip(values.first().and_then(|v| num(v))).is_some_and(|(a, b)| a < b)
        }
        _ => false,
    }
}

fn term_matches(term: &Value, node: &Value) -> bool {
    let exprs = term.get("matchExpressions").and_then(Value::as_array);
    let fields = term.get("matchFields").and_then(Value::as_array);
    if exprs.is_none_or(Vec::is_empty) && fields.is_none_or(Vec::is_empty) {
        return false; // an empty term matches nothing
    }
    let label = |k: &str| meta::labels(node).and_then(|l| l.get(k)).and_then(Value::as_str);
    exprs.into_iter().flatten().all(|r| requirement_matches(r, label(r["key"].as_str().unwrap_or(""))))
        && fields.into_iter().flatten().all(|r| {
            let v = (r["key"] == "metadata.name").then(|| meta::name(node));
            requirement_matches(r, v)
        })
}

/// nodeSelector and required node affinity (`GetRequiredNodeAffinity(pod).Match(node)`).
fn affinity_matches(spec: &Value, node: &Value) -> bool {
    let selector_ok = spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| meta::labels(node).and_then(|l| l.get(k)) == Some(v));
    let terms = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms");
    selector_ok && terms.and_then(Value::as_array).is_none_or(|ts| ts.iter().any(|t| term_matches(t, node)))
}

/// Whether some taint with one of `effects` is not tolerated.
fn untolerated(spec: &Value, node: &Value, effects: &[Effect]) -> bool {
    let tolerations = Toleration::parse_list(spec.get("tolerations"));
    Taint::parse_list(node.pointer("/spec/taints"))
        .iter()
        .filter(|t| effects.contains(&t.effect))
        .any(|taint| !tolerated(&tolerations, taint))
}

/// (should run, should continue running) for a pod of `spec` (with daemon tolerations) on `node`.
pub(crate) fn should_run(spec: &Value, node: &Value) -> (bool, bool) {
    let name = spec.get("nodeName").and_then(Value::as_str).unwrap_or("");
    if !(name.is_empty() || name == meta::name(node)) || !affinity_matches(spec, node) {
        return (false, false);
    }
    if untolerated(spec, node, &[Effect::NoSchedule, Effect::NoExecute]) {
        return (false, !untolerated(spec, node, &[Effect::NoExecute]));
    }
    (true, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, labels: Value, taints: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}})
    }

    fn daemon_spec(extra: Value) -> Value {
        let mut spec = json!({"containers": []});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        add_daemon_tolerations(&mut spec);
        spec
    }

    #[test]
    fn selectors_and_affinity_pick_nodes() {
        let n = node("n1", json!({"disk": "ssd", "cores": "8"}), json!([]));
        assert!(should_run(&daemon_spec(json!({})), &n).0);
        assert!(should_run(&daemon_spec(json!({"nodeSelector": {"disk": "ssd"}})), &n).0);
        assert!(!should_run(&daemon_spec(json!({"nodeSelector": {"disk": "hdd"}})), &n).0);
        let aff = |op: &str, values: Value| {
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "cores", "operator": op, "values": values}]}]}}}})
        };
        assert!(should_run(&daemon_spec(aff("Gt", json!(["4"]))), &n).0);
        assert!(!should_run(&daemon_spec(aff("Lt", json!(["4"]))), &n).0);
        assert!(should_run(&daemon_spec(aff("NotIn", json!(["2"]))), &n).0);
        let mut pinned = daemon_spec(json!({}));
        pin_to_node(&mut pinned, "n2");
        assert!(!should_run(&pinned, &n).0);
        assert_eq!(target_node(&json!({"spec": pinned})), Some("n2"));
    }

    #[test]
    fn daemon_pods_tolerate_node_conditions_but_not_other_taints() {
        let unschedulable = node(
            "n",
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
        );
        assert_eq!(should_run(&daemon_spec(json!({})), &unschedulable), (true, true));
        let dedicated =
            node("n", json!({}), json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]));
        assert_eq!(
            should_run(&daemon_spec(json!({})), &dedicated),
            (false, true),
            "NoSchedule keeps running pods"
        );
        let evicting =
            node("n", json!({}), json!([{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]));
        assert_eq!(should_run(&daemon_spec(json!({})), &evicting), (false, false));
        let tolerant =
            daemon_spec(json!({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]}));
        assert_eq!(should_run(&tolerant, &evicting), (true, true));
        let spec = daemon_spec(json!({}));
        assert_eq!(spec["tolerations"].as_array().unwrap().len(), 6);
    }
}
