//! `wasi:cli/command` containers: output, exit codes, init containers and shared volumes.

use crate::support::*;
use wasmkube_runtime::{ContainerState, PodPhase, StartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_prints_and_exits_zero() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    let handle = t
        .rt
        .start_pod(pod("hello-1", vec![command("greeter", &hello, &["wasmkube"])]), StartOptions::default())
        .unwrap();
    let status = handle.wait().await;
    assert_eq!(status.phase, PodPhase::Succeeded, "{status:#?}");
    let ContainerState::Terminated { exit_code, reason, .. } = &status.containers[0].state else {
        panic!("{status:#?}")
    };
    assert_eq!((*exit_code, reason.as_str()), (0, "Completed"));
    assert_eq!(t.logs("hello-1", "greeter"), "Hello, wasmkube!\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_code_42_is_reported_as_42() {
    let t = TestRuntime::new();
    let mut c = command("exiter", &t.image("hello"), &[]);
    c.env.push(("EXIT_CODE".into(), "42".into()));
    let status = t.rt.start_pod(pod("exit-1", vec![c]), StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.phase, PodPhase::Failed);
    let ContainerState::Terminated { exit_code, reason, .. } = &status.containers[0].state else {
        panic!("{status:#?}")
    };
    assert_eq!((*exit_code, reason.as_str()), (42, "Error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_container_writes_and_main_container_reads_through_an_empty_dir() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    let mut spec = pod("vol-1", Vec::new());
    spec.volumes.push(empty_dir("shared"));
    let mut writer = command("writer", &hello, &["--write", "/shared/msg.txt", "from-the-writer"]);
    writer.mounts.push(mount("shared", "/shared"));
    let mut reader = command("reader", &hello, &["--cat", "/shared/msg.txt"]);
    reader.mounts.push(mount("shared", "/shared"));
    spec.init_containers.push(writer);
    spec.containers.push(reader);
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let status = handle.wait().await;
    assert_eq!(status.phase, PodPhase::Succeeded, "{status:#?}");
    assert_eq!(t.logs("vol-1", "reader"), "from-the-writer");
    let volume = t.rt.pod_dir("vol-1").join("volumes/shared/msg.txt");
    assert!(volume.exists());
    handle.remove().unwrap();
    assert!(!t.rt.pod_dir("vol-1").exists(), "the emptyDir goes with the pod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_container_keeps_the_main_containers_from_running() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    let mut spec = pod("init-fail", vec![command("main", &hello, &[])]);
    spec.init_containers.push(command("init", &hello, &["--cat", "/nowhere"]));
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.phase, PodPhase::Failed);
    assert_eq!(status.init_containers[0].state.exit_code(), Some(1));
    assert!(matches!(status.containers[0].state, ContainerState::Waiting { .. }), "{status:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_files_are_mounted_read_only() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    let mut spec = pod("cfg-1", Vec::new());
    spec.volumes.push(files("config", &[("app/greeting.txt", "hi from a configMap")]));
    let mut cat = command("cat", &hello, &["--cat", "/etc/config/app/greeting.txt"]);
    cat.mounts.push(mount("config", "/etc/config"));
    let mut write = command("write", &hello, &["--write", "/etc/config/app/greeting.txt", "changed"]);
    write.mounts.push(mount("config", "/etc/config"));
    spec.containers = vec![cat, write];
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.container("cat").unwrap().state.exit_code(), Some(0));
    assert_eq!(t.logs("cfg-1", "cat"), "hi from a configMap");
    assert_eq!(status.container("write").unwrap().state.exit_code(), Some(1), "{status:#?}");
    let on_disk =
        std::fs::read_to_string(t.rt.pod_dir("cfg-1").join("volumes/config/app/greeting.txt")).unwrap();
    assert_eq!(on_disk, "hi from a configMap");
}
