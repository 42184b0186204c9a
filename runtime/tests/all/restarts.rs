//! Restart policies, crash-loop back-off, native sidecars and killing one container (what a
//! failed liveness probe does), with the real guests.

use crate::support::*;
use std::time::Duration;
use wasmkube_runtime::{
    ContainerKind, ContainerState, PodPhase, RestartBackoff, RestartPolicy, StartOptions,
};

fn quick_backoff() -> TestRuntime {
    TestRuntime::with_config(|c| {
        c.restart_backoff =
            RestartBackoff { initial: Duration::from_millis(20), max: Duration::from_millis(80) };
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_restarts_a_failing_container_and_keeps_its_last_state() {
    let t = quick_backoff();
    let mut c = command("fails", &t.image("hello"), &[]);
    c.env.push(("EXIT_CODE".into(), "3".into()));
    let mut spec = pod("onfail-1", vec![c]);
    spec.restart_policy = RestartPolicy::OnFailure;
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let mut status = handle.watch();
    let s = tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| s.containers[0].restart_count >= 3),
    )
    .await
    .expect("three restarts within 20 s")
    .unwrap()
    .clone();
    assert_eq!(s.phase, PodPhase::Running, "a restarting pod is Running: {s:#?}");
    assert_eq!(s.containers[0].last_state.as_ref().and_then(ContainerState::exit_code), Some(3));
    let last = handle.stop(Duration::from_secs(1)).await;
    assert!(last.ended);
    assert_eq!(last.containers[0].state.exit_code(), Some(3), "{last:#?}");
    // Every run wrote its own log attempt.
    assert!(t.logs("onfail-1", "fails").contains("Hello, world!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_leaves_a_successful_container_alone_and_always_restarts_it() {
    let t = quick_backoff();
    let hello = t.image("hello");
    let mut once = pod("onfail-ok", vec![command("ok", &hello, &[])]);
    once.restart_policy = RestartPolicy::OnFailure;
    let done = t.rt.start_pod(once, StartOptions::default()).unwrap().wait().await;
    assert_eq!((done.phase, done.containers[0].restart_count), (PodPhase::Succeeded, 0));

    let mut always = pod("always-ok", vec![command("ok", &hello, &[])]);
    always.restart_policy = RestartPolicy::Always;
    let handle = t.rt.start_pod(always, StartOptions::default()).unwrap();
    let mut status = handle.watch();
    tokio::time::timeout(Duration::from_secs(20), status.wait_for(|s| s.containers[0].restart_count >= 2))
        .await
        .expect("Always restarts even a successful container")
        .unwrap();
    handle.stop(Duration::ZERO).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_runs_beside_the_main_container_and_stops_after_it() {
    let t = quick_backoff();
    let mut spec = pod("sidecar-1", Vec::new());
    spec.volumes.push(empty_dir("shared"));
    let mut shipper =
        command("ship", &t.image("log-shipper"), &["--follow", "/shared/app.log", "--interval-ms", "20"]);
    shipper.mounts.push(mount("shared", "/shared"));
    shipper.sidecar = true;
    let mut writer =
        command("app", &t.image("hello"), &["--write", "/shared/app.log", "shipped-by-sidecar\n"]);
    writer.mounts.push(mount("shared", "/shared"));
    spec.init_containers.push(shipper);
    spec.containers.push(writer);
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    // The sidecar must see the line before the pod ends; it is stopped once `app` is done.
    let end = tokio::time::timeout(Duration::from_secs(40), handle.wait()).await.expect("the pod ends");
    assert_eq!(end.phase, PodPhase::Succeeded, "a sidecar never fails the pod: {end:#?}");
    assert!(end.init_containers[0].state.is_terminated());
    let shipped = t.logs("sidecar-1", "ship");
    assert!(shipped.contains("[shipped] shipped-by-sidecar"), "{shipped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_container_restarts_only_it() {
    let t = quick_backoff();
    let web = t.image("http-hello");
    let mut spec = pod("kill-1", Vec::new());
    let mut c = command("web", &web, &[]);
    c.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    spec.containers.push(c);
    spec.restart_policy = RestartPolicy::Always;
    let ip = spec.pod_ip;
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let mut status = handle.watch();
    status.wait_for(|s| matches!(s.containers[0].state, ContainerState::Running { .. })).await.unwrap();
    assert!(handle.kill_container("web", Duration::from_millis(100)));
    assert!(!handle.kill_container("nope", Duration::ZERO));
    let s = tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| {
            s.containers[0].restart_count == 1
                && matches!(s.containers[0].state, ContainerState::Running { .. })
        }),
    )
    .await
    .expect("running again after the kill")
    .unwrap()
    .clone();
    assert!(s.containers[0].last_state.as_ref().is_some_and(ContainerState::is_terminated));
    // The new run holds the pod's port again (the killed run gave it back) and serves.
    let addr = published(&t.rt, ip, 8080).await;
    let reply = tokio::task::spawn_blocking(move || get(addr, "/")).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert_eq!(handle.status().containers[0].restart_count, 1, "the restart succeeded the first time");
    handle.stop(Duration::ZERO).await;
}
