//! Which objects a controller must look at: those an event touched, and those that asked to be
//! looked at again at a time (deadlines, minReadySeconds, schedules, back-off).

use crate::cache::Key;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct WorkQueue {
    dirty: BTreeSet<Key>,
    timers: BTreeMap<Key, DateTime<Utc>>,
}

impl WorkQueue {
    pub fn clear(&mut self) {
        self.dirty.clear();
        self.timers.clear();
    }

    pub fn add(&mut self, key: Key) {
        self.dirty.insert(key);
    }

    /// Look at `key` again at `at` (the earliest of several requests wins).
    pub fn add_at(&mut self, key: Key, at: DateTime<Utc>) {
        let slot = self.timers.entry(key).or_insert(at);
        if at < *slot {
            *slot = at;
        }
    }

    /// Everything due at `now`; timers that fired are forgotten.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Key> {
        let due: Vec<Key> =
            self.timers.iter().filter(|(_, at)| **at <= now).map(|(k, _)| k.clone()).collect();
        for k in &due {
            self.timers.remove(k);
        }
        let mut keys = std::mem::take(&mut self.dirty);
        keys.extend(due);
        keys.into_iter().collect()
    }

    /// Whether anything is waiting (the run loop then polls).
    pub fn has_work(&self) -> bool {
        !self.timers.is_empty() || !self.dirty.is_empty()
    }
}

/// How often one reconcile goes back for objects its own syncs made due again (a sync that
/// writes an object requeues it, as an informer seeing the write would).
const PASSES: usize = 4;

/// A controller whose work is one sync per due key of its [`WorkQueue`].
pub(crate) trait QueueSync {
    fn queue(&mut self) -> &mut WorkQueue;
    fn context(&self) -> &crate::context::Ctx;
    fn sync(&mut self, key: &Key) -> impl Future<Output = Result<(), wasmkube_api::ApiError>> + Send;
}

/// Sync every due key, going back up to [`PASSES`] times for keys the syncs made due again;
/// failed keys are queued again. Returns whether the run loop must come back.
pub(crate) async fn drain<C: QueueSync + Send>(c: &mut C) -> bool {
    let mut failed = Vec::new();
    for _ in 0..PASSES {
        let now = c.context().now();
        let due = c.queue().take_due(now);
        if due.is_empty() {
            break;
        }
        for key in due {
            if let Err(e) = c.sync(&key).await {
                log_failure(c.context().name, &key, &e);
                failed.push(key);
            }
        }
    }
    let retry = !failed.is_empty();
    failed.into_iter().for_each(|k| c.queue().add(k));
    retry || c.queue().has_work()
}

/// Log a failed sync the way its cause deserves: conflicts and vanished objects are routine.
pub(crate) fn log_failure(controller: &str, key: &Key, e: &wasmkube_api::ApiError) {
    if e.code == 409 || e.code == 404 {
        tracing::debug!(controller, namespace = %key.0, name = %key.1, error = %e, "sync will be retried");
    } else {
        tracing::warn!(controller, namespace = %key.0, name = %key.1, error = %e, "sync failed; will retry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_once_when_due() {
        let t0 = DateTime::<Utc>::from_timestamp(1000, 0).unwrap();
        let mut q = WorkQueue::default();
        let k = ("ns".to_string(), "a".to_string());
        q.add_at(k.clone(), t0 + chrono::Duration::seconds(10));
        q.add_at(k.clone(), t0 + chrono::Duration::seconds(5));
        assert!(q.take_due(t0).is_empty());
        assert_eq!(q.take_due(t0 + chrono::Duration::seconds(5)), vec![k]);
        assert!(!q.has_work());
    }
}
