//! ResourceQuota accounting: what one object counts against a quota (upstream's quota
//! evaluators), whether a quota's scopes cover it, and what a pod must specify when a quota
//! tracks cpu or memory. Shared by the API server's admission and the quota controller.

use crate::ResourceDef;
use crate::quantity::Quantity;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Resource name -> amount, ordered as upstream prints them.
pub type ResourceList = BTreeMap<String, Quantity>;

/// A `ResourceList` as JSON (`{"cpu": "500m"}`); invalid quantities are skipped.
pub fn parse_list(value: Option<&Value>) -> ResourceList {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Quantity::from_json(v)?)))
        .collect()
}

pub fn to_json(list: &ResourceList) -> Value {
    Value::Object(list.iter().map(|(k, v)| (k.clone(), json!(v.to_string()))).collect::<Map<_, _>>())
}

/// `a + b`, key by key.
pub fn add(a: &mut ResourceList, b: &ResourceList) {
    for (k, v) in b {
        let sum = a.get(k).copied().unwrap_or_else(Quantity::zero) + *v;
        a.insert(k.clone(), sum);
    }
}

/// `k=v,k=v`, as upstream's quota messages print resource lists.
pub fn pretty(list: &ResourceList) -> String {
    list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The `count/<resource>` name that counts every object of `def`.
pub fn count_name(def: &ResourceDef) -> String {
    if def.group.is_empty() {
        format!("count/{}", def.plural)
    } else {
        format!("count/{}.{}", def.plural, def.group)
    }
}

/// Whether quota may count objects of this kind at all (namespaced ones only).
pub fn is_counted(def: &ResourceDef) -> bool {
    def.namespaced && !def.plural.contains('/')
}

/// What `obj` counts against quota. Pods that finished count only towards `count/pods`, as
/// upstream's.
pub fn usage(def: &ResourceDef, obj: &Value) -> ResourceList {
    let mut used = ResourceList::new();
    let one = Quantity::from_int(1);
    match (def.group, def.plural) {
        // `count/pods` counts every pod in storage; `pods` and compute only live ones.
        ("", "pods") if !is_terminal(obj) => {
            used.insert("pods".into(), one);
            pod_compute(obj, &mut used);
        }
        ("", "services") => {
            used.insert("services".into(), one);
            let kind = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
            let ports = obj.pointer("/spec/ports").and_then(Value::as_array).map_or(0, Vec::len);
            if matches!(kind, "NodePort" | "LoadBalancer") {
                let ports = i64::try_from(ports).unwrap_or(i64::MAX);
                used.insert("services.nodeports".into(), Quantity::from_int(ports));
            }
            if kind == "LoadBalancer" {
                used.insert("services.loadbalancers".into(), one);
            }
        }
        ("", "persistentvolumeclaims") => {
            used.insert("persistentvolumeclaims".into(), one);
            let storage = parse_list(obj.pointer("/spec/resources/requests")).remove("storage");
            let storage = storage.unwrap_or_else(Quantity::zero);
            used.insert("requests.storage".into(), storage);
            let class =
                obj.pointer("/spec/storageClassName").and_then(Value::as_str).filter(|c| !c.is_empty());
            if let Some(class) = class {
                let prefix = format!("{class}.storageclass.storage.k8s.io");
                used.insert(format!("{prefix}/persistentvolumeclaims"), one);
                used.insert(format!("{prefix}/requests.storage"), storage);
            }
        }
        ("", plural @ ("configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas")) => {
            used.insert(plural.into(), one);
        }
        _ => {}
    }
    used.insert(count_name(def), one);
    used
}

fn is_terminal(pod: &Value) -> bool {
    matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"))
}

/// A pod's requests and limits as upstream's `PodRequests`/`PodLimits` add them up: the app
/// containers and restartable (sidecar) init containers run together; an ordinary init
/// container runs alone, so only the largest counts when it exceeds that sum.
fn pod_compute(pod: &Value, used: &mut ResourceList) {
    for part in ["requests", "limits"] {
        let mut total = ResourceList::new();
        let mut largest_init = ResourceList::new();
        for (c, init) in containers(pod) {
            let list = parse_list(c.pointer(&format!("/resources/{part}")));
            let sidecar = c.get("restartPolicy").and_then(Value::as_str) == Some("Always");
            if init && !sidecar {
                for (k, v) in list {
                    let e = largest_init.entry(k).or_insert_with(Quantity::zero);
                    *e = (*e).max(v);
                }
            } else {
                add(&mut total, &list);
            }
        }
        for (k, v) in largest_init {
            let e = total.entry(k).or_insert_with(Quantity::zero);
            *e = (*e).max(v);
        }
        for (k, v) in total {
            if part == "requests" && matches!(k.as_str(), "cpu" | "memory" | "ephemeral-storage") {
                used.insert(k.clone(), v); // the legacy unprefixed names mean requests
            }
            used.insert(format!("{part}.{k}"), v);
        }
    }
}

/// Every container of the pod, with whether it is an init container.
fn containers(pod: &Value) -> impl Iterator<Item = (&Value, bool)> {
    let list =
        |key: &str| pod.pointer(&format!("/spec/{key}")).and_then(Value::as_array).into_iter().flatten();
    list("containers").map(|c| (c, false)).chain(list("initContainers").map(|c| (c, true)))
}

/// Whether `quota`'s scopes (`spec.scopes`, `spec.scopeSelector`) cover `obj`. Scoped quotas
/// only ever cover pods.
pub fn covers(quota: &Value, def: &ResourceDef, obj: &Value) -> bool {
    let mut terms: Vec<(String, String, Vec<String>)> = quota
        .pointer("/spec/scopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| (s.to_string(), "Exists".to_string(), Vec::new()))
        .collect();
    for e in
        quota.pointer("/spec/scopeSelector/matchExpressions").and_then(Value::as_array).into_iter().flatten()
    {
        let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let values =
            e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
        terms.push((text("scopeName"), text("operator"), values.map(String::from).collect()));
    }
    if terms.is_empty() {
        return true;
    }
    if (def.group, def.plural) != ("", "pods") {
        return false;
    }
    terms.iter().all(|(scope, operator, values)| {
        let matched = match scope.as_str() {
            "Terminating" => obj.pointer("/spec/activeDeadlineSeconds").is_some_and(|v| !v.is_null()),
            "NotTerminating" => obj.pointer("/spec/activeDeadlineSeconds").is_none_or(Value::is_null),
            "BestEffort" => best_effort(obj),
            "NotBestEffort" => !best_effort(obj),
            "PriorityClass" => {
                let class = obj.pointer("/spec/priorityClassName").and_then(Value::as_str).unwrap_or("");
                return match operator.as_str() {
                    "In" => values.iter().any(|v| v == class),
                    "NotIn" => !values.iter().any(|v| v == class),
                    "Exists" => !class.is_empty(),
                    "DoesNotExist" => class.is_empty(),
                    _ => false,
                };
            }
            "CrossNamespacePodAffinity" => cross_namespace_affinity(obj),
            _ => false,
        };
        // The boolean scopes take `Exists` (plain `scopes`) or `In`/`NotIn` with no values.
        if operator == "NotIn" || operator == "DoesNotExist" { !matched } else { matched }
    })
}

/// No container asks for or is limited to cpu or memory (QoS class BestEffort).
fn best_effort(pod: &Value) -> bool {
    containers(pod).all(|(c, _)| {
        ["requests", "limits"].iter().all(|part| {
            let list = parse_list(c.pointer(&format!("/resources/{part}")));
            !list.contains_key("cpu") && !list.contains_key("memory")
        })
    })
}

fn cross_namespace_affinity(pod: &Value) -> bool {
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let Some(a) = pod.pointer(&format!("/spec/affinity/{kind}")) else { return false };
        let required = a.get("requiredDuringSchedulingIgnoredDuringExecution").and_then(Value::as_array);
        let preferred = a
            .get("preferredDuringSchedulingIgnoredDuringExecution")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| w.get("podAffinityTerm"));
        required.into_iter().flatten().chain(preferred).any(|t| {
            t.get("namespaceSelector").is_some_and(|s| !s.is_null())
                || t.get("namespaces").and_then(Value::as_array).is_some_and(|n| !n.is_empty())
        })
    })
}

/// Upstream's backward-compatible rule: a quota on cpu or memory makes every container state
/// that request or limit. `Err("must specify limits.cpu for: a,b; ...")` otherwise.
pub fn pod_constraints(hard: &ResourceList, pod: &Value) -> Result<(), String> {
    const ENFORCED: [&str; 6] =
        ["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for name in ENFORCED.iter().filter(|n| hard.contains_key(**n)) {
        let (part, resource) = match name.split_once('.') {
            Some((part, resource)) => (part, resource),
            None => ("requests", *name),
        };
        for (c, _) in containers(pod) {
            if !parse_list(c.pointer(&format!("/resources/{part}"))).contains_key(resource) {
                let container = c.get("name").and_then(Value::as_str).unwrap_or_default();
                missing.entry(name).or_default().insert(container.to_string());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(name, containers)| {
            format!("{name} for: {}", containers.iter().cloned().collect::<Vec<_>>().join(","))
        })
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_storage;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn a_pod_counts_its_containers_and_its_largest_init_container() {
        let pod = json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}]}});
        let used = usage(by_storage("pods").unwrap(), &pod);
        assert_eq!(used["pods"], q("1"));
        assert_eq!(used["count/pods"], q("1"));
        assert_eq!(used["requests.cpu"], q("2"), "the init container alone asks for more");
        assert_eq!(used["cpu"], q("2"));
        assert_eq!(used["requests.memory"].to_string(), "128Mi");
        assert_eq!(used["limits.memory"].to_string(), "128Mi");
        let done = json!({"spec": pod["spec"].clone(), "status": {"phase": "Succeeded"}});
        let used = usage(by_storage("pods").unwrap(), &done);
        assert_eq!(used.keys().collect::<Vec<_>>(), ["count/pods"], "finished pods hold no compute");
    }

    #[test]
    fn services_claims_and_plain_objects_count_as_upstream_counts_them() {
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 443}]}});
        let used = usage(by_storage("services").unwrap(), &svc);
        assert_eq!((used["services"], used["services.nodeports"]), (q("1"), q("2")));
        let pvc =
            json!({"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}});
        let used = usage(by_storage("persistentvolumeclaims").unwrap(), &pvc);
        assert_eq!(used["requests.storage"], q("1Gi"));
        assert_eq!(used["fast.storageclass.storage.k8s.io/requests.storage"], q("1Gi"));
        let used = usage(by_storage("apps/deployments").unwrap(), &json!({}));
        assert_eq!(used.keys().collect::<Vec<_>>(), ["count/deployments.apps"]);
    }

    #[test]
    fn scopes_cover_only_the_pods_they_name() {
        let pods = by_storage("pods").unwrap();
        let best = json!({"spec": {"containers": [{"name": "a"}]}});
        let burst = json!({"spec": {"activeDeadlineSeconds": 5, "priorityClassName": "high",
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
        let scoped = |scopes: Value| json!({"spec": {"scopes": scopes}});
        assert!(covers(&scoped(json!(["BestEffort"])), pods, &best));
        assert!(!covers(&scoped(json!(["BestEffort"])), pods, &burst));
        assert!(covers(&scoped(json!(["NotBestEffort", "Terminating"])), pods, &burst));
        assert!(!covers(&scoped(json!(["NotTerminating"])), pods, &burst));
        let class = json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}});
        assert!(covers(&class, pods, &burst) && !covers(&class, pods, &best));
        assert!(!covers(&scoped(json!(["BestEffort"])), by_storage("configmaps").unwrap(), &json!({})));
        assert!(covers(&json!({"spec": {}}), by_storage("configmaps").unwrap(), &json!({})));
    }

    #[test]
    fn a_quota_on_cpu_or_memory_makes_every_container_state_it() {
        let hard: ResourceList =
            [("limits.cpu".to_string(), q("2")), ("requests.memory".into(), q("1Gi"))].into();
        let pod = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Mi"}}},
            {"name": "b"}, {"name": "c", "resources": {"requests": {"memory": "1Mi"}}}]}});
        assert_eq!(
            pod_constraints(&hard, &pod),
            Err("must specify limits.cpu for: b,c; requests.memory for: b".into())
        );
        assert_eq!(pod_constraints(&ResourceList::new(), &pod), Ok(()));
    }
}
