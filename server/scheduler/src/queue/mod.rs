//! The scheduling queue: pods waiting for a node, as upstream's (active, backoff and
//! unschedulable queues).
//!
//! - *active*: ready to try, highest `spec.priority` first, then first come first served;
//! - *backoff*: waiting out a pause after a failure (1 s, doubling per attempt, capped at
//!   10 s by default) before becoming active again;
//! - *unschedulable*: tried and found no node; waits for a change in the cluster that could
//!   help ([`Queue::cluster_changed`]), then goes through backoff. A pod that waits longer than
//!   the flush interval is retried anyway, in case some change went unnoticed;
//! - *binding*: a node was chosen and the bind is in flight.

use crate::model::pod::PodInfo;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Backoff,
    Unschedulable,
    Binding,
}

#[derive(Debug)]
pub struct Entry {
    pub pod: Arc<PodInfo>,
    pub state: State,
    pub attempts: u32,
    last_attempt: Option<Instant>,
    /// Which heap push is current; older heap entries for this pod are stale.
    ticket: u64,
    /// The last unschedulable message written for this pod (condition and event).
    pub reported: Option<String>,
}

/// Backoff and flush timings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub unschedulable_flush: Duration,
}

#[derive(Debug)]
pub struct Queue {
    timing: Timing,
    pending: HashMap<String, Entry>,
    active: BinaryHeap<(i64, Reverse<u64>, String)>,
    backoff: BinaryHeap<Reverse<(Instant, u64, String)>>,
    unschedulable: HashSet<String>,
    tickets: u64,
    next_flush: Option<Instant>,
}

impl Queue {
    pub fn new(timing: Timing) -> Queue {
        Queue {
            timing,
            pending: HashMap::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            unschedulable: HashSet::new(),
            tickets: 0,
            next_flush: None,
        }
    }

    pub fn get(&self, uid: &str) -> Option<&Entry> {
        self.pending.get(uid)
    }

    pub fn get_mut(&mut self, uid: &str) -> Option<&mut Entry> {
        self.pending.get_mut(uid)
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn has_active(&self) -> bool {
        !self.active.is_empty()
    }

    fn backoff_for(&self, attempts: u32) -> Duration {
        let doubled = self.timing.initial_backoff.saturating_mul(1 << attempts.saturating_sub(1).min(16));
        doubled.min(self.timing.max_backoff)
    }

    fn push_active(&mut self, uid: &str) {
        self.tickets += 1;
        if let Some(e) = self.pending.get_mut(uid) {
            e.state = State::Active;
            e.ticket = self.tickets;
            self.active.push((e.pod.spec.priority, Reverse(self.tickets), uid.to_string()));
        }
    }

    /// Active now if the pod's backoff since its last attempt is over, else after it.
    fn activate_after_backoff(&mut self, uid: &str, now: Instant) {
        let Some(e) = self.pending.get(uid) else { return };
        let due = e.last_attempt.map(|t| t + self.backoff_for(e.attempts));
        match due {
            Some(due) if due > now => {
                self.tickets += 1;
                let e = self.pending.get_mut(uid).expect("just read");
                e.state = State::Backoff;
                e.ticket = self.tickets;
                self.backoff.push(Reverse((due, self.tickets, uid.to_string())));
            }
            _ => self.push_active(uid),
        }
    }

    /// A pending pod appeared or changed. A change that could alter the decision makes a
    /// waiting pod try again (after its backoff); a status-only change does not.
    pub fn upsert(&mut self, pod: Arc<PodInfo>, now: Instant) {
        let uid = pod.uid.clone();
        let Some(e) = self.pending.get_mut(&uid) else {
            let entry = Entry {
                pod,
                state: State::Active,
                attempts: 0,
                last_attempt: None,
                ticket: 0,
                reported: None,
            };
            self.pending.insert(uid.clone(), entry);
            self.push_active(&uid);
            return;
        };
        let relevant = e.pod.spec != pod.spec;
        e.pod = pod;
        if relevant && e.state == State::Unschedulable {
            self.unschedulable.remove(&uid);
            self.activate_after_backoff(&uid, now);
        }
    }

    pub fn remove(&mut self, uid: &str) -> Option<Entry> {
        self.unschedulable.remove(uid);
        self.pending.remove(uid)
    }

    /// Forget every pod `keep` rejects (after a relist).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.pending.retain(|uid, _| keep(uid));
        self.unschedulable.retain(|uid| keep(uid));
    }

    /// The next pod to try, after moving pods whose backoff is over to active.
    pub fn pop(&mut self, now: Instant) -> Option<Arc<PodInfo>> {
        self.flush(now);
        while let Some((_, Reverse(ticket), uid)) = self.active.pop() {
            match self.pending.get_mut(&uid) {
                Some(e) if e.ticket == ticket && e.state == State::Active => {
                    e.state = State::Binding;
                    e.last_attempt = Some(now);
                    return Some(e.pod.clone());
                }
                _ => continue,
            }
        }
        None
    }

    /// No node fits: wait for a cluster change (or the flush).
    pub fn unschedulable(&mut self, uid: &str, now: Instant) {
        if let Some(e) = self.pending.get_mut(uid) {
            e.attempts += 1;
            e.state = State::Unschedulable;
            e.last_attempt = Some(now);
            self.unschedulable.insert(uid.to_string());
            self.next_flush.get_or_insert(now + self.timing.unschedulable_flush);
        }
    }

    /// The bind failed: try again after the backoff.
    pub fn retry_later(&mut self, uid: &str, now: Instant) {
        if let Some(e) = self.pending.get_mut(uid) {
            e.attempts += 1;
            e.last_attempt = Some(now);
            self.activate_after_backoff(uid, now);
        }
    }

    /// Something changed that may let waiting pods fit; `affected` picks which.
    pub fn cluster_changed(&mut self, now: Instant, affected: impl Fn(&PodInfo) -> bool) {
        if self.unschedulable.is_empty() {
            return;
        }
        let moving: Vec<String> = self
            .unschedulable
            .iter()
            .filter(|uid| self.pending.get(*uid).is_some_and(|e| affected(&e.pod)))
            .cloned()
            .collect();
        for uid in moving {
            self.unschedulable.remove(&uid);
            self.activate_after_backoff(&uid, now);
        }
    }

    fn flush(&mut self, now: Instant) {
        while let Some(Reverse((due, ticket, _))) = self.backoff.peek() {
            if *due > now {
                break;
            }
            let (ticket, uid) = (*ticket, self.backoff.pop().expect("peeked").0.2);
            if self.pending.get(&uid).is_some_and(|e| e.ticket == ticket && e.state == State::Backoff) {
                self.push_active(&uid);
            }
        }
        if self.next_flush.is_some_and(|t| t <= now) {
            self.next_flush = None;
            let limit = self.timing.unschedulable_flush;
            let stale = |e: &Entry| e.last_attempt.is_none_or(|t| now.duration_since(t) >= limit);
            let due: Vec<String> = self
                .unschedulable
                .iter()
                .filter(|u| self.pending.get(*u).is_some_and(stale))
                .cloned()
                .collect();
            for uid in due {
                self.unschedulable.remove(&uid);
                self.push_active(&uid);
            }
            if !self.unschedulable.is_empty() {
                self.next_flush = Some(now + limit / 4);
            }
        }
    }

    /// When a waiting pod next becomes active, if none is active now.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let backoff = self.backoff.peek().map(|Reverse((due, _, _))| *due);
        match (backoff, self.next_flush) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests;
