//! Limits and fairness: the pod's memory cap shared by all its stores, CPU throttling and
//! accounting through epoch callbacks, and bounds on per-store tables and instances.
//!
//! Memory is accounted per pod because Kubernetes' `limits.memory` is enforced on the pod's
//! cgroup: the containers of one pod draw from one budget. Every store of the pod holds a
//! [`StoreLimiter`] pointing at the same [`PodMemory`]; a store returns what it used on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};

use crate::host::Host;

/// Most wasm tables one store may create (and core instances / memories below): generous for
/// adapter-built components, small enough that a hostile component cannot exhaust the pool.
const MAX_TABLES: usize = 64;
const MAX_INSTANCES: usize = 64;
const MAX_MEMORIES: usize = 16;
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// The trap raised when a guest grows memory beyond its container's or its pod's limit.
#[derive(Debug, thiserror::Error)]
#[error("memory limit exceeded: growing to {desired} bytes would exceed the {scope} limit of {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub desired: u64,
    pub limit: u64,
    pub scope: &'static str,
}

/// One pod's memory budget, shared by the stores of all its containers.
#[derive(Debug)]
pub struct PodMemory {
    limit: Option<u64>,
    used: AtomicU64,
}

impl PodMemory {
    pub fn new(limit: Option<u64>) -> Arc<Self> {
        Arc::new(PodMemory { limit, used: AtomicU64::new(0) })
    }

    /// Linear memory currently held by the pod's instances, in bytes.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn try_reserve(&self, delta: u64) -> Result<(), MemoryLimitExceeded> {
        let limit = self.limit.unwrap_or(u64::MAX);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(delta).filter(|total| *total <= limit)
            })
            .map(drop)
            .map_err(|used| MemoryLimitExceeded { desired: used + delta, limit, scope: "pod" })
    }
}

/// The `ResourceLimiter` of one store: its container's own cap, then the pod's budget.
pub struct StoreLimiter {
    pod: Arc<PodMemory>,
    container_limit: Option<u64>,
    used: u64,
    /// Set when a growth was refused, so the container ends as `OOMKilled` however the guest
    /// reacts to the trap.
    oom: Arc<AtomicBool>,
}

impl StoreLimiter {
    pub fn new(pod: Arc<PodMemory>, container_limit: Option<u64>, oom: Arc<AtomicBool>) -> Self {
        StoreLimiter { pod, container_limit, used: 0, oom }
    }
}

impl Drop for StoreLimiter {
    fn drop(&mut self) {
        self.pod.used.fetch_sub(self.used, Ordering::AcqRel);
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if max.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let delta = desired.saturating_sub(current) as u64;
        let desired_total = self.used + delta;
        if let Some(limit) = self.container_limit.filter(|limit| desired_total > *limit) {
            self.oom.store(true, Ordering::Relaxed);
            return Err(MemoryLimitExceeded { desired: desired_total, limit, scope: "container" }.into());
        }
        if let Err(e) = self.pod.try_reserve(delta) {
            self.oom.store(true, Ordering::Relaxed);
            return Err(e.into());
        }
        self.used = desired_total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && max.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// CPU accounting and throttling of one store, driven by epoch deadlines.
///
/// Every epoch tick the guest reaches a deadline and the callback runs: the time since the
/// guest last resumed is added to its CPU time (capped at two ticks, since time spent parked in
/// the executor is not CPU), and the guest yields to the executor so that an endless loop cannot
/// starve other pods. With `cpu_millis` below 1000 it also sleeps long enough to keep its share.
pub struct CpuMeter {
    cpu_nanos: Arc<AtomicU64>,
    millis: Option<u32>,
    tick: Duration,
    last_resume: Instant,
}

impl CpuMeter {
    pub fn new(cpu_nanos: Arc<AtomicU64>, millis: Option<u32>, tick: Duration) -> Self {
        CpuMeter { cpu_nanos, millis, tick, last_resume: Instant::now() }
    }

    /// Account the slice that just ended; returns how long to pause before the next one.
    fn slice_ended(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let ran = now.saturating_duration_since(self.last_resume).min(self.tick * 2);
        self.cpu_nanos.fetch_add(ran.as_nanos() as u64, Ordering::Relaxed);
        let pause = self.millis.filter(|m| *m < 1000).map(|m| ran * (1000 - m.max(1)) / m.max(1));
        self.last_resume = now + pause.unwrap_or_default();
        pause
    }

    /// Account the final partial slice when the guest call returns.
    pub fn finish(&mut self) {
        self.slice_ended();
    }
}

/// Make `store` yield (and account CPU) at every epoch tick.
pub fn install_epoch_policy(store: &mut Store<Host>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        Ok(match ctx.data_mut().cpu.slice_ended() {
            None => UpdateDeadline::Yield(1),
            Some(pause) => UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep(pause))),
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 64 * 1024;

    #[test]
    fn stores_of_one_pod_draw_from_one_budget_and_return_it_on_drop() {
        let pod = PodMemory::new(Some(10 * PAGE as u64));
        let oom = Arc::new(AtomicBool::new(false));
        let mut a = StoreLimiter::new(pod.clone(), None, oom.clone());
        let mut b = StoreLimiter::new(pod.clone(), None, oom.clone());
        assert!(a.memory_growing(0, 6 * PAGE, None).unwrap());
        let err = b.memory_growing(0, 6 * PAGE, None).unwrap_err();
        assert!(err.downcast_ref::<MemoryLimitExceeded>().is_some());
        assert!(oom.load(Ordering::Relaxed));
        drop(a);
        assert_eq!(pod.used(), 0);
        assert!(b.memory_growing(0, 6 * PAGE, None).unwrap());
    }

    #[test]
    fn a_container_limit_binds_before_the_pod_limit() {
        let pod = PodMemory::new(None);
        let oom = Arc::new(AtomicBool::new(false));
        let mut a = StoreLimiter::new(pod, Some(2 * PAGE as u64), oom);
        assert!(a.memory_growing(0, 2 * PAGE, None).unwrap());
        assert!(a.memory_growing(2 * PAGE, 3 * PAGE, None).is_err());
    }
}
