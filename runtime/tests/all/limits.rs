//! Limits and fairness with the misbehaving guests: an endless loop cannot starve other pods,
//! and a memory bomb ends OOMKilled.

use crate::support::*;
use std::time::Duration;
use wasmkube_runtime::{ContainerState, PodPhase, StartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_throttled_while_another_pod_completes() {
    let t = TestRuntime::new();
    let mut spinner = command("spin", &t.image("spin"), &[]);
    spinner.limits.cpu_millis = Some(200);
    let spin = t.rt.start_pod(pod("spin-1", vec![spinner]), StartOptions::default()).unwrap();
    // Two spinners without a limit too: together they would hold both workers forever if guests
    // could not be preempted.
    let busy: Vec<_> = (0..2)
        .map(|i| {
            t.rt.start_pod(
                pod(&format!("spin-free-{i}"), vec![command("spin", &t.image("spin"), &[])]),
                StartOptions::default(),
            )
            .unwrap()
        })
        .collect();
    let mut running = spin.watch();
    running.wait_for(|s| matches!(s.containers[0].state, ContainerState::Running { .. })).await.unwrap();

    let hello =
        t.rt.start_pod(
            pod("hello-beside-spin", vec![command("hello", &t.image("hello"), &[])]),
            StartOptions::default(),
        )
        .unwrap();
    let status = hello.wait().await;
    assert_eq!(status.phase, PodPhase::Succeeded, "{status:#?}");
    assert_eq!(
        spin.status().phase,
        PodPhase::Running,
        "the spinner is still running while the other pod finished"
    );

    let stopped = spin.stop(Duration::ZERO).await;
    assert_eq!(stopped.containers[0].state.exit_code(), Some(137), "{stopped:#?}");
    assert!(stopped.containers[0].cpu_nanos > 0, "CPU time is accounted: {stopped:#?}");
    for b in busy {
        b.stop(Duration::ZERO).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_ends_oom_killed() {
    let t = TestRuntime::new();
    let mut bomb = command("bomb", &t.image("membomb"), &[]);
    bomb.limits.memory_bytes = Some(32 << 20);
    let status = t.rt.start_pod(pod("bomb-1", vec![bomb]), StartOptions::default()).unwrap().wait().await;
    let ContainerState::Terminated { exit_code, reason, message, .. } = &status.containers[0].state else {
        panic!("{status:#?}")
    };
    assert_eq!((*exit_code, reason.as_str()), (137, "OOMKilled"), "{message:?}");
    assert_eq!(status.phase, PodPhase::Failed);
}
