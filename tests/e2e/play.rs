//! `wasmkube image` and `wasmkube play` with the real guest components (build them first with
//! `bash guest-examples/build.sh`; the tests fail, never skip, when they are missing).

use crate::support::{BIN, guest, import};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wasmkube(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).arg("--data-dir").arg(data).output().expect("running wasmkube")
}

fn play(data: &Path, manifest: &str) -> Output {
    let file = data.join("manifest.yaml");
    std::fs::write(&file, manifest).unwrap();
    wasmkube(data, &["play", file.to_str().unwrap()])
}

#[test]
fn image_import_ls_rm() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["hello", "kv"]);
    let named = Command::new(BIN)
        .args(["image", "import", "--name", "greeter:v2"])
        .arg(guest("hello"))
        .env("WASMKUBE_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(named.status.success());
    let ls = String::from_utf8(wasmkube(dir.path(), &["image", "ls"]).stdout).unwrap();
    for name in ["hello:latest", "kv:latest", "greeter:v2"] {
        assert!(ls.contains(name), "{ls}");
    }
    assert!(wasmkube(dir.path(), &["image", "rm", "kv"]).status.success());
    let ls = String::from_utf8(wasmkube(dir.path(), &["image", "ls"]).stdout).unwrap();
    assert!(!ls.contains("kv:latest"), "{ls}");
    let missing = wasmkube(dir.path(), &["image", "rm", "kv"]);
    assert!(!missing.status.success());
    let not_wasm = dir.path().join("x.wasm");
    std::fs::write(&not_wasm, "text").unwrap();
    let bad = wasmkube(dir.path(), &["image", "import", not_wasm.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a WebAssembly component"));
}

#[test]
fn play_shares_an_empty_dir_between_init_and_main_containers() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["hello"]);
    let out = play(
        dir.path(),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: vol}
spec:
  restartPolicy: Never
  volumes: [{name: shared, emptyDir: {}}]
  initContainers:
  - {name: writer, image: hello:latest, args: ["--write", "/shared/msg.txt", "from-the-writer"], volumeMounts: [{name: shared, mountPath: /shared}]}
  containers:
  - {name: reader, image: hello:latest, args: ["--cat", "/shared/msg.txt"], volumeMounts: [{name: shared, mountPath: /shared}]}
"#,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[reader] from-the-writer"), "{stdout}");
}

#[test]
fn the_small_board_pool_caps_each_memory_at_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["membomb"]);
    let file = dir.path().join("bomb.yaml");
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: bomb}\nspec:\n  restartPolicy: Never\n  \
                    containers: [{name: c, image: membomb:latest}]\n";
    std::fs::write(&file, manifest).unwrap();
    let out = wasmkube(dir.path(), &["play", "--wasm-pool", "small-board", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let got: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("[c] membomb: allocation failed after "))
        .and_then(|rest| rest.strip_suffix(" MiB")?.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!((64..256).contains(&got), "grew to {got} MiB under a 256 MiB cap");
    let bad = wasmkube(dir.path(), &["play", "--wasm-pool", "tiny", file.to_str().unwrap()]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("small-board"));
}

#[test]
fn play_reports_a_failed_container_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["hello"]);
    let out = play(
        dir.path(),
        r#"
apiVersion: batch/v1
kind: Job
metadata: {name: exiter}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: hello:latest, env: [{name: EXIT_CODE, value: "42"}]}]
"#,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("container exiter/c exited with code 42"), "{stderr}");
}

#[test]
fn play_serves_an_http_component_on_its_host_port_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["http-hello"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let file = dir.path().join("web.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: web, image: http-hello:latest, ports: [{{containerPort: 8080, hostPort: {port}}}]}}]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["play", "--data-dir"])
        .arg(dir.path())
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            break out;
        }
        assert!(Instant::now() < deadline, "play never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(response.starts_with("HTTP/1.1 200") && response.contains("hello from"), "{response}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "a drained HTTP container is a clean exit");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out =
        Command::new("redis-cli").arg("-p").arg(port.to_string()).args(args).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The kv guest behind hostPorts, driven by the real redis-cli and redis-benchmark; a replica
/// follows its master over 127.0.0.1 inside one pod; a second pod uses the same container port.
#[test]
fn play_runs_kv_pods_that_redis_tools_drive() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &["kv"]);
    let (h1, h2, h3) = (free_port(), free_port(), free_port());
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: pair}}\nspec:\n  containers:\n  - {{name: master, image: kv:latest, ports: [{{containerPort: 6379, hostPort: {h1}}}]}}\n  - {{name: replica, image: kv:latest, args: [--port, \"6380\", --replicaof, 127.0.0.1, \"6379\"], ports: [{{containerPort: 6380, hostPort: {h2}}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: other}}\nspec:\n  containers:\n  - {{name: master, image: kv:latest, ports: [{{containerPort: 6379, hostPort: {h3}}}]}}\n"
    );
    let file = dir.path().join("kv.yaml");
    std::fs::write(&file, manifest).unwrap();
    let mut child = Command::new(BIN)
        .args(["play", "--data-dir"])
        .arg(dir.path())
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while redis_cli(h1, &["ping"]) != "PONG" {
        assert!(Instant::now() < deadline, "kv never answered on its hostPort");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(redis_cli(h1, &["set", "greeting", "hi"]), "OK");
    let deadline = Instant::now() + Duration::from_secs(20);
    while redis_cli(h2, &["get", "greeting"]) != "hi" {
        assert!(Instant::now() < deadline, "the replica never followed its master");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(redis_cli(h3, &["ping"]), "PONG");
    assert_eq!(redis_cli(h3, &["get", "greeting"]), "", "the second pod has its own port space and data");
    let bench = Command::new("redis-benchmark")
        .args(["-p", &h1.to_string(), "-t", "ping,set,get", "-n", "10000", "-q"])
        .output()
        .expect("redis-benchmark");
    let report = String::from_utf8_lossy(&bench.stdout);
    assert_eq!(
        report.matches("requests per second").count(),
        4,
        "PING_INLINE, PING_MBULK, SET, GET: {report}"
    );
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.code().is_some(), "play exits on SIGTERM");
}
