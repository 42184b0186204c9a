//! How the EndpointSlice controller spreads a Service's endpoints over slices (upstream's
//! `Reconciler`), per address type: endpoints stay in the slice they are in and change there;
//! slices being written anyway are filled first, then the unchanged slice that the rest fits
//! best, and only what still does not fit makes new slices. A Service without endpoints keeps
//! one empty placeholder slice, and a slice about to be deleted is reused rather than a new one
//! created. Writing few slices matters: every write goes to every watcher of slices.

use super::backend::EndpointPort;
use super::{Family, ServiceSpec};
use serde_json::{Map, Value, json};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmkube_api::meta;

/// Upstream's default `--max-endpoints-per-slice`.
pub(crate) const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// The label naming a slice's Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The label naming the controller that manages a slice.
pub(crate) const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";

/// What identifies one endpoint from one sync to the next (upstream's endpoint hash): its
/// addresses, hostname and pod. Conditions, node and zone change in place.
pub(crate) type EndpointKey = (Vec<String>, String, String, String);

/// The endpoints wanted, per set of ports (a slice holds endpoints with identical ports).
pub(crate) type Desired = BTreeMap<Vec<EndpointPort>, BTreeMap<EndpointKey, Value>>;

/// The writes that bring a Service's slices to what is desired.
#[derive(Default)]
pub(crate) struct Plan {
    /// New slices, named by the API server (`generateName`).
    pub create: Vec<Value>,
    /// Whole slices to put, each carrying the resourceVersion it was computed from.
    pub update: Vec<Value>,
    pub delete: Vec<Arc<Value>>,
}

impl Plan {
    pub fn extend(&mut self, other: Plan) {
        self.create.extend(other.create);
        self.update.extend(other.update);
        self.delete.extend(other.delete);
    }
}

pub(crate) fn endpoint_key(ep: &Value) -> EndpointKey {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let mut addresses: Vec<String> = ep
        .get("addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    addresses.sort();
    let target = ep.get("targetRef");
    (
        addresses,
        text(ep.get("hostname")),
        text(target.and_then(|t| t.get("namespace"))),
        text(target.and_then(|t| t.get("name"))),
    )
}

/// The Service slices belong to, and what every slice of it carries.
pub(crate) struct Owner {
    namespace: String,
    name: String,
    uid: String,
    labels: Map<String, Value>,
}

impl Owner {
    /// Slice labels are the Service's (upstream `setEndpointSliceLabels`): the reserved keys
    /// are ours, whatever the Service says.
    pub fn new(spec: &ServiceSpec, managed_by: &str) -> Owner {
        let mut labels = spec.mirrored_labels();
        labels.insert(SERVICE_NAME_LABEL.into(), json!(spec.name()));
        labels.insert(MANAGED_BY_LABEL.into(), json!(managed_by));
        Owner {
            namespace: spec.namespace().to_string(),
            name: spec.name().to_string(),
            uid: meta::uid(spec.svc).to_string(),
            labels,
        }
    }

    /// `metav1.NewControllerRef`: the garbage collector deletes the slices with the Service.
    fn owner_reference(&self) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "name": self.name, "uid": self.uid,
               "controller": true, "blockOwnerDeletion": true})
    }

    /// Upstream `ownedBy`: a slice with our labels but another owner is a leftover of an
    /// earlier Service of the same name.
    fn owns(&self, slice: &Value) -> bool {
        slice.pointer("/metadata/ownerReferences").and_then(Value::as_array).into_iter().flatten().any(|r| {
            r.get("uid").and_then(Value::as_str) == Some(self.uid.as_str())
                && r.get("kind").and_then(Value::as_str) == Some("Service")
                && r.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
    }

    fn new_slice(&self, family: Family, ports: &[EndpointPort]) -> Value {
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": format!("{}-", self.name),
                "namespace": self.namespace,
                "labels": self.labels,
                "ownerReferences": [self.owner_reference()],
            },
            "addressType": family.address_type(),
            "endpoints": [],
            "ports": ports.iter().map(EndpointPort::to_slice_json).collect::<Vec<_>>(),
        })
    }

    /// Upstream `placeholderSliceCompare`: an empty slice of ours, whatever its name.
    fn is_placeholder(&self, slice: &Value, family: Family) -> bool {
        meta::namespace(slice) == self.namespace
            && meta::labels(slice) == Some(&self.labels)
            && slice.pointer("/metadata/ownerReferences") == Some(&json!([self.owner_reference()]))
            && address_type(slice) == family.address_type()
            && list(slice, "ports").is_empty()
            && list(slice, "endpoints").is_empty()
    }
}

pub(crate) fn address_type(slice: &Value) -> &str {
    slice.get("addressType").and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A slice's ports in the order desired port sets use.
fn ports_of(slice: &Value) -> Vec<EndpointPort> {
    let mut ports: Vec<EndpointPort> =
        list(slice, "ports").iter().map(EndpointPort::from_slice_json).collect();
    ports.sort();
    ports
}

/// The plan for the slices of one address type (upstream `reconcileByAddressType`).
/// `existing` are the live slices labelled as this Service's with that address type.
pub(crate) fn reconcile(
    owner: &Owner,
    family: Family,
    existing: Vec<Arc<Value>>,
    desired: Desired,
    max: usize,
) -> Plan {
    let mut plan = Plan::default();
    let total = existing.len();
    let mut by_ports: BTreeMap<Vec<EndpointPort>, Vec<Arc<Value>>> = BTreeMap::new();
    for slice in existing {
        if owner.owns(&slice) {
            by_ports.entry(ports_of(&slice)).or_default().push(slice);
        } else {
            plan.delete.push(slice);
        }
    }
    for (ports, wanted) in desired {
        let slices = by_ports.remove(&ports).unwrap_or_default();
        let group = Group { owner, family, ports: &ports, max };
        group.reconcile(slices, wanted, &mut plan);
    }
    // Port sets nobody offers any more.
    plan.delete.extend(by_ports.into_values().flatten());
    keep_a_placeholder(owner, family, total, &mut plan);
    reuse_deleted(owner, family, &mut plan);
    plan
}

/// A Service whose slices would all go keeps (or gets) one empty slice, so that consumers
/// can tell "no endpoints" from "not yet processed".
fn keep_a_placeholder(owner: &Owner, family: Family, total: usize, plan: &mut Plan) {
    if total != plan.delete.len() || !plan.create.is_empty() {
        return;
    }
    if plan.delete.len() == 1 && owner.is_placeholder(&plan.delete[0], family) {
        plan.delete.clear();
    } else {
        plan.create.push(owner.new_slice(family, &[]));
    }
}

/// Upstream `finalize`: rather than delete one slice and create another, rewrite the one
/// being deleted (if it is ours: a leftover of an earlier Service is left to go).
fn reuse_deleted(owner: &Owner, family: Family, plan: &mut Plan) {
    let mut i = 0;
    while i < plan.delete.len() && !plan.create.is_empty() {
        let old = &plan.delete[i];
        if address_type(old) != family.address_type() || !owner.owns(old) {
            i += 1;
            continue;
        }
        let old = plan.delete.remove(i);
        let Some(new) = plan.create.pop() else { break };
        let mut reused = (*old).clone();
        for key in ["endpoints", "ports"] {
            reused[key] = new.get(key).cloned().unwrap_or_else(|| json!([]));
        }
        reused["metadata"]["labels"] = json!(owner.labels);
        plan.update.push(reused);
    }
}

/// The slices of one set of ports (upstream `reconcileByPortMapping`).
struct Group<'a> {
    owner: &'a Owner,
    family: Family,
    ports: &'a [EndpointPort],
    max: usize,
}

impl Group<'_> {
    fn reconcile(&self, slices: Vec<Arc<Value>>, mut wanted: BTreeMap<EndpointKey, Value>, plan: &mut Plan) {
        let mut unchanged = Vec::new();
        let mut updating = Vec::new();
        for slice in slices {
            match self.refresh(&slice, &mut wanted) {
                Refreshed::Unchanged => unchanged.push(slice),
                Refreshed::Changed(s) => updating.push(s),
                Refreshed::Empty => plan.delete.push(slice),
            }
        }
        // Fill the slices that are written anyway, fullest first.
        updating.sort_by_key(|s| Reverse(list(s, "endpoints").len()));
        for slice in &mut updating {
            fill(slice, &mut wanted, self.max);
        }
        // The rest goes into the unchanged slice it fits best, or into new slices.
        while !wanted.is_empty() {
            let fit =
                if wanted.len() < self.max { best_fit(&unchanged, wanted.len(), self.max) } else { None };
            let mut slice = match fit {
                Some(i) => (*unchanged.remove(i)).clone(),
                None => self.owner.new_slice(self.family, self.ports),
            };
            fill(&mut slice, &mut wanted, self.max);
            if fit.is_some() { &mut updating } else { &mut plan.create }.push(slice);
        }
        plan.update.extend(updating);
    }

    /// Keep the slice's endpoints that are still wanted (taking them from `wanted`), in their
    /// desired state; correct its labels.
    fn refresh(&self, slice: &Value, wanted: &mut BTreeMap<EndpointKey, Value>) -> Refreshed {
        let current = list(slice, "endpoints");
        let mut kept = Vec::with_capacity(current.len());
        let mut changed = false;
        for ep in current {
            if let Some(want) = wanted.remove(&endpoint_key(ep)) {
                changed |= want != *ep;
                kept.push(want);
            }
        }
        let relabel = meta::labels(slice) != Some(&self.owner.labels);
        if !changed && !relabel && kept.len() == current.len() {
            return Refreshed::Unchanged;
        }
        if kept.is_empty() && !current.is_empty() {
            return Refreshed::Empty;
        }
        let mut s = slice.clone();
        s["endpoints"] = Value::Array(kept);
        s["metadata"]["labels"] = json!(self.owner.labels);
        Refreshed::Changed(s)
    }
}

enum Refreshed {
    Unchanged,
    Changed(Value),
    /// Every endpoint it held is gone.
    Empty,
}

/// Move endpoints from `wanted` into `slice` until it holds `max`.
fn fill(slice: &mut Value, wanted: &mut BTreeMap<EndpointKey, Value>, max: usize) {
    let Some(obj) = slice.as_object_mut() else { return };
    let eps = obj.entry("endpoints").or_insert_with(|| json!([]));
    if !eps.is_array() {
        *eps = json!([]);
    }
    let Value::Array(eps) = eps else { return };
    while eps.len() < max {
        let Some((_, ep)) = wanted.pop_first() else { break };
        eps.push(ep);
    }
}

/// Upstream `getSliceToFill`: the slice that `n` more endpoints bring closest to full.
fn best_fit(slices: &[Arc<Value>], n: usize, max: usize) -> Option<usize> {
    let mut best = None;
    let mut closest = max;
    for (i, s) in slices.iter().enumerate() {
        let len = list(s, "endpoints").len();
        if n + len > max {
            continue;
        }
        let diff = max - n - len;
        if diff < closest {
            closest = diff;
            best = Some(i);
            if diff == 0 {
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        let svc = json!({"metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"team": "a"}},
                         "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10"}});
        Owner::new(&ServiceSpec::of(&svc).unwrap(), "endpointslice-controller.k8s.io")
    }

    fn http() -> Vec<EndpointPort> {
        vec![EndpointPort { name: "http".into(), port: 8080, protocol: "TCP".into(), app_protocol: None }]
    }

    fn ep(i: usize, ready: bool) -> Value {
        json!({"addresses": [format!("10.1.{}.{}", i / 200, i % 200)], "conditions": {"ready": ready},
               "targetRef": {"kind": "Pod", "namespace": "ns", "name": format!("p{i}")}})
    }

    fn desired(range: std::ops::Range<usize>, ready: bool) -> Desired {
        let eps = range.map(|i| ep(i, ready)).map(|e| (endpoint_key(&e), e)).collect();
        BTreeMap::from([(http(), eps)])
    }

    /// A slice as the API would hold it after `plan`'s create, named `name`.
    fn stored(mut slice: Value, name: &str) -> Arc<Value> {
        slice["metadata"]["name"] = json!(name);
        slice["metadata"]["resourceVersion"] = json!("7");
        Arc::new(slice)
    }

    #[test]
    fn endpoints_beyond_a_slice_make_more_slices_and_a_settled_state_plans_nothing() {
        let o = owner();
        let plan = reconcile(&o, Family::V4, vec![], desired(0..250, true), MAX_ENDPOINTS_PER_SLICE);
        let sizes: Vec<usize> = plan.create.iter().map(|s| list(s, "endpoints").len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let s = &plan.create[0];
        assert_eq!(s["metadata"]["generateName"], "web-");
        assert_eq!(s["metadata"]["labels"]["kubernetes.io/service-name"], "web");
        assert_eq!(s["metadata"]["labels"]["team"], "a");
        assert_eq!(s["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
        assert_eq!(s["ports"], json!([{"name": "http", "port": 8080, "protocol": "TCP"}]));
        let existing: Vec<Arc<Value>> =
            plan.create.into_iter().enumerate().map(|(i, s)| stored(s, &format!("web-{i}"))).collect();
        let again = reconcile(&o, Family::V4, existing, desired(0..250, true), MAX_ENDPOINTS_PER_SLICE);
        assert!(again.create.is_empty() && again.update.is_empty() && again.delete.is_empty());
    }

    #[test]
    fn changes_stay_in_place_and_new_endpoints_fill_slices_being_written() {
        let o = owner();
        let first = reconcile(&o, Family::V4, vec![], desired(0..10, false), MAX_ENDPOINTS_PER_SLICE);
        let existing = vec![stored(first.create.into_iter().next().unwrap(), "web-a")];
        // p0..p9 become ready, p10 appears: one update of the same slice.
        let plan = reconcile(&o, Family::V4, existing, desired(0..11, true), MAX_ENDPOINTS_PER_SLICE);
        assert!(plan.create.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.update.len(), 1);
        let eps = list(&plan.update[0], "endpoints");
        assert_eq!(eps.len(), 11);
        assert!(eps.iter().all(|e| e["conditions"]["ready"] == true));
        assert_eq!(plan.update[0]["metadata"]["resourceVersion"], "7", "a conditional update");
    }

    #[test]
    fn no_endpoints_leave_one_placeholder_and_reuse_a_doomed_slice() {
        let o = owner();
        let plan = reconcile(&o, Family::V4, vec![], Desired::new(), MAX_ENDPOINTS_PER_SLICE);
        assert_eq!(plan.create.len(), 1);
        assert!(list(&plan.create[0], "endpoints").is_empty() && list(&plan.create[0], "ports").is_empty());
        let placeholder = stored(plan.create[0].clone(), "web-p");
        let plan =
            reconcile(&o, Family::V4, vec![placeholder.clone()], Desired::new(), MAX_ENDPOINTS_PER_SLICE);
        assert!(plan.create.is_empty() && plan.update.is_empty() && plan.delete.is_empty());
        // Endpoints with ports arrive: the placeholder (other ports) is rewritten, not replaced.
        let plan = reconcile(&o, Family::V4, vec![placeholder], desired(0..3, true), MAX_ENDPOINTS_PER_SLICE);
        assert!(plan.create.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.update[0]["metadata"]["name"], "web-p");
        assert_eq!(list(&plan.update[0], "endpoints").len(), 3);
        assert_eq!(plan.update[0]["ports"][0]["port"], 8080);
    }

    #[test]
    fn emptied_slices_go_and_leftovers_of_another_service_are_deleted() {
        let o = owner();
        let first = reconcile(&o, Family::V4, vec![], desired(0..150, true), MAX_ENDPOINTS_PER_SLICE);
        let existing: Vec<Arc<Value>> =
            first.create.into_iter().enumerate().map(|(i, s)| stored(s, &format!("web-{i}"))).collect();
        let mut foreign = (*existing[0]).clone();
        foreign["metadata"]["name"] = json!("web-old");
        foreign["metadata"]["ownerReferences"][0]["uid"] = json!("another");
        let mut all = existing.clone();
        all.push(Arc::new(foreign));
        // Only the endpoints of the first slice remain.
        let remaining =
            list(&existing[0], "endpoints").iter().map(|e| (endpoint_key(e), e.clone())).collect();
        let plan =
            reconcile(&o, Family::V4, all, BTreeMap::from([(http(), remaining)]), MAX_ENDPOINTS_PER_SLICE);
        let mut gone: Vec<&str> = plan.delete.iter().map(|s| meta::name(s)).collect();
        gone.sort();
        assert_eq!(gone, vec!["web-1", "web-old"]);
        assert!(plan.create.is_empty() && plan.update.is_empty());
    }
}
