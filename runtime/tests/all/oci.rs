//! OCI containers run by the real `runc` (the test script installs it and `busybox-static`):
//! an image made here from Debian's static busybox, imported as an OCI layout and as a
//! `docker save` tarball, run with its exit code, logs, memory limit, stop and a published port.

use crate::support::*;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;
use wasmkube_runtime::{ContainerKind, ContainerSpec, ImageSpec, Limits, StartOptions};

const APPLETS: [&str; 11] =
    ["sh", "echo", "cat", "sleep", "httpd", "dd", "wget", "ls", "id", "unshare", "mkdir"];

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// One layer: /bin/busybox (Debian's static build), its applets as symlinks, /www/index.html.
fn busybox_layer() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").expect("busybox-static is installed (tests/run.sh does it)");
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8], mode: u32, link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        if let Some(target) = link {
            h.set_link_name(target).unwrap();
        }
        b.append_data(&mut h, path, data).unwrap();
    };
    for dir in ["bin", "www", "etc", "tmp"] {
        add(dir, tar::EntryType::Directory, b"", 0o755, None);
    }
    add("bin/busybox", tar::EntryType::Regular, &busybox, 0o755, None);
    for applet in APPLETS {
        add(&format!("bin/{applet}"), tar::EntryType::Symlink, b"", 0o777, Some("busybox"));
    }
    add("www/index.html", tar::EntryType::Regular, b"served-by-busybox\n", 0o644, None);
    add(
        "etc/passwd",
        tar::EntryType::Regular,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        0o644,
        None,
    );
    b.into_inner().unwrap()
}

fn config(entrypoint: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, "Cmd": [], "Env": ["FROM_IMAGE=yes"], "WorkingDir": "/www"},
        "rootfs": {"type": "layers", "diff_ids": []}
    }))
    .unwrap()
}

/// An OCI layout directory of a busybox image running `entrypoint`.
fn oci_layout(dir: &Path, entrypoint: &[&str]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = sha256(bytes);
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let (layer, layer_size) = put(&busybox_layer());
    let (config, config_size) = put(&config(entrypoint));
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]
    });
    let (manifest, manifest_size) = put(&serde_json::to_vec(&manifest).unwrap());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": manifest_size,
        "annotations": {"org.opencontainers.image.ref.name": "1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// A `docker save` tarball (the legacy layout) of the same image.
fn docker_save(path: &Path, entrypoint: &[&str]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        b.append_data(&mut h, name, data).unwrap();
    };
    let config = config(entrypoint);
    let config_name = format!("{}.json", sha256(&config));
    add(&config_name, &config);
    add("abc/layer.tar", &busybox_layer());
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["offline/bb:1"], "Layers": ["abc/layer.tar"]}]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    b.finish().unwrap();
}

fn busybox(t: &TestRuntime, entrypoint: &[&str]) -> ImageSpec {
    let layout = t.dir.path().join("layout-bb");
    let _ = std::fs::remove_dir_all(&layout);
    oci_layout(&layout, entrypoint);
    let info = t.rt.images().import(&layout, Some("bb:1")).expect("import the OCI layout");
    let image = t.rt.images().resolve(&info.name).unwrap();
    assert!(image.container.is_some(), "a container image, not a component");
    image
}

/// Wait (at most 20 s) until the pod's first container runs.
async fn first_running(handle: &wasmkube_runtime::PodHandle) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !matches!(handle.status().containers[0].state, wasmkube_runtime::ContainerState::Running { .. }) {
        assert!(std::time::Instant::now() < deadline, "{:#?}", handle.status());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn container(name: &str, image: &ImageSpec, command: Option<&[&str]>) -> ContainerSpec {
    let mut c = command_spec(name, image);
    c.overrides.command = command.map(|c| c.iter().map(|s| s.to_string()).collect());
    c
}

fn command_spec(name: &str, image: &ImageSpec) -> ContainerSpec {
    let mut c = crate::support::command(name, image, &[]);
    c.kind = ContainerKind::Detect { ports: Vec::new() };
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oci_container_reports_its_exit_code_and_logs() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/sh", "-c"]);
    let mut c = container("c", &image, None);
    c.overrides.args = Some(vec!["echo from-oci-container $FROM_IMAGE $(pwd); echo oops >&2; exit 3".into()]);
    let mut spec = pod("exit3", vec![c]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    let state = &status.containers[0].state;
    assert_eq!(state.exit_code(), Some(3), "{status:#?}");
    let logs = t.logs("exit3", "c");
    assert!(logs.contains("from-oci-container yes /www"), "image env and working dir: {logs}");
    assert!(logs.contains("oops"), "stderr too: {logs}");
}

/// crun (optional, in place of runc): exit code, logs, a memory limit, a stop, a leftover ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crun_runs_the_same_containers() {
    let t = TestRuntime::with_config(|c| c.oci_runtime = "crun".into());
    assert_eq!(t.rt.config().oci_handler(), "crun");
    let image = busybox(&t, &["/bin/sh", "-c"]);
    let mut c = container("c", &image, None);
    c.overrides.args = Some(vec!["echo from-crun $FROM_IMAGE; exit 4".into()]);
    let mut spec = pod("crun-exit", vec![c]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.containers[0].state.exit_code(), Some(4), "{status:#?}");
    assert!(t.logs("crun-exit", "c").contains("from-crun yes"), "{}", t.logs("crun-exit", "c"));

    let mut hog =
        container("hog", &image, Some(&["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]));
    hog.limits = Limits { memory_bytes: Some(32 << 20), cpu_millis: None };
    let mut spec = pod("crun-hog", vec![hog]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    assert!(
        matches!(&status.containers[0].state, wasmkube_runtime::ContainerState::Terminated { reason, exit_code: 137, .. } if reason == "OOMKilled"),
        "{status:#?}"
    );

    let sleeper = container("s", &image, Some(&["/bin/sleep", "1000"]));
    let handle = t.rt.start_pod(pod("crun-stop", vec![sleeper]), StartOptions::default()).unwrap();
    first_running(&handle).await;
    let status = handle.stop(Duration::from_millis(200)).await;
    assert_eq!(status.containers[0].state.exit_code(), Some(137), "{status:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_save_tarball_imported_offline_runs() {
    let t = TestRuntime::new();
    let tarball = t.dir.path().join("bb-save.tar");
    docker_save(&tarball, &["/bin/cat", "/www/index.html"]);
    let info = t.rt.images().import(&tarball, None).expect("import docker save");
    assert_eq!(info.name, "offline/bb:1");
    let image = t.rt.images().resolve("offline/bb:1").unwrap();
    let mut spec = pod("offline", vec![command_spec("c", &image)]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "{status:#?}");
    assert!(t.logs("offline", "c").contains("served-by-busybox"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_hog_is_oom_killed_under_its_limit() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/dd"]);
    let mut c = container("hog", &image, None);
    c.overrides.args =
        Some(vec!["if=/dev/zero".into(), "of=/dev/null".into(), "bs=256M".into(), "count=1".into()]);
    c.limits = Limits { memory_bytes: Some(32 << 20), cpu_millis: None };
    let mut spec = pod("hog", vec![c]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    match &status.containers[0].state {
        wasmkube_runtime::ContainerState::Terminated { reason, exit_code, .. } => {
            assert_eq!((reason.as_str(), *exit_code), ("OOMKilled", 137), "{status:#?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_port_is_reachable_in_the_pod_network_and_stop_kills_after_the_grace_period() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]);
    let mut web = command_spec("web", &image);
    web.kind = ContainerKind::Detect { ports: vec![8080] };
    // `sleep` as PID 1 ignores SIGTERM: only the SIGKILL after the grace period ends it.
    let stubborn = container("stubborn", &image, Some(&["/bin/sleep", "1000"]));
    let mut spec = pod("web", vec![web, stubborn]);
    spec.pod_ip = Ipv4Addr::new(10, 244, 0, 9);
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let addr = published(&t.rt, Ipv4Addr::new(10, 244, 0, 9), 8080).await;
    let mut body = String::new();
    for _ in 0..100 {
        body = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| get(addr, "/index.html")).unwrap_or_default()
        })
        .await
        .unwrap();
        if body.contains("served-by-busybox") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(body.contains("served-by-busybox"), "through the pod network into the namespace: {body}");
    let t0 = std::time::Instant::now();
    let status = handle.stop(Duration::from_secs(1)).await;
    assert!(t0.elapsed() >= Duration::from_millis(900), "waited for the grace period");
    let stubborn = status.containers.iter().find(|c| c.name == "stubborn").unwrap();
    assert_eq!(stubborn.state.exit_code(), Some(137), "{status:#?}");
    assert!(
        t.rt.network()
            .host_addr(Ipv4Addr::new(10, 244, 0, 9), wasmkube_runtime::network::Proto::Tcp, 8080)
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_and_oci_containers_of_a_pod_reach_each_other_on_localhost() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/httpd", "-f", "-p", "8081", "-h", "/www"]);
    let mut web = command_spec("busybox-web", &image);
    web.kind = ContainerKind::Detect { ports: vec![8081] };
    let mut hello = crate::support::command("hello", &t.image("http-hello"), &[]);
    hello.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    let script = "until wget -q -O- http://127.0.0.1:8080/; do sleep 0.1; done";
    let client = container("wget", &image, Some(&["/bin/sh", "-c", script]));
    let mut spec = pod("mixed", vec![web, hello, client]);
    spec.pod_ip = Ipv4Addr::new(10, 244, 0, 11);
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !t.logs("mixed", "wget").contains("hello from") {
        assert!(
            std::time::Instant::now() < deadline,
            "busybox never reached the wasm container: {}",
            t.logs("mixed", "wget")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the wasm container reaches the busybox one on localhost, by outgoing wasi:http.
    let front = published(&t.rt, Ipv4Addr::new(10, 244, 0, 11), 8080).await;
    let mut fetched = String::new();
    for _ in 0..100 {
        fetched =
            tokio::task::spawn_blocking(move || get(front, "/fetch?url=http://127.0.0.1:8081/index.html"))
                .await
                .unwrap();
        if fetched.contains("served-by-busybox") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fetched.contains("served-by-busybox"), "{fetched}");
    handle.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_context_sets_the_user_and_a_read_only_root() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/sh", "-c"]);
    let mut c = container("c", &image, None);
    c.overrides.args = Some(vec!["id -u; id -g; echo x > /written || echo read-only".into()]);
    c.security.run_as_user = Some(65534);
    c.security.read_only_root_filesystem = true;
    c.security.drop_capabilities = vec!["ALL".into()];
    let mut nonroot = container("nonroot", &image, None);
    nonroot.overrides.args = Some(vec!["true".into()]);
    nonroot.security.run_as_non_root = true;
    let mut spec = pod("secure", vec![c, nonroot]);
    spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    let logs = t.logs("secure", "c");
    let ids: Vec<&str> = logs.lines().filter(|l| l.chars().all(|c| c.is_ascii_digit())).collect();
    assert_eq!(ids, ["65534", "65534"], "uid, and the gid of its passwd entry: {logs}");
    assert!(logs.contains("read-only"), "{logs}");
    match &status.containers[1].state {
        wasmkube_runtime::ContainerState::Terminated { message, .. } => {
            let message = message.clone().unwrap_or_default();
            assert!(message.contains("runAsNonRoot and image will run as root"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_archive_whose_layer_links_out_of_it_is_refused() {
    let t = TestRuntime::new();
    let tarball = t.dir.path().join("evil.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tarball).unwrap());
    let config = config(&["/bin/sh"]);
    let mut h = tar::Header::new_gnu();
    h.set_size(config.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    b.append_data(&mut h, "c.json", config.as_slice()).unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mtime(0);
    link.set_link_name("/etc/hostname").unwrap();
    b.append_data(&mut link, "evil.tar", std::io::empty()).unwrap();
    let manifest = br#"[{"Config": "c.json", "RepoTags": ["evil:1"], "Layers": ["evil.tar"]}]"#;
    let mut h = tar::Header::new_gnu();
    h.set_size(manifest.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    b.append_data(&mut h, "manifest.json", manifest.as_slice()).unwrap();
    b.finish().unwrap();
    drop(b);
    let err = t.rt.images().import(&tarball, None).unwrap_err().to_string();
    assert!(err.contains("links out of the archive"), "{err}");
    assert!(t.rt.images().resolve("evil:1").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oci_container_reaches_pods_and_services_through_the_pod_network_under_policy() {
    use wasmkube_runtime::network::{ConnectPolicy, Proto, Service, ServiceAddress, ServicePort};
    struct Deny(Ipv4Addr);
    impl ConnectPolicy for Deny {
        fn allows(&self, from: Ipv4Addr, _to: Ipv4Addr, _proto: Proto, _port: u16) -> bool {
            from != self.0
        }
    }
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 31);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 32);
    let t = TestRuntime::new();
    let net = t.rt.network();
    net.set_virtual_ranges(&[(Ipv4Addr::new(10, 244, 0, 0), 16), (Ipv4Addr::new(10, 96, 0, 0), 12)]);
    net.set_service(Service {
        namespace: "default".into(),
        name: "hello".into(),
        address: ServiceAddress::ClusterIp(Ipv4Addr::new(10, 96, 0, 50)),
        ports: vec![ServicePort {
            name: String::new(),
            proto: Proto::Tcp,
            port: 80,
            endpoints: vec![std::net::SocketAddrV4::new(SERVER, 8080)],
        }],
        client_affinity: None,
        hostnames: Vec::new(),
    });
    let mut hello = crate::support::command("hello", &t.image("http-hello"), &[]);
    hello.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    let mut server = pod("server", vec![hello]);
    server.pod_ip = SERVER;
    let server = t.rt.start_pod(server, StartOptions::default()).unwrap();
    published(&t.rt, SERVER, 8080).await;

    let image = busybox(&t, &["/bin/sh", "-c"]);
    let run_client = |name: &'static str| {
        let script =
            "wget -q -O- http://10.96.0.50/ && wget -q -O- http://10.244.0.31:8080/ && echo both-reached";
        let mut spec = pod(name, vec![container("c", &image, Some(&["/bin/sh", "-c", script]))]);
        spec.pod_ip = CLIENT;
        spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
        t.rt.start_pod(spec, StartOptions::default()).unwrap()
    };
    let status = run_client("allowed").wait().await;
    let logs = t.logs("allowed", "c");
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "{logs}");
    assert_eq!(logs.matches("hello from").count(), 2, "by cluster IP and by pod IP: {logs}");
    assert!(logs.contains("both-reached"), "{logs}");

    net.set_policy(std::sync::Arc::new(Deny(CLIENT)));
    let status = run_client("denied").wait().await;
    let logs = t.logs("denied", "c");
    assert_ne!(status.containers[0].state.exit_code(), Some(0), "{logs}");
    assert!(!logs.contains("hello from"), "a denied connect carries nothing: {logs}");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seccomp_profiles_refuse_what_they_list() {
    use wasmkube_runtime::Seccomp;
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/sh", "-c"]);
    let run = |name: &'static str, seccomp: Seccomp| {
        let script = "unshare -U id && echo made-a-namespace; mkdir /tmp/d && echo made-a-dir; true";
        let mut c = container("c", &image, Some(&["/bin/sh", "-c", script]));
        c.security.seccomp = seccomp;
        let mut spec = pod(name, vec![c]);
        spec.restart_policy = wasmkube_runtime::RestartPolicy::Never;
        t.rt.start_pod(spec, StartOptions::default()).unwrap()
    };
    run("unconfined", Seccomp::Unconfined).wait().await;
    let logs = t.logs("unconfined", "c");
    assert!(logs.contains("made-a-namespace") && logs.contains("made-a-dir"), "{logs}");

    run("default", Seccomp::RuntimeDefault).wait().await;
    let logs = t.logs("default", "c");
    assert!(!logs.contains("made-a-namespace") && logs.contains("Operation not permitted"), "{logs}");
    assert!(logs.contains("made-a-dir"), "{logs}");

    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]
    });
    run("localhost", Seccomp::Localhost(profile)).wait().await;
    let logs = t.logs("localhost", "c");
    assert!(logs.contains("made-a-namespace") && !logs.contains("made-a-dir"), "{logs}");
    assert!(logs.contains("Permission denied"), "the profile's errno: {logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_images_root_goes_once_no_container_runs_on_it() {
    let t = TestRuntime::new();
    let image = busybox(&t, &["/bin/sleep"]);
    let root = t.dir.path().join("oci/rootfs").join(image.digest.strip_prefix("sha256:").unwrap());
    let c = container("c", &image, Some(&["/bin/sleep", "1000"]));
    let handle = t.rt.start_pod(pod("sleeper", vec![c]), StartOptions::default()).unwrap();
    first_running(&handle).await;
    assert!(root.is_dir());
    t.rt.images().remove("bb:1").unwrap();
    assert!(root.is_dir(), "kept while the container's overlay is on it");
    handle.stop(Duration::from_millis(100)).await;
    assert!(!root.exists(), "removed with the last container on it");
}
