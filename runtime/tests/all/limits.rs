//! Limits and fairness with the misbehaving guests: an endless loop cannot starve other pods,
//! and a memory bomb ends OOMKilled.

use crate::support::*;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmkube_runtime::network::Proto;
use wasmkube_runtime::{
    ContainerKind, ContainerState, PodPhase, RestartBackoff, RestartPolicy, StartOptions,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_throttled_while_other_pods_complete_and_answer_http() {
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
    // An HTTP pod beside the spinners keeps answering.
    let mut web = command("web", &t.image("http-hello"), &[]);
    web.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    let mut spec = pod("web-beside-spin", vec![web]);
    spec.pod_ip = Ipv4Addr::new(10, 244, 0, 9);
    let web = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let addr = loop {
        if let Some(a) = t.rt.network().host_addr(Ipv4Addr::new(10, 244, 0, 9), Proto::Tcp, 8080) {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut answer)).await.unwrap().unwrap();
        assert!(answer.contains("hello from web-beside-spin"), "{answer}");
    }
    assert_eq!(spin.status().phase, PodPhase::Running, "still spinning while HTTP was answered");
    web.stop(Duration::from_secs(1)).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_request_over_the_memory_limit_ends_the_container_oom_killed_and_it_restarts() {
    let t = TestRuntime::with_config(|c| {
        c.restart_backoff =
            RestartBackoff { initial: Duration::from_millis(20), max: Duration::from_millis(80) };
    });
    let mut web = command("web", &t.image("http-hello"), &[]);
    web.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    web.limits.memory_bytes = Some(32 << 20);
    let mut spec = pod("web-oom", vec![web]);
    spec.restart_policy = RestartPolicy::Always;
    let ip = spec.pod_ip;
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let addr = published(&t.rt, ip, 8080).await;
    let small = tokio::task::spawn_blocking(move || get(addr, "/alloc?mib=4")).await.unwrap();
    assert!(small.contains("allocated 4 MiB"), "{small}");
    // The request's instance outgrows the limit: the container is killed, whatever the client sees.
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = write!(s, "GET /alloc?mib=64 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(!answer.contains("allocated"), "{answer}");
    })
    .await
    .unwrap();
    let mut status = handle.watch();
    let s = tokio::time::timeout(
        Duration::from_secs(20),
        status.wait_for(|s| s.containers[0].restart_count >= 1),
    )
    .await
    .expect("restarted after the OOM kill")
    .unwrap()
    .clone();
    let Some(ContainerState::Terminated { exit_code, reason, message, .. }) = &s.containers[0].last_state
    else {
        panic!("{s:#?}")
    };
    assert_eq!((*exit_code, reason.as_str()), (137, "OOMKilled"), "{message:?}");
    assert!(message.as_deref().unwrap_or_default().contains("memory limit exceeded"), "{message:?}");
    // The restarted run serves again on the same port.
    let addr = published(&t.rt, ip, 8080).await;
    let hello = tokio::task::spawn_blocking(move || get(addr, "/")).await.unwrap();
    assert!(hello.contains("hello from web-oom"), "{hello}");
    handle.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_time_counts_what_a_guest_runs_not_what_it_waits() {
    let t = TestRuntime::new();
    // Ten lines 50 ms apart: half a second of sleeping, next to no CPU.
    let mut sleeper = command(
        "sleeper",
        &t.image("hello"),
        &["--append", "/data/x", "line", "--count", "10", "--interval-ms", "50"],
    );
    sleeper.mounts.push(mount("data", "/data"));
    let mut spec = pod("cpu-sleeper", vec![sleeper]);
    spec.volumes.push(empty_dir("data"));
    let started = std::time::Instant::now();
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    let wall = started.elapsed();
    assert_eq!(status.phase, PodPhase::Succeeded, "{status:#?}");
    let cpu = Duration::from_nanos(status.containers[0].cpu_nanos);
    assert!(wall >= Duration::from_millis(450), "{wall:?}");
    assert!(cpu > Duration::ZERO && cpu < wall / 2, "cpu {cpu:?} of {wall:?} wall, mostly asleep");

    // A spinner is on a CPU whenever it runs, never longer than it exists.
    let mut spinner = command("spin", &t.image("spin"), &[]);
    spinner.limits.cpu_millis = Some(500);
    let started = std::time::Instant::now();
    let spin = t.rt.start_pod(pod("cpu-spinner", vec![spinner]), StartOptions::default()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = spin.stop(Duration::ZERO).await;
    let wall = started.elapsed();
    let cpu = Duration::from_nanos(stopped.containers[0].cpu_nanos);
    assert!(cpu > Duration::ZERO && cpu <= wall, "cpu {cpu:?} of {wall:?} wall");
}
