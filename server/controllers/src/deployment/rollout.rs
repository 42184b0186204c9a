//! The strategies (RollingUpdate, Recreate), scaling (proportional mid-rollout) and the paused
//! path of a Deployment sync.

use super::DeploymentController;
use super::status::{complete, new_condition, set_deployment_condition};
use super::util::{
    DESIRED_REPLICAS, annotation_int, by_creation, by_size, max_surge, max_unavailable, new_rs_new_replicas,
    progress_deadline, proportion, spec_replicas, status_int,
};
use serde_json::Value;
use wasmkube_api::{ApiError, meta};

fn active(sets: &[Value]) -> Vec<Value> {
    sets.iter().filter(|rs| spec_replicas(rs) > 0).cloned().collect()
}

fn paused(d: &Value) -> bool {
    d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true)
}

/// Available pods a set will keep: a set just scaled down still reports the pods it is about
/// to delete (the least available first), so its availability is capped by its size. Upstream
/// reads the status alone and can briefly dip below `maxUnavailable` on a stale status.
fn available(rs: &Value) -> i64 {
    status_int(rs, "availableReplicas").min(spec_replicas(rs))
}

fn all_of(old: &[Value], new: Option<&Value>) -> Vec<Value> {
    old.iter().cloned().chain(new.cloned()).collect()
}

impl DeploymentController {
    /// The cached (possibly just written) version of each set.
    fn fresh(&self, sets: &[Value]) -> Vec<Value> {
        sets.iter()
            .map(|rs| self.sets.by_uid(meta::uid(rs)).map_or_else(|| rs.clone(), |r| (**r).clone()))
            .collect()
    }

    /// `checkPausedConditions`: Progressing=Unknown DeploymentPaused / DeploymentResumed.
    pub(super) async fn check_paused_conditions(&mut self, mut d: Value) -> Result<Value, ApiError> {
        if progress_deadline(&d).is_none() {
            return Ok(d);
        }
        let reason = d.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| {
            cs.iter()
                .find(|c| c["type"] == "Progressing")
                .and_then(|c| c["reason"].as_str().map(String::from))
        });
        if reason.as_deref() == Some("ProgressDeadlineExceeded") {
            return Ok(d);
        }
        let paused_cond = reason.as_deref() == Some("DeploymentPaused");
        let cond = match (paused(&d), paused_cond) {
            (true, false) => ("DeploymentPaused", "Deployment is paused"),
            (false, true) => ("DeploymentResumed", "Deployment is resumed"),
            _ => return Ok(d),
        };
        set_deployment_condition(
            &mut d,
            new_condition("Progressing", "Unknown", cond.0, cond.1, &self.ctx.now_str()),
        );
        self.write_status(&mut d).await?;
        Ok(d)
    }

    /// `isScalingEvent`: an active set was last scaled for another Deployment size.
    pub(super) async fn is_scaling_event(&mut self, d: &mut Value, sets: &[Value]) -> Result<bool, ApiError> {
        let (new, old) = self.new_and_old(d, sets, false).await?;
        let want = spec_replicas(d);
        Ok(active(&all_of(&old, new.as_ref()))
            .iter()
            .any(|rs| annotation_int(rs, DESIRED_REPLICAS).is_some_and(|desired| desired != want)))
    }

    pub(super) async fn sync_status_only(&mut self, mut d: Value, sets: &[Value]) -> Result<(), ApiError> {
        let (new, old) = self.new_and_old(&mut d, sets, false).await?;
        let all = all_of(&old, new.as_ref());
        self.sync_status(&all.iter().collect::<Vec<_>>(), new.as_ref(), d).await
    }

    /// Upstream `sync`: scaling (and cleanup while paused) without rolling anything out.
    pub(super) async fn sync_scale(&mut self, mut d: Value, sets: &[Value]) -> Result<(), ApiError> {
        let (new, old) = self.new_and_old(&mut d, sets, false).await?;
        self.scale_deployment(&d, new.as_ref(), &old).await?;
        let (new, old) = (new.map(|n| self.fresh(&[n]).remove(0)), self.fresh(&old));
        if paused(&d) {
            self.cleanup(&old, &d).await?;
        }
        let all = all_of(&old, new.as_ref());
        self.sync_status(&all.iter().collect::<Vec<_>>(), new.as_ref(), d).await
    }

    /// Upstream `scale`: one active set takes the whole size; a saturated new set means the old
    /// ones go; otherwise the change is spread over the active sets in proportion.
    async fn scale_deployment(
        &mut self,
        d: &Value,
        new: Option<&Value>,
        old: &[Value],
    ) -> Result<(), ApiError> {
        let want = spec_replicas(d);
        let mut newest_first = old.to_vec();
        newest_first.sort_by(|a, b| by_creation(b, a));
        let all_active = active(&all_of(&newest_first, new));
        let single = match all_active.len() {
            0 => new.cloned().or_else(|| newest_first.first().cloned()),
            1 => Some(all_active[0].clone()),
            _ => None,
        };
        if let Some(rs) = single {
            if spec_replicas(&rs) != want {
                self.scale_to(&rs, want, d).await?;
            }
            return Ok(());
        }
        if let Some(n) = new.filter(|n| {
            annotation_int(n, DESIRED_REPLICAS) == Some(want)
                && spec_replicas(n) == want
                && status_int(n, "availableReplicas") == want
        }) {
            let _ = n;
            for rs in active(old) {
                self.scale_to(&rs, 0, d).await?;
            }
            return Ok(());
        }
        if !super::util::is_rolling(d) {
            return Ok(());
        }
        let mut sets = all_active;
        let current: i64 = sets.iter().map(spec_replicas).sum();
        let allowed = if want > 0 { want + max_surge(d) } else { 0 };
        let to_add = allowed - current;
        let op = if to_add > 0 { "up" } else { "down" };
        sets.sort_by(|a, b| by_size(a, b, to_add > 0));
        let mut sizes: Vec<i64> = Vec::with_capacity(sets.len());
        let mut added = 0;
        for rs in &sets {
            let p = if to_add != 0 { proportion(rs, d, to_add, added) } else { 0 };
            sizes.push(spec_replicas(rs) + p);
            added += p;
        }
        if to_add != 0 {
            sizes[0] = (sizes[0] + to_add - added).max(0);
        }
        for (rs, size) in sets.iter().zip(sizes) {
            self.resize(rs, size, d, op).await?;
        }
        Ok(())
    }

    /// `rolloutRolling`: grow the new set within the surge, then shrink old sets within the
    /// unavailability budget.
    pub(super) async fn rollout_rolling(&mut self, mut d: Value, sets: &[Value]) -> Result<(), ApiError> {
        let (new, old) = self.new_and_old(&mut d, sets, true).await?;
        let new = new.expect("the new replica set was created");
        let all = all_of(&old, Some(&new));
        let want = spec_replicas(&d);
        let target = if spec_replicas(&new) > want {
            want
        } else {
            new_rs_new_replicas(&d, &all.iter().collect::<Vec<_>>(), &new)
        };
        let (scaled_up, _) = self.scale_to(&new, target, &d).await?;
        let scaled_down = !scaled_up && self.reconcile_old(&active(&old), &new, &d).await?;
        let (new, old) = (self.fresh(&[new]).remove(0), self.fresh(&old));
        if !scaled_up && !scaled_down && complete(&d, d.get("status").unwrap_or(&Value::Null)) {
            self.cleanup(&old, &d).await?;
        }
        let all = all_of(&old, Some(&new));
        self.sync_rollout_status(&all.iter().collect::<Vec<_>>(), Some(&new), d).await
    }

    /// `reconcileOldReplicaSets`: unhealthy old pods go first, then healthy ones while enough
    /// stay available.
    async fn reconcile_old(&mut self, old: &[Value], new: &Value, d: &Value) -> Result<bool, ApiError> {
        let old_pods: i64 = old.iter().map(spec_replicas).sum();
        if old_pods == 0 {
            return Ok(false);
        }
        let all_pods = old_pods + spec_replicas(new);
        let min_available = spec_replicas(d) - max_unavailable(d);
        let new_unavailable = spec_replicas(new) - status_int(new, "availableReplicas");
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        let mut old = old.to_vec();
        old.sort_by(by_creation);
        let mut cleaned = 0;
        for rs in &mut old {
            let size = spec_replicas(rs);
            if cleaned >= max_scaled_down || size == 0 || size == available(rs) {
                continue;
            }
            let n = (max_scaled_down - cleaned).min(size - available(rs));
            *rs = self.scale_to(rs, size - n, d).await?.1;
            cleaned += n;
        }
        let available_now: i64 = old.iter().chain(std::iter::once(new)).map(available).sum();
        if available_now <= min_available {
            return Ok(cleaned > 0);
        }
        let to_scale_down = available_now - min_available;
        let mut scaled = 0;
        for rs in &old {
            let size = spec_replicas(rs);
            if scaled >= to_scale_down || size == 0 {
                continue;
            }
            let n = size.min(to_scale_down - scaled);
            self.scale_to(rs, size - n, d).await?;
            scaled += n;
        }
        Ok(cleaned + scaled > 0)
    }

    /// `rolloutRecreate`: every old pod gone before the new set is scaled up.
    pub(super) async fn rollout_recreate(&mut self, mut d: Value, sets: &[Value]) -> Result<(), ApiError> {
        let (new, old) = self.new_and_old(&mut d, sets, false).await?;
        let mut scaled_down = false;
        for rs in active(&old) {
            scaled_down |= self.scale_to(&rs, 0, &d).await?.0;
        }
        let old = self.fresh(&old);
        let old_running = old.iter().any(|rs| status_int(rs, "replicas") > 0) || self.pods_running(&old);
        if scaled_down || old_running {
            let all = all_of(&old, new.as_ref());
            return self.sync_rollout_status(&all.iter().collect::<Vec<_>>(), new.as_ref(), d).await;
        }
        let new = match new {
            Some(n) => n,
            None => self.new_and_old(&mut d, sets, true).await?.0.expect("the new replica set was created"),
        };
        let new = self.scale_to(&new, spec_replicas(&d), &d).await?.1;
        if complete(&d, d.get("status").unwrap_or(&Value::Null)) {
            self.cleanup(&old, &d).await?;
        }
        let all = all_of(&old, Some(&new));
        self.sync_rollout_status(&all.iter().collect::<Vec<_>>(), Some(&new), d).await
    }
}
