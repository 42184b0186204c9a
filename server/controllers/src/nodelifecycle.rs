//! Node lifecycle: a node whose agent stops heartbeating (its Lease and Ready condition go
//! stale for longer than the grace period) gets its conditions set to Unknown, its pods marked
//! not Ready, and the `node.kubernetes.io/unreachable` taints; a node reporting Ready=False
//! gets the `not-ready` taints. Pods on a node with NoExecute taints they do not tolerate are
//! evicted at once, and those that tolerate them for `tolerationSeconds` when that runs out
//! (upstream's taint manager); their controllers then create replacements. A node that comes
//! back loses the taints.

use crate::clock::{Clock, format_time, parse_time};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wasmkube_api::taints::{Effect, NOT_READY, Taint, Toleration, UNREACHABLE, no_execute_allowance};
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::events::{EventType, Recorder};
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{AnyEvent, DeleteOptions, PatchType, WriteOptions};

const MANAGER: &str = "node-lifecycle-controller";
const LEASE_NS: &str = "kube-node-lease";

/// How often nodes are judged when nothing about them changed.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

pub struct NodeLifecycleController {
    api: Api,
    clock: Arc<dyn Clock>,
    events: Recorder,
    /// How long a node may go without a heartbeat before it is Unknown.
    grace: chrono::Duration,
    nodes: HashMap<String, Arc<Value>>,
    renewals: HashMap<String, DateTime<Utc>>,
    /// node -> (namespace, name) -> pod
    pods: HashMap<String, HashMap<(String, String), Arc<Value>>>,
    /// When nodes were last judged; a node or lease change asks for a judgement at once.
    checked: Option<tokio::time::Instant>,
}

impl NodeLifecycleController {
    pub fn new(api: Api, clock: Arc<dyn Clock>, grace: Duration) -> Self {
        let events = Recorder::new(api.clone(), MANAGER, None);
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::seconds(40));
        NodeLifecycleController {
            api,
            clock,
            events,
            grace,
            nodes: HashMap::new(),
            renewals: HashMap::new(),
            pods: HashMap::new(),
            checked: None,
        }
    }

    fn def(storage: &str) -> &'static ResourceDef {
        registry::by_storage(storage).expect("served resource")
    }

    fn opts() -> WriteOptions {
        WriteOptions { field_manager: Some(MANAGER.into()), ..Default::default() }
    }

    fn take(&mut self, def: &ResourceDef, obj: &Arc<Value>, deleted: bool) {
        match def.storage {
            "nodes" => {
                self.checked = None;
                let name = meta::name(obj).to_string();
                if deleted {
                    self.nodes.remove(&name)
                } else {
                    self.nodes.insert(name, obj.clone())
                };
            }
            "coordination.k8s.io/leases" if meta::namespace(obj) == LEASE_NS => {
                self.checked = None;
                let renewed = obj.pointer("/spec/renewTime").and_then(Value::as_str).and_then(parse_time);
                match (deleted, renewed) {
                    (false, Some(t)) => self.renewals.insert(meta::name(obj).to_string(), t),
                    _ => self.renewals.remove(meta::name(obj)),
                };
            }
            "pods" => {
                let node = obj.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
                let key = (meta::namespace(obj).to_string(), meta::name(obj).to_string());
                for pods in self.pods.values_mut() {
                    pods.remove(&key);
                }
                if !deleted && !node.is_empty() {
                    self.pods.entry(node.to_string()).or_default().insert(key, obj.clone());
                }
            }
            _ => {}
        }
    }

    /// The newest sign of life: the Lease's renewTime or the Ready condition's heartbeat.
    fn last_heartbeat(&self, node: &Value) -> Option<DateTime<Utc>> {
        let ready = ready_condition(node)
            .and_then(|c| c.get("lastHeartbeatTime"))
            .and_then(Value::as_str)
            .and_then(parse_time);
        let lease = self.renewals.get(meta::name(node)).copied();
        ready.max(lease).or_else(|| {
            node.pointer("/metadata/creationTimestamp").and_then(Value::as_str).and_then(parse_time)
        })
    }

    async fn check_node(&self, name: &str, node: &Value) -> Result<(), ApiError> {
        let now = self.clock.now();
        let reported = ready_condition(node).and_then(|c| c.get("status")).and_then(Value::as_str);
        let stale = self.last_heartbeat(node).is_none_or(|t| now - t > self.grace);
        // A new node that has not reported yet gets its grace period from creation.
        if reported.is_none() && !stale {
            return Ok(());
        }
        let status = reported.unwrap_or("Never");
        if stale && status != "Unknown" {
            self.mark_unknown(name, node, now).await?;
            return Ok(()); // the node's next event brings the taints
        }
        let wanted: &[&str] = match status {
            "True" => &[],
            "False" => &[NOT_READY],
            _ => &[UNREACHABLE],
        };
        self.set_taints(name, node, wanted, now).await?;
        self.evict(name, node, now).await
    }

    async fn mark_unknown(&self, name: &str, node: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
        tracing::warn!(node = %name, "node stopped posting its status; marking it Unknown");
        let mut conditions: Vec<Value> = node
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut c| {
                if c.get("status").and_then(Value::as_str) != Some("Unknown") {
                    c["status"] = json!("Unknown");
                    c["reason"] = json!("NodeStatusUnknown");
                    c["message"] = json!("Kubelet stopped posting node status.");
                    c["lastTransitionTime"] = json!(format_time(now));
                }
                c
            })
            .collect();
        if ready_condition(node).is_none() {
            conditions.push(json!({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.", "lastTransitionTime": format_time(now)}));
        }
        let patch = json!({"status": {"conditions": conditions}});
        self.api
            .patch(Self::def("nodes"), "", name, PatchType::Merge, &patch, Part::Status, false, &Self::opts())
            .await?;
        self.events.event(
            node,
            EventType::Normal,
            "NodeNotReady",
            format!("Node {name} status is now: NodeNotReady"),
        );
        for pod in self.pods.get(name).into_iter().flat_map(HashMap::values) {
            mark_pod_not_ready(&self.api, pod, now).await?;
        }
        Ok(())
    }

    /// Keep every other taint; the lifecycle taints are exactly `wanted` (NoSchedule and NoExecute each).
    async fn set_taints(
        &self,
        name: &str,
        node: &Value,
        wanted: &[&str],
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let current: Vec<Value> =
            node.pointer("/spec/taints").and_then(Value::as_array).cloned().unwrap_or_default();
        let ours = |t: &Value| matches!(t.get("key").and_then(Value::as_str), Some(NOT_READY | UNREACHABLE));
        let mut next: Vec<Value> = current.iter().filter(|t| !ours(t)).cloned().collect();
        for key in wanted {
            for effect in [Effect::NoSchedule, Effect::NoExecute] {
                let existing =
                    current.iter().find(|t| t["key"] == json!(key) && t["effect"] == json!(effect.as_str()));
                let taint = existing.cloned().unwrap_or_else(|| {
                    let mut t = json!({"key": key, "effect": effect.as_str()});
                    if effect == Effect::NoExecute {
                        t["timeAdded"] = json!(format_time(now));
                    }
                    t
                });
                next.push(taint);
            }
        }
        if next == current {
            return Ok(());
        }
        let taints = if next.is_empty() { Value::Null } else { json!(next) };
        let patch = json!({"spec": {"taints": taints}});
        self.api
            .patch(Self::def("nodes"), "", name, PatchType::Merge, &patch, Part::Main, false, &Self::opts())
            .await?;
        Ok(())
    }

    /// Upstream's taint manager: evict what does not tolerate the node's NoExecute taints.
    async fn evict(&self, name: &str, node: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
        let taints = Taint::parse_list(node.pointer("/spec/taints"));
        if !taints.iter().any(|t| t.effect == Effect::NoExecute) {
            return Ok(());
        }
        let since = no_execute_since(node).unwrap_or(now);
        for pod in self.pods.get(name).into_iter().flat_map(HashMap::values) {
            if meta::is_deleting(pod) {
                continue;
            }
            let tolerations = Toleration::parse_list(pod.pointer("/spec/tolerations"));
            let due = match no_execute_allowance(&taints, &tolerations) {
                None => true,
                Some(None) => false,
                Some(Some(secs)) => now >= since + chrono::Duration::seconds(secs),
            };
            if due {
                evict_pod(&self.api, &self.events, pod, now).await?;
            }
        }
        Ok(())
    }
}

fn ready_condition(node: &Value) -> Option<&Value> {
    node.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
}

/// When the lifecycle's NoExecute taints were added (their `timeAdded`).
fn no_execute_since(node: &Value) -> Option<DateTime<Utc>> {
    node.pointer("/spec/taints")?
        .as_array()?
        .iter()
        .filter(|t| t.get("effect").and_then(Value::as_str) == Some("NoExecute"))
        .filter_map(|t| t.get("timeAdded").and_then(Value::as_str).and_then(parse_time))
        .min()
}

async fn mark_pod_not_ready(api: &Api, pod: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
    let mut conditions: Vec<Value> =
        pod.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut changed = false;
    for c in conditions.iter_mut().filter(|c| c.get("type").and_then(Value::as_str) == Some("Ready")) {
        if c.get("status").and_then(Value::as_str) != Some("False") {
            c["status"] = json!("False");
            c["reason"] = json!("NodeNotReady");
            c["lastTransitionTime"] = json!(format_time(now));
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    let patch = json!({"status": {"conditions": conditions}});
    let def = registry::by_storage("pods").expect("pods are served");
    let opts = WriteOptions { field_manager: Some(MANAGER.into()), ..Default::default() };
    ignore_gone(
        api.patch(
            def,
            meta::namespace(pod),
            meta::name(pod),
            PatchType::Merge,
            &patch,
            Part::Status,
            false,
            &opts,
        )
        .await
        .map(drop),
    )
}

/// Mark the pod as disrupted (the `DisruptionTarget` condition), then delete it.
async fn evict_pod(api: &Api, events: &Recorder, pod: &Value, now: DateTime<Utc>) -> Result<(), ApiError> {
    let (ns, name) = (meta::namespace(pod), meta::name(pod));
    tracing::info!(namespace = %ns, pod = %name, "evicting a pod from a tainted node");
    let def = registry::by_storage("pods").expect("pods are served");
    let opts = WriteOptions { field_manager: Some(MANAGER.into()), ..Default::default() };
    let mut conditions: Vec<Value> =
        pod.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    conditions.retain(|c| c.get("type").and_then(Value::as_str) != Some("DisruptionTarget"));
    conditions.push(json!({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": format_time(now)}));
    let patch = json!({"status": {"conditions": conditions}});
    ignore_gone(
        api.patch(def, ns, name, PatchType::Merge, &patch, Part::Status, false, &opts).await.map(drop),
    )?;
    events.event(
        pod,
        EventType::Normal,
        "TaintManagerEviction",
        format!("Marking for deletion Pod {ns}/{name}"),
    );
    ignore_gone(api.delete(def, ns, name, &DeleteOptions::default()).await.map(drop))
}

fn ignore_gone(r: Result<(), ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.code == 404 => Ok(()),
        other => other,
    }
}

impl Reconciler for NodeLifecycleController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.nodes.clear();
        self.renewals.clear();
        self.pods.clear();
        for (def, obj) in &objects {
            self.take(def, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.take(ev.def, &ev.object, ev.deleted);
    }

    /// Heartbeats are judged on a timer, so this always asks to run again (every 500 ms). Pod
    /// events alone (the bulk of them) do not make it judge sooner than that.
    async fn reconcile(&mut self, _api: &Api) -> bool {
        let now = tokio::time::Instant::now();
        if self.checked.is_some_and(|t| now.duration_since(t) < CHECK_EVERY) {
            return !self.nodes.is_empty();
        }
        self.checked = Some(now);
        for (name, node) in &self.nodes {
            if let Err(e) = self.check_node(name, node).await {
                tracing::warn!(node = %name, error = %e, "node lifecycle check failed; will retry");
            }
        }
        !self.nodes.is_empty()
    }
}
