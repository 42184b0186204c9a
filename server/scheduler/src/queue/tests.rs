//! The queue's states and transitions, on a clock passed in (no sleeping).

use super::*;
use crate::testing::pod;
use serde_json::json;

const SEC: Duration = Duration::from_secs(1);

fn queue() -> Queue {
    Queue::new(Timing { initial_backoff: SEC, max_backoff: 4 * SEC, unschedulable_flush: 60 * SEC })
}

fn names(q: &mut Queue, now: Instant) -> Vec<String> {
    std::iter::from_fn(|| q.pop(now)).map(|p| p.name.clone()).collect()
}

#[test]
fn priority_first_then_arrival_order() {
    let (mut q, now) = (queue(), Instant::now());
    q.upsert(pod("a", json!({}), json!({})), now);
    q.upsert(pod("b", json!({}), json!({"priority": 10})), now);
    q.upsert(pod("c", json!({}), json!({})), now);
    assert_eq!(names(&mut q, now), ["b", "a", "c"]);
}

#[test]
fn unschedulable_pods_wait_for_a_change_and_their_backoff() {
    let (mut q, t0) = (queue(), Instant::now());
    q.upsert(pod("a", json!({}), json!({})), t0);
    assert!(q.pop(t0).is_some());
    q.unschedulable("uid-a", t0);
    assert!(q.pop(t0 + 2 * SEC).is_none(), "no change yet");
    q.cluster_changed(t0 + SEC / 2, |_| true);
    assert!(q.pop(t0 + SEC / 2).is_none(), "still backing off");
    assert_eq!(q.next_wakeup(), Some(t0 + SEC));
    assert!(q.pop(t0 + SEC).is_some());
    // Second failure: two seconds of backoff, counted from the attempt.
    q.unschedulable("uid-a", t0 + SEC);
    q.cluster_changed(t0 + 2 * SEC, |_| true);
    assert!(q.pop(t0 + 2 * SEC).is_none());
    assert!(q.pop(t0 + 3 * SEC).is_some());
}

#[test]
fn only_relevant_updates_and_the_flush_requeue() {
    let (mut q, t0) = (queue(), Instant::now());
    q.upsert(pod("a", json!({}), json!({})), t0);
    q.pop(t0);
    q.unschedulable("uid-a", t0);
    // Our own status write comes back as an update with the same spec.
    q.upsert(pod("a", json!({}), json!({})), t0 + 5 * SEC);
    assert!(q.pop(t0 + 5 * SEC).is_none());
    q.upsert(pod("a", json!({"tier": "new"}), json!({})), t0 + 5 * SEC);
    assert!(q.pop(t0 + 5 * SEC).is_some(), "a label change may change the decision");
    q.unschedulable("uid-a", t0 + 5 * SEC);
    assert!(q.pop(t0 + 30 * SEC).is_none());
    assert!(q.pop(t0 + 66 * SEC).is_some(), "flushed after a minute");
}

#[test]
fn a_failed_bind_retries_after_backoff() {
    let (mut q, t0) = (queue(), Instant::now());
    q.upsert(pod("a", json!({}), json!({})), t0);
    q.pop(t0);
    assert_eq!(q.get("uid-a").map(|e| e.state), Some(State::Binding));
    q.retry_later("uid-a", t0);
    assert!(q.pop(t0).is_none());
    assert!(q.pop(t0 + SEC).is_some());
    q.retain(|_| false);
    assert!(q.is_empty());
}
