//! The DaemonSet rolling update (upstream `rollingUpdate`): without surge, old pods are
//! deleted while no more than maxUnavailable nodes lack an available pod (the core sync then
//! creates the new ones); with surge, new pods start next to old ones and each old pod goes
//! once its replacement is available.

use super::DaemonSetController;
use super::nodes::should_run;
use super::sync::{NodePods, daemon_spec, label, min_ready};
use crate::deployment::util::scaled_value;
use crate::pods::is_available;
use crate::revisions::HASH_LABEL;
use serde_json::Value;
use std::sync::Arc;
use wasmkube_api::{ApiError, meta};

fn rolling(ds: &Value) -> Option<&Value> {
    ds.pointer("/spec/updateStrategy/rollingUpdate")
}

/// `AllowsSurge`.
pub(super) fn allows_surge(ds: &Value) -> bool {
    let is_rolling = ds.pointer("/spec/updateStrategy/type").and_then(Value::as_str) != Some("OnDelete");
    is_rolling && scaled_value(rolling(ds).and_then(|r| r.get("maxSurge")), 1, true) != 0
}

/// (maxSurge, maxUnavailable) for `desired` nodes, both rounded up; neither means one unavailable.
fn budgets(ds: &Value, desired: i64) -> (i64, i64) {
    let surge = scaled_value(rolling(ds).and_then(|r| r.get("maxSurge")), desired, true);
    let unavailable = scaled_value(rolling(ds).and_then(|r| r.get("maxUnavailable")), desired, true);
    if desired > 0 && surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

/// A node's pod of the current revision and its pod of an older one.
type NewAndOld = (Option<Arc<Value>>, Option<Arc<Value>>);

/// `findUpdatedPodsOnNode`: the node's (new, old) pod, or None with more than one of either.
fn updated_and_old(pods: &[Arc<Value>], hash: &str) -> Option<NewAndOld> {
    let (mut new, mut old) = (None, None);
    for pod in pods.iter().filter(|p| !meta::is_deleting(p)) {
        let slot = if label(pod, HASH_LABEL).as_deref() == Some(hash) { &mut new } else { &mut old };
        if slot.replace(pod.clone()).is_some() {
            return None;
        }
    }
    Some((new, old))
}

impl DaemonSetController {
    pub(super) async fn rolling_update(&mut self, ds: &Value, hash: &str) -> Result<(), ApiError> {
        let spec = daemon_spec(ds);
        let mut node_pods = self.node_pods(ds);
        let mut desired = 0;
        for node in self.nodes.iter() {
            if should_run(&spec, node).0 {
                desired += 1;
                node_pods.entry(meta::name(node).to_string()).or_default();
            }
        }
        let (surge, unavailable) = budgets(ds, desired);
        if surge == 0 {
            let old = self.replaceable(ds, hash, &node_pods, unavailable);
            return self.delete_pods(ds, &old).await;
        }
        let (old, new_nodes) = self.surge(ds, hash, &node_pods, surge, desired);
        self.create_pods(ds, hash, &new_nodes).await?;
        self.delete_pods(ds, &old).await
    }

    /// Old pods to delete within the unavailability budget: unavailable old pods always,
    /// available ones while the budget lasts.
    fn replaceable(&self, ds: &Value, hash: &str, node_pods: &NodePods, max_unavailable: i64) -> Vec<Value> {
        let now = self.ctx.now();
        let (mut unavailable, mut replace, mut candidates) = (0, Vec::new(), Vec::new());
        for pods in node_pods.values() {
            let Some((new, old)) = updated_and_old(pods, hash) else {
                unavailable += 1; // the core sync is removing excess pods here
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(new), None) => unavailable += i64::from(!is_available(&new, min_ready(ds), now)),
                (None, Some(old)) if !is_available(&old, min_ready(ds), now) => {
                    replace.push((*old).clone());
                    unavailable += 1;
                }
                (None, Some(_)) if unavailable >= max_unavailable => {}
                (None, Some(old)) => candidates.push((*old).clone()),
            }
        }
        let room = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
        replace.extend(candidates.into_iter().take(room));
        replace
    }

    /// With surge: (old pods to delete, nodes to start a new pod on).
    fn surge(
        &self,
        ds: &Value,
        hash: &str,
        node_pods: &NodePods,
        max_surge: i64,
        desired: i64,
    ) -> (Vec<Value>, Vec<String>) {
        let (now, spec) = (self.ctx.now(), daemon_spec(ds));
        let available = |p: &Value| is_available(p, min_ready(ds), now);
        let runs = |node: &str| {
            self.nodes.iter().find(|n| meta::name(n) == node).is_some_and(|n| should_run(&spec, n).0)
        };
        let (mut delete, mut not_wanted, mut allowed, mut candidates) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut surging, mut num_available) = (0, 0);
        for (node, pods) in node_pods {
            let Some((new, old)) = updated_and_old(pods, hash) else {
                surging += 1;
                continue;
            };
            num_available += i64::from(old.as_ref().or(new.as_ref()).is_some_and(|p| available(p)));
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) if !available(&old) => {
                    if runs(node) {
                        allowed.push(node.clone())
                    } else {
                        delete.push((*old).clone())
                    }
                }
                (None, Some(old)) if !runs(node) => not_wanted.push((*old).clone()),
                (None, Some(_)) if surging >= max_surge => {}
                (None, Some(_)) => candidates.push(node.clone()),
                (Some(new), Some(_)) if !available(&new) => surging += 1,
                (Some(_), Some(old)) => delete.push((*old).clone()),
            }
        }
        // Pods on nodes that no longer want them go only while the others keep full availability.
        let deletable = (num_available - desired).clamp(0, not_wanted.len() as i64) as usize;
        delete.extend(not_wanted.into_iter().take(deletable));
        let room = (max_surge - surging).clamp(0, candidates.len() as i64) as usize;
        allowed.extend(candidates.into_iter().take(room));
        (delete, allowed)
    }
}
