//! Admission on create, as upstream's `LimitRanger` and `ResourceQuota` plugins do it:
//! [`Api::limit_defaults`] fills a pod's missing requests and limits from its namespace's
//! LimitRanges before validation, [`Api::limit_bounds`] refuses what breaks their bounds after
//! it; [`Api::charge_quota`] refuses an object
//! its namespace's ResourceQuotas have no room for, and otherwise records its usage in their
//! status before the object is written (so two concurrent creates cannot both take the last
//! slot). The quota controller recounts usage from the objects themselves, which gives back what
//! deleted and finished objects held and corrects a charge whose create then failed.

use super::list::ListOptions;
use super::update::Part;
use super::{Api, WriteOptions};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use wasmkube_api::quantity::Quantity;
use wasmkube_api::quota::{self, ResourceList, parse_list};
use wasmkube_api::status::ApiError;
use wasmkube_api::{ResourceDef, meta, registry};

/// Concurrent charges of one quota that lost a race retry this often before giving up.
const CHARGE_ATTEMPTS: usize = 16;

/// Upstream's `admission.NewForbidden`: `pods "web" is forbidden: <why>`.
fn forbidden(def: &ResourceDef, obj: &Value, why: &str) -> ApiError {
    let name = meta::name(obj);
    let what = wasmkube_api::status::qualified(def.group, def.plural);
    ApiError::forbidden(format!("{what} \"{name}\" is forbidden: {why}"))
}

/// The LimitRange items of a namespace that apply to one object, read once per create.
pub(crate) struct LimitItems(Vec<Value>);

impl Api {
    /// LimitRanger's mutating half (before validation): fill a pod's containers' unset requests
    /// and limits from the namespace's `Container` defaults. Returns the items for
    /// [`Api::limit_bounds`].
    pub(crate) async fn limit_defaults(
        &self,
        def: &ResourceDef,
        ns: &str,
        obj: &mut Value,
    ) -> Result<LimitItems, ApiError> {
        if !matches!((def.group, def.plural), ("", "pods" | "persistentvolumeclaims")) {
            return Ok(LimitItems(Vec::new()));
        }
        let ranges_def = registry::by_storage("limitranges").expect("limitranges are served");
        let ranges = self.list(ranges_def, Some(ns), &ListOptions::default()).await?.items;
        let items: Vec<Value> = ranges
            .iter()
            .flat_map(|r| r.pointer("/spec/limits").and_then(Value::as_array).into_iter().flatten())
            .cloned()
            .collect();
        if def.plural == "pods" && !items.is_empty() {
            set_container_defaults(obj, &items.iter().collect::<Vec<_>>());
        }
        Ok(LimitItems(items))
    }

    /// LimitRanger's validating half (after validation): min, max and maxLimitRequestRatio
    /// per Container, per Pod and per PersistentVolumeClaim.
    pub(crate) fn limit_bounds(
        &self,
        def: &ResourceDef,
        obj: &Value,
        items: &LimitItems,
    ) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        for item in &items.0 {
            match (def.plural, item.get("type").and_then(Value::as_str)) {
                ("pods", Some("Container")) => {
                    for c in containers(obj) {
                        let (requests, limits) = resources(c);
                        check_item(item, "Container", &requests, &limits, false, &mut errors);
                    }
                }
                ("pods", Some("Pod")) => {
                    let (requests, limits) = pod_totals(obj);
                    check_item(item, "Pod", &requests, &limits, false, &mut errors);
                }
                ("persistentvolumeclaims", Some(kind @ "PersistentVolumeClaim")) => {
                    let requests = parse_list(obj.pointer("/spec/resources/requests"));
                    check_item(item, kind, &requests, &ResourceList::new(), true, &mut errors);
                }
                _ => {}
            }
        }
        // One message per distinct complaint (two bare containers are one "No request").
        let mut seen = BTreeSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        match errors.len() {
            0 => Ok(()),
            1 => Err(forbidden(def, obj, &errors[0])),
            _ => Err(forbidden(def, obj, &format!("[{}]", errors.join(", ")))),
        }
    }

    /// ResourceQuota: refuse `obj` if a quota covering it has no room, else charge its usage to
    /// every such quota. Every quota is judged before any is charged; the names charged are
    /// returned so a create that then fails can give them back ([`Api::refund_quota`]).
    pub(crate) async fn charge_quota(
        &self,
        def: &'static ResourceDef,
        ns: &str,
        obj: &Value,
        dry_run: bool,
    ) -> Result<Vec<String>, ApiError> {
        if !quota::is_counted(def) {
            return Ok(Vec::new());
        }
        let usage = quota::usage(def, obj);
        let mut charged: Vec<String> = Vec::new();
        for _ in 0..CHARGE_ATTEMPTS {
            let quotas = self.list(quotas_def(), Some(ns), &ListOptions::default()).await?.items;
            let mut plan = Vec::new();
            for q in quotas.iter().filter(|q| !charged.iter().any(|c| c == meta::name(q))) {
                match check_quota(def, obj, q, &usage) {
                    Ok(Some(used)) => plan.push((q, used)),
                    Ok(None) => {}
                    Err(e) => {
                        self.refund_quota(def, ns, obj, &charged).await;
                        return Err(e);
                    }
                }
            }
            if dry_run {
                return Ok(Vec::new());
            }
            let mut lost_race = false;
            for (q, used) in plan {
                let mut next = q.clone();
                next["status"]["used"] = quota::to_json(&used);
                match self
                    .update(quotas_def(), ns, meta::name(q), next, Part::Status, &admission_opts())
                    .await
                {
                    Ok(_) => charged.push(meta::name(q).to_string()),
                    // Someone charged or recounted it meanwhile: read it again and decide again.
                    Err(e) if e.code == 409 => lost_race = true,
                    Err(e) if e.code == 404 => {}
                    Err(e) => {
                        self.refund_quota(def, ns, obj, &charged).await;
                        return Err(e);
                    }
                }
            }
            if !lost_race {
                return Ok(charged);
            }
        }
        self.refund_quota(def, ns, obj, &charged).await;
        Err(ApiError::new(
            409,
            "Conflict",
            "Operation cannot be fulfilled: the namespace's resource quotas changed too often; try again",
        ))
    }

    /// Give back what [`Api::charge_quota`] charged for an object that was not created after
    /// all. Best effort: the quota controller's periodic recount corrects whatever this misses.
    pub(crate) async fn refund_quota(&self, def: &ResourceDef, ns: &str, obj: &Value, charged: &[String]) {
        let usage = quota::usage(def, obj);
        for name in charged {
            for _ in 0..CHARGE_ATTEMPTS {
                let Ok(q) = self.get(quotas_def(), ns, name).await else { break };
                let mut used = parse_list(q.pointer("/status/used"));
                for (k, v) in &usage {
                    if let Some(u) = used.get_mut(k) {
                        *u = u.minus_or_zero(*v);
                    }
                }
                let mut next = q;
                next["status"]["used"] = quota::to_json(&used);
                match self.update(quotas_def(), ns, name, next, Part::Status, &admission_opts()).await {
                    Err(e) if e.code == 409 => continue,
                    Err(e) if e.code != 404 => {
                        tracing::warn!(quota = %name, error = %e, "could not give back a quota charge");
                    }
                    _ => {}
                }
                break;
            }
        }
    }
}

fn quotas_def() -> &'static ResourceDef {
    registry::by_storage("resourcequotas").expect("resourcequotas are served")
}

fn admission_opts() -> WriteOptions {
    WriteOptions { field_manager: Some("resourcequota-admission".into()), ..Default::default() }
}

/// `Ok(Some(used after the charge))` when `q` tracks `obj`, `Ok(None)` when it does not.
fn check_quota(
    def: &ResourceDef,
    obj: &Value,
    q: &Value,
    usage: &ResourceList,
) -> Result<Option<ResourceList>, ApiError> {
    if !quota::covers(q, def, obj) {
        return Ok(None);
    }
    let name = meta::name(q);
    // As upstream: what the controller has acknowledged (`status.hard`) is what is enforced; a
    // quota it has not counted yet enforces nothing, one it counted partly is "unknown".
    let hard = parse_list(q.pointer("/status/hard"));
    if (def.group, def.plural) == ("", "pods") {
        quota::pod_constraints(&hard, obj)
            .map_err(|why| forbidden(def, obj, &format!("failed quota: {name}: {why}")))?;
    }
    let tracked: Vec<&String> = hard.keys().filter(|k| usage.contains_key(*k)).collect();
    if tracked.is_empty() {
        return Ok(None);
    }
    let counted = parse_list(q.pointer("/status/used"));
    let unknown: Vec<&str> =
        tracked.iter().filter(|k| !counted.contains_key(**k)).map(|k| k.as_str()).collect();
    if !unknown.is_empty() {
        let why = format!("status unknown for quota: {name}, resources: {}", unknown.join(","));
        return Err(forbidden(def, obj, &why));
    }
    let mut used = parse_list(q.pointer("/status/used"));
    let mut exceeded = ResourceList::new();
    let (mut requested, mut was) = (ResourceList::new(), ResourceList::new());
    for k in tracked {
        let before = used.get(k).copied().unwrap_or_else(Quantity::zero);
        let after = before + usage[k];
        if after > hard[k] {
            exceeded.insert(k.clone(), hard[k]);
            requested.insert(k.clone(), usage[k]);
            was.insert(k.clone(), before);
        }
        used.insert(k.clone(), after);
    }
    if !exceeded.is_empty() {
        let why = format!(
            "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
            quota::pretty(&requested),
            quota::pretty(&was),
            quota::pretty(&exceeded)
        );
        return Err(forbidden(def, obj, &why));
    }
    Ok(Some(used))
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    ["containers", "initContainers"]
        .into_iter()
        .flat_map(move |k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array).into_iter().flatten())
}

fn resources(c: &Value) -> (ResourceList, ResourceList) {
    (parse_list(c.pointer("/resources/requests")), parse_list(c.pointer("/resources/limits")))
}

/// What the pod as a whole asks for: its containers together, or its largest init container.
fn pod_totals(pod: &Value) -> (ResourceList, ResourceList) {
    let (mut requests, mut limits) = (ResourceList::new(), ResourceList::new());
    for c in pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten() {
        let (r, l) = resources(c);
        quota::add(&mut requests, &r);
        quota::add(&mut limits, &l);
    }
    let inits = pod.pointer("/spec/initContainers").and_then(Value::as_array).into_iter().flatten();
    let (sidecars, inits): (Vec<&Value>, Vec<&Value>) =
        inits.partition(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"));
    // Sidecars run beside the app containers; an ordinary init container runs alone.
    for c in sidecars {
        let (r, l) = resources(c);
        quota::add(&mut requests, &r);
        quota::add(&mut limits, &l);
    }
    for c in inits {
        let (r, l) = resources(c);
        for (total, part) in [(&mut requests, r), (&mut limits, l)] {
            for (k, v) in part {
                let e = total.entry(k).or_insert_with(Quantity::zero);
                *e = (*e).max(v);
            }
        }
    }
    (requests, limits)
}

/// Fill each container's unset limits from `default` and unset requests from `defaultRequest`
/// of the `Container` items, noting what was set in the `kubernetes.io/limit-ranger` annotation.
fn set_container_defaults(pod: &mut Value, items: &[&Value]) {
    let mut defaults = (serde_json::Map::new(), serde_json::Map::new());
    for item in items.iter().filter(|i| i.get("type").and_then(Value::as_str) == Some("Container")) {
        for (key, into) in [("default", &mut defaults.1), ("defaultRequest", &mut defaults.0)] {
            for (k, v) in item.get(key).and_then(Value::as_object).into_iter().flatten() {
                into.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if defaults.0.is_empty() && defaults.1.is_empty() {
        return;
    }
    let mut notes = Vec::new();
    for (key, label) in [("containers", "container"), ("initContainers", "init container")] {
        let Some(list) = pod.pointer_mut(&format!("/spec/{key}")).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in list {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            for (part, wanted, what) in
                [("requests", &defaults.0, "request"), ("limits", &defaults.1, "limit")]
            {
                let mut set = Vec::new();
                for (k, v) in wanted {
                    let resources = &mut c["resources"];
                    if !resources.is_object() {
                        *resources = json!({});
                    }
                    let target = &mut resources[part];
                    if !target.is_object() {
                        *target = json!({});
                    }
                    if target.get(k).is_none() {
                        target[k] = v.clone();
                        set.push(k.clone());
                    }
                }
                if !set.is_empty() {
                    set.sort();
                    notes.push(format!("{} {what} for {label} {name}", set.join(", ")));
                }
            }
        }
    }
    if !notes.is_empty() {
        let annotation = format!("LimitRanger plugin set: {}", notes.join("; "));
        let m = meta::metadata_mut(pod);
        let annotations = m.entry("annotations").or_insert_with(|| json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations["kubernetes.io/limit-ranger"] = json!(annotation);
    }
}

/// One LimitRange item's `min`, `max` and `maxLimitRequestRatio` against what is asked for,
/// worded as upstream's LimitRanger words it. A claim's `max` bounds its request.
fn check_item(
    item: &Value,
    kind: &str,
    requests: &ResourceList,
    limits: &ResourceList,
    max_bounds_request: bool,
    errors: &mut Vec<String>,
) {
    for (k, min) in parse_list(item.get("min")) {
        match (requests.get(&k), limits.get(&k)) {
            (None, _) => {
                errors.push(format!("minimum {k} usage per {kind} is {min}.  No request is specified"))
            }
            (Some(r), _) if *r < min => {
                errors.push(format!("minimum {k} usage per {kind} is {min}, but request is {r}"))
            }
            (_, Some(l)) if *l < min => {
                errors.push(format!("minimum {k} usage per {kind} is {min}, but limit is {l}"))
            }
            _ => {}
        }
    }
    for (k, max) in parse_list(item.get("max")) {
        if max_bounds_request {
            match requests.get(&k) {
                None => {
                    errors.push(format!("maximum {k} usage per {kind} is {max}.  No request is specified"))
                }
                Some(r) if *r > max => {
                    errors.push(format!("maximum {k} usage per {kind} is {max}, but request is {r}"))
                }
                _ => {}
            }
            continue;
        }
        match (limits.get(&k), requests.get(&k)) {
            (None, _) => {
                errors.push(format!("maximum {k} usage per {kind} is {max}.  No limit is specified"))
            }
            (Some(l), _) if *l > max => {
                errors.push(format!("maximum {k} usage per {kind} is {max}, but limit is {l}"))
            }
            (_, Some(r)) if *r > max => {
                errors.push(format!("maximum {k} usage per {kind} is {max}, but request is {r}"))
            }
            _ => {}
        }
    }
    for (k, ratio) in parse_list(item.get("maxLimitRequestRatio")) {
        let prefix = format!("{k} max limit to request ratio per {kind} is {ratio}");
        let request = requests.get(&k).filter(|r| !r.is_zero());
        let limit = limits.get(&k).filter(|l| !l.is_zero());
        match (request, limit) {
            (None, _) => errors.push(format!("{prefix}, but no request is specified or request is 0")),
            (_, None) => errors.push(format!("{prefix}, but no limit is specified or limit is 0")),
            (Some(r), Some(l)) => {
                let observed = l.ratio(*r).unwrap_or(f64::INFINITY);
                if observed > ratio.ratio(Quantity::from_int(1)).unwrap_or(f64::INFINITY) {
                    errors.push(format!("{prefix}, but provided ratio is {observed:.6}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: Value) -> ResourceList {
        parse_list(Some(&v))
    }

    #[test]
    fn defaults_fill_only_what_a_container_left_unset_and_are_noted() {
        let item = json!({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"}});
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a"}, {"name": "b", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}]}});
        set_container_defaults(&mut pod, &[&item]);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"}})
        );
        assert_eq!(
            pod["spec"]["containers"][1]["resources"]["limits"],
            json!({"cpu": "1", "memory": "256Mi"})
        );
        assert_eq!(
            pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; \
             memory request for container b; memory limit for container b"
        );
    }

    #[test]
    fn a_quota_charges_what_it_tracks_refuses_overflow_and_waits_for_its_status() {
        let pods = registry::by_storage("pods").unwrap();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"memory": "1Gi"}}}]}});
        let usage = quota::usage(pods, &pod);
        let fresh =
            json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "3", "requests.memory": "2Gi"}}});
        assert!(check_quota(pods, &pod, &fresh, &usage).unwrap().is_none(), "not counted yet: not enforced");
        let mut unknown = fresh.clone();
        unknown["status"] = json!({"hard": {"pods": "3", "requests.memory": "2Gi"}, "used": {"pods": "1"}});
        let err = check_quota(pods, &pod, &unknown, &usage).unwrap_err();
        assert_eq!(
            err.message,
            "pods \"p\" is forbidden: status unknown for quota: q, resources: requests.memory"
        );
        let mut counted = fresh.clone();
        counted["status"] = json!({"hard": {"pods": "3", "requests.memory": "2Gi"}, "used": {"pods": "1", "requests.memory": "0"}});
        let used = check_quota(pods, &pod, &counted, &usage).unwrap().unwrap();
        assert_eq!(quota::pretty(&used), "pods=2,requests.memory=1Gi");
        counted["status"]["used"] = json!({"pods": "2", "requests.memory": "1536Mi"});
        let err = check_quota(pods, &pod, &counted, &usage).unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "pods \"p\" is forbidden: exceeded quota: q, requested: requests.memory=1Gi, \
             used: requests.memory=1536Mi, limited: requests.memory=2Gi"
        );
        let unrelated = json!({"metadata": {"name": "u"}, "spec": {"hard": {"services": "1"}}});
        assert!(check_quota(pods, &pod, &unrelated, &usage).unwrap().is_none());
    }

    #[test]
    fn bounds_and_ratios_are_worded_as_upstream_words_them() {
        let item =
            json!({"min": {"cpu": "100m"}, "max": {"memory": "1Gi"}, "maxLimitRequestRatio": {"cpu": "2"}});
        let mut errors = Vec::new();
        let requests = list(json!({"cpu": "50m"}));
        let limits = list(json!({"cpu": "200m", "memory": "2Gi"}));
        check_item(&item, "Container", &requests, &limits, false, &mut errors);
        assert_eq!(
            errors,
            [
                "minimum cpu usage per Container is 100m, but request is 50m",
                "maximum memory usage per Container is 1Gi, but limit is 2Gi",
                "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000",
            ]
        );
        errors.clear();
        check_item(&item, "Container", &ResourceList::new(), &ResourceList::new(), false, &mut errors);
        assert_eq!(errors[1], "maximum memory usage per Container is 1Gi.  No limit is specified");
        errors.clear();
        let fine = list(json!({"cpu": "150m", "memory": "1Gi"}));
        check_item(
            &item,
            "Container",
            &fine,
            &list(json!({"cpu": "300m", "memory": "1Gi"})),
            false,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
