//! OCI containers with the real kubectl, runc and registry: a busybox image built here (Debian's
//! busybox-static, umoci), pushed with skopeo to Debian's docker-registry on 127.0.0.1, run in
//! pods beside wasm ones — reached through a Service from a wasm pod, exit codes and logs,
//! OOMKilled, a `docker save` tarball imported offline, a component pushed with `wasmkube image
//! push` and pulled back, and a private registry that needs its imagePullSecret.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Debian's `docker-registry` (the CNCF distribution registry) on 127.0.0.1, optionally with
/// basic auth for one user.
struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    fn start(user: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let mut config = format!(
            "version: 0.1\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
            dir.path().join("data").display()
        );
        if let Some((name, password)) = user {
            let htpasswd = dir.path().join("htpasswd");
            run(Command::new("htpasswd").args(["-Bbc"]).arg(&htpasswd).args([name, password]));
            config.push_str(&format!(
                "auth: {{htpasswd: {{realm: wasmkube-test, path: {}}}}}\n",
                htpasswd.display()
            ));
        }
        let file = dir.path().join("config.yml");
        std::fs::write(&file, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (tests/run.sh installs it)");
        let registry = Registry { child, addr, _dir: dir };
        assert!(
            eventually(10, || std::net::TcpStream::connect(&registry.addr).is_ok()),
            "registry did not start"
        );
        registry
    }
}

/// An OCI layout `dir/img` with the image `bb`: busybox-static, its applets, /www/index.html,
/// entrypoint `httpd -f -p 8080 -h /www`.
fn busybox_image(dir: &Path) -> PathBuf {
    let layout = dir.join("img");
    let bundle = dir.join("bundle");
    run(Command::new("umoci").args(["init", "--layout"]).arg(&layout));
    run(Command::new("umoci").args(["new", "--image"]).arg(format!("{}:bb", layout.display())));
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:bb", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "www", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    for applet in ["sh", "httpd", "wget", "cat", "echo", "sleep", "dd", "nslookup"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::write(rootfs.join("www/index.html"), "served-by-busybox\n").unwrap();
    run(Command::new("umoci")
        .args(["repack", "--image"])
        .arg(format!("{}:bb", layout.display()))
        .arg(&bundle));
    run(Command::new("umoci")
        .args(["config", "--image"])
        .arg(format!("{}:bb", layout.display()))
        .args(["--config.entrypoint", "/bin/httpd"])
        .args([
            "--config.cmd=-f",
            "--config.cmd=-p",
            "--config.cmd=8080",
            "--config.cmd=-h",
            "--config.cmd=/www",
        ]));
    layout
}

fn skopeo_copy(from: &str, to: &str, creds: Option<&str>) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--dest-tls-verify=false"]);
    if let Some(creds) = creds {
        cmd.args(["--dest-creds", creds]);
    }
    run(cmd.args([from, to]));
}

fn jsonpath(s: &Server, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let path = format!("jsonpath={path}");
    args.extend(["-o", &path]);
    String::from_utf8_lossy(&s.kubectl(&args).stdout).into_owned()
}

fn get(port: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(format!("127.0.0.1:{port}")) else { return String::new() };
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn oci_pods_from_a_registry_run_beside_wasm_pods() {
    let registry = Registry::start(None);
    let work = tempfile::tempdir().unwrap();
    let layout = busybox_image(work.path());
    let reg = &registry.addr;
    skopeo_copy(&format!("oci:{}:bb", layout.display()), &format!("docker://{reg}/demo/bb:1"), None);
    let s = Server::start();
    import(s.data(), &["http-hello"]);

    // From the registry, reached through its Service from a wasm pod.
    s.k(&["create", "deployment", "bb", &format!("--image={reg}/demo/bb:1"), "--port=8080"]);
    s.k(&["expose", "deployment", "bb", "--port=80", "--target-port=8080"]);
    s.k(&["create", "deployment", "hh", "--image=http-hello:latest"]);
    s.k(&["expose", "deployment", "hh", "--type=NodePort", "--port=80", "--target-port=8080"]);
    let waited = s.kubectl(&["wait", "--for=condition=available", "deploy/bb", "deploy/hh", "--timeout=90s"]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));
    let bb_pod = jsonpath(&s, &["pods", "-l", "app=bb"], "{.items[0].metadata.name}");
    let events = s.k(&["get", "events", "--field-selector", &format!("involvedObject.name={bb_pod}")]);
    assert!(events.contains("Successfully pulled image"), "{events}");
    let node_port = jsonpath(&s, &["svc", "hh"], "{.spec.ports[0].nodePort}");
    let fetch = || get(&node_port, "/fetch?url=http://bb.default.svc.cluster.local/");
    assert!(eventually(20, || fetch().contains("served-by-busybox")), "{}", fetch());

    // Three pods wanting one image at once: one pull, the others wait for it.
    skopeo_copy(&format!("oci:{}:bb", layout.display()), &format!("docker://{reg}/demo/bb:3"), None);
    s.k(&["create", "deployment", "three", &format!("--image={reg}/demo/bb:3"), "--replicas=3"]);
    let waited = s.kubectl(&["wait", "--for=condition=available", "deploy/three", "--timeout=60s"]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));
    let pulls =
        s.k(&["get", "events", "--field-selector", "reason=Pulling", "-o", "jsonpath={.items[*].message}"]);
    assert_eq!(pulls.matches("demo/bb:3").count(), 1, "{pulls}");

    // An OCI container finds Services by name (the pod's search path, cluster DNS inside its
    // namespace) and reaches them: a wasm Service and an OCI one.
    let image = format!("{reg}/demo/bb:1");
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: "{image}"
    command: ["/bin/sh", "-c", "nslookup hh.default.svc.cluster.local && wget -q -O - http://hh/ && wget -q -O - http://bb.default.svc.cluster.local/"]
"#
        ),
        &[],
    );
    let hh_ip = jsonpath(&s, &["svc", "hh"], "{.spec.clusterIP}");
    let client_logs = || String::from_utf8_lossy(&s.kubectl(&["logs", "client"]).stdout).into_owned();
    let exit =
        || jsonpath(&s, &["pod", "client"], "{.status.containerStatuses[0].state.terminated.exitCode}");
    assert!(eventually(60, || !exit().is_empty()), "{}", s.k(&["get", "pod", "client", "-o", "yaml"]));
    let logs = client_logs();
    assert_eq!(exit(), "0", "{logs}");
    assert!(
        logs.contains(&hh_ip) && logs.contains("hello from hh-") && logs.contains("served-by-busybox"),
        "{logs}"
    );

    // Exit code and logs; a memory hog under its limit.
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: exit3}}
spec:
  restartPolicy: Never
  containers: [{{name: c, image: "{image}", command: ["/bin/sh", "-c", "echo from-oci-container; exit 3"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: "{image}"
    command: ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]
    resources: {{limits: {{memory: 32Mi}}}}
"#
        ),
        &[],
    );
    let terminated = |pod: &str, field: &str| {
        jsonpath(&s, &["pod", pod], &format!("{{.status.containerStatuses[0].state.terminated.{field}}}"))
    };
    assert!(
        eventually(60, || terminated("exit3", "exitCode") == "3"),
        "{}",
        s.k(&["get", "pod", "exit3", "-o", "yaml"])
    );
    assert!(s.k(&["logs", "exit3"]).contains("from-oci-container"));
    assert!(
        eventually(60, || terminated("hog", "reason") == "OOMKilled"),
        "{}",
        s.k(&["get", "pod", "hog", "-o", "yaml"])
    );
    assert_eq!(terminated("hog", "exitCode"), "137");

    // A container that fills its own root filesystem past its ephemeral-storage limit is evicted
    // (its sibling's larger limit keeps the pod's total out of the way).
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: filler}}
spec:
  restartPolicy: Never
  containers:
  - name: fill
    image: "{image}"
    command: ["/bin/sh", "-c", "dd if=/dev/zero of=/junk bs=1M count=8; sleep 3600"]
    resources: {{limits: {{ephemeral-storage: 1Mi}}}}
  - name: idle
    image: "{image}"
    command: ["/bin/sleep", "3600"]
    resources: {{limits: {{ephemeral-storage: 100Mi}}}}
"#
        ),
        &[],
    );
    let evicted = || jsonpath(&s, &["pod", "filler"], "{.status.reason}");
    assert!(eventually(60, || evicted() == "Evicted"), "{}", s.k(&["get", "pod", "filler", "-o", "yaml"]));
    assert_eq!(
        jsonpath(&s, &["pod", "filler"], "{.status.message}"),
        r#"Container fill exceeded its local ephemeral storage limit "1Mi"."#
    );

    // A docker save tarball, imported offline.
    let tarball = work.path().join("bb-save.tar");
    run(Command::new("skopeo").args([
        "copy",
        &format!("oci:{}:bb", layout.display()),
        &format!("docker-archive:{}:offline/bb:1", tarball.display()),
    ]));
    run(Command::new(BIN)
        .args(["image", "import", "--data-dir"])
        .arg(s.data())
        .args(["--name", "offline/bb:1"])
        .arg(&tarball));
    s.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: offline}
spec:
  restartPolicy: Never
  containers: [{name: c, image: "offline/bb:1", imagePullPolicy: Never, command: ["/bin/cat", "/www/index.html"]}]
"#,
        &[],
    );
    let logs = || String::from_utf8_lossy(&s.kubectl(&["logs", "offline"]).stdout).into_owned();
    assert!(eventually(60, || logs().contains("served-by-busybox")), "{}", logs());

    // A component pushed to the registry is pulled by the node and runs in wasmtime.
    let elsewhere = tempfile::tempdir().unwrap();
    run(Command::new(BIN)
        .args(["image", "push", "--data-dir"])
        .arg(elsewhere.path())
        .arg(guest("http-hello"))
        .arg(format!("{reg}/wasm/http-hello:1")));
    s.k(&["create", "deployment", "hreg", &format!("--image={reg}/wasm/http-hello:1")]);
    let waited = s.kubectl(&["wait", "--for=condition=available", "deploy/hreg", "--timeout=60s"]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));

    // runtimeClassName forces the runtime; an image of the other kind is refused clearly.
    let classes = s.k(&["get", "runtimeclass", "-o", "jsonpath={.items[*].handler}"]);
    assert!(classes.contains("runc") && classes.contains("wasmtime"), "{classes}");
    s.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: forced}\nspec:\n  runtimeClassName: wasmtime\n  \
         containers: [{name: c, image: \"offline/bb:1\", imagePullPolicy: Never}]\n",
        &[],
    );
    let waiting = || jsonpath(&s, &["pod", "forced"], "{.status.containerStatuses[0].state.waiting.message}");
    assert!(
        eventually(20, || waiting().contains("is a container image, but RuntimeClass \"wasmtime\"")),
        "{}",
        waiting()
    );

    // The node keeps pod network namespaces made ahead; a stopped server leaves none behind.
    let prefix = wasmkube_runtime::oci::namespace_prefix(&std::fs::canonicalize(s.data()).unwrap());
    let ours = || {
        let names = std::fs::read_dir("/run/netns").into_iter().flatten().flatten();
        names.filter(|e| e.file_name().to_string_lossy().starts_with(&prefix)).count()
    };
    assert!(eventually(10, || ours() >= 2), "{} namespaces of this server", ours());
    drop(s);
    assert_eq!(ours(), 0, "network namespaces left by a stopped server");
}

#[test]
fn a_private_registry_needs_its_pull_secret() {
    let registry = Registry::start(Some(("alice", "s3cret")));
    let work = tempfile::tempdir().unwrap();
    let layout = busybox_image(work.path());
    let reg = &registry.addr;
    skopeo_copy(
        &format!("oci:{}:bb", layout.display()),
        &format!("docker://{reg}/private/bb:1"),
        Some("alice:s3cret"),
    );
    let s = Server::start();
    let pod = |name: &str, secret: Option<&str>| {
        let secrets = secret.map(|s| format!("  imagePullSecrets: [{{name: {s}}}]\n")).unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n{secrets}  containers: [{{name: c, image: \"{reg}/private/bb:1\"}}]\n"
        )
    };
    s.apply(&pod("anonymous", None), &[]);
    let waiting =
        || jsonpath(&s, &["pod", "anonymous"], "{.status.containerStatuses[0].state.waiting.reason}");
    assert!(
        eventually(30, || matches!(waiting().as_str(), "ErrImagePull" | "ImagePullBackOff")),
        "{}",
        waiting()
    );
    let events = s.k(&["get", "events", "--field-selector", "involvedObject.name=anonymous"]);
    assert!(events.contains("unauthorized"), "the registry's reason is shown: {events}");

    s.k(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        &format!("--docker-server={reg}"),
        "--docker-username=alice",
        "--docker-password=s3cret",
    ]);
    s.apply(&pod("authorized", Some("regcred")), &[]);
    let phase = || jsonpath(&s, &["pod", "authorized"], "{.status.phase}");
    assert!(eventually(60, || phase() == "Running"), "{}", s.k(&["describe", "pod", "authorized"]));
}
