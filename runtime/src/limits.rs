//! Limits and fairness: the pod's memory cap shared by all its stores, CPU throttling and
//! accounting through epoch callbacks, and bounds on per-store tables and instances.
//!
//! Memory is accounted per pod because Kubernetes' `limits.memory` is enforced on the pod's
//! cgroup: the containers of one pod draw from one budget. Every store of the pod holds a
//! [`StoreLimiter`] pointing at the same [`PodMemory`]; a store returns what it used on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
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

/// CPU accounting and throttling of one store.
///
/// CPU time is the time the guest holds an executor thread: every poll of the future that runs
/// it ([`timed`]) is measured, so time parked waiting for I/O or a timer never counts, and host
/// work done inside the poll (a file read, a socket write) counts as a process's system time
/// does. Every epoch tick the guest reaches a deadline and yields to the executor, so an endless
/// loop cannot starve other pods; with `cpu_millis` below 1000 it also sleeps long enough to keep
/// its share of the CPU it used since its last pause.
pub struct CpuMeter {
    clock: Arc<PollClock>,
    millis: Option<u32>,
}

/// What the measured polls of one store share with its epoch callback.
pub struct PollClock {
    /// The container's CPU time (every store of the container adds to it).
    total: Arc<AtomicU64>,
    /// When the current poll began (or the last epoch callback ran), in nanoseconds since
    /// [`clock_base`]; 0 outside a poll.
    mark: AtomicU64,
    /// CPU time since the guest last paused for its CPU limit.
    since_pause: AtomicU64,
}

/// The process-wide origin of [`PollClock`] marks.
fn clock_now() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    // Never 0, which means "not in a poll".
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
}

impl PollClock {
    fn enter(&self) {
        self.mark.store(clock_now(), Ordering::Relaxed);
    }

    /// Account the time since the mark; the mark moves to now, or is cleared when the poll ends.
    fn account(&self, keep_running: bool) {
        let now = clock_now();
        let mark = self.mark.swap(if keep_running { now } else { 0 }, Ordering::Relaxed);
        if mark != 0 {
            let ran = now.saturating_sub(mark);
            self.total.fetch_add(ran, Ordering::Relaxed);
            self.since_pause.fetch_add(ran, Ordering::Relaxed);
        }
    }
}

impl CpuMeter {
    pub fn new(total: Arc<AtomicU64>, millis: Option<u32>) -> Self {
        let clock = PollClock { total, mark: AtomicU64::new(0), since_pause: AtomicU64::new(0) };
        CpuMeter { clock: Arc::new(clock), millis }
    }

    /// The clock to run this store's guest calls under ([`timed`]).
    pub fn clock(&self) -> Arc<PollClock> {
        self.clock.clone()
    }

    /// An epoch tick: account what ran so far; returns how long to pause before going on.
    fn slice_ended(&mut self) -> Option<Duration> {
        self.clock.account(true);
        let millis = self.millis.filter(|m| *m < 1000)?.max(1);
        let ran = Duration::from_nanos(self.clock.since_pause.swap(0, Ordering::Relaxed));
        Some(ran * (1000 - millis) / millis)
    }
}

/// Run `guest` (a future that drives a store's guest code) with every poll's time added to
/// the store's CPU time.
pub async fn timed<F: std::future::Future>(clock: Arc<PollClock>, guest: F) -> F::Output {
    let mut guest = std::pin::pin!(guest);
    std::future::poll_fn(|cx| {
        clock.enter();
        let result = guest.as_mut().poll(cx);
        clock.account(false);
        result
    })
    .await
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
