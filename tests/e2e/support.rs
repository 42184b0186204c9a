//! Test support: start the real `wasmkube` binary on 127.0.0.1:0, drive it with the real
//! `/usr/bin/kubectl`, raw HTTP, and the official Python client.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_wasmkube");
pub const KUBECTL: &str = "/usr/bin/kubectl";

/// A running server with its own data directory, killed on drop.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub addr: String,
    child: Child,
    extra: Vec<String>,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, addr) = spawn(dir.path(), &extra);
        Server { dir, addr, child, extra }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data().join("kubeconfig")
    }

    /// Stop (SIGTERM, or SIGKILL when `crash`) and start again on the same data directory.
    pub fn restart(&mut self, crash: bool) {
        let signal = if crash { "-KILL" } else { "-TERM" };
        let pid = self.child.id().to_string();
        Command::new("kill").args([signal, &pid]).status().expect("kill");
        // Open watches must not keep a stopping server alive.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("waiting for the server").is_none() {
            assert!(Instant::now() < deadline, "the server did not exit within 20 s of SIG{}", &signal[1..]);
            std::thread::sleep(Duration::from_millis(50));
        }
        let (child, addr) = spawn(self.dir.path(), &self.extra);
        self.child = child;
        self.addr = addr;
    }

    /// Run kubectl against this server; returns the output whatever the exit status.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(KUBECTL);
        cmd.arg("--kubeconfig").arg(self.kubeconfig()).args(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running /usr/bin/kubectl");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// kubectl that must succeed; returns stdout.
    #[track_caller]
    pub fn k(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// kubectl that must fail; returns stderr.
    #[track_caller]
    pub fn k_err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// kubectl apply -f - with this manifest.
    #[track_caller]
    pub fn apply(&self, manifest: &str, extra: &[&str]) -> String {
        let mut args = vec!["apply", "-f", "-"];
        args.extend_from_slice(extra);
        let out = self.kubectl_stdin(&args, Some(manifest));
        assert!(out.status.success(), "apply failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A JSON object through kubectl get -o json.
    #[track_caller]
    pub fn get_json(&self, args: &[&str]) -> Value {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.k(&a)).unwrap()
    }

    pub fn http(&self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> HttpResponse {
        http(&self.addr, method, path, &[("Content-Type", content_type.unwrap_or(""))], body)
    }
}

impl Drop for Server {
    /// SIGTERM, as a user stops it (the server then ends its OCI containers); SIGKILL if it
    /// has not exited within 10 s.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::zombie_processes, reason = "the returned child is owned by a Server, which waits on drop")]
fn spawn(dir: &Path, extra: &[String]) -> (Child, String) {
    let endpoints = dir.join("endpoints.json");
    let _ = std::fs::remove_file(&endpoints);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let child = Command::new(BIN)
        .args(["server", "--api-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting wasmkube server");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "server did not become ready; log:\n{}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        if let Ok(text) = std::fs::read_to_string(&endpoints)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && let Some(addr) = v["api"].as_str()
            && http(addr, "GET", "/readyz", &[], b"").body == b"ok"
        {
            return (child, addr.to_string());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (Connection: close), enough for non-streaming API calls.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return HttpResponse { status: 0, headers: vec![], body: vec![] };
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers.iter().filter(|(_, v)| !v.is_empty()) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).and_then(|_| s.write_all(body)).is_err() {
        return HttpResponse { status: 0, headers: vec![], body: vec![] };
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return HttpResponse { status: 0, headers: vec![], body: raw.to_vec() };
    };
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    HttpResponse { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// A built guest component (`bash guest-examples/build.sh` first; tests fail, never skip, when
/// one is missing).
pub fn guest(name: &str) -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest-examples/out").join(format!("{name}.wasm"));
    assert!(path.exists(), "guest {} is missing: run `bash guest-examples/build.sh` first", path.display());
    path
}

/// `wasmkube image import` the named guests into `data`.
/// A pod spec's `containers`, in flow style (fits at any indentation): one `http-hello` named
/// `web` serving its named port `http` (8080), Ready once it answers.
pub const READY_WEB: &str = "containers: [{name: web, image: \"http-hello:latest\", \
    ports: [{containerPort: 8080, name: http}], readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}}]";

pub fn import(data: &Path, names: &[&str]) {
    let mut cmd = Command::new(BIN);
    cmd.args(["image", "import", "--data-dir"]).arg(data);
    cmd.args(names.iter().map(|n| guest(n)));
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Poll `f` until it returns true or `secs` pass.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// The shared acceptance fixtures (deploy-v1.yaml, deploy-v2.yaml) are copied into tests/fixtures.
pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The Python interpreter of a venv with the official `kubernetes` client, created on first
/// use (outside the repository) so the test suite installs what it needs.
pub fn python_with_client() -> PathBuf {
    let venv = std::env::var_os("WASMKUBE_TEST_VENV").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
            .join(".cache/wasmkube-test-venv")
    });
    let py = venv.join("bin/python");
    let ok =
        |py: &Path| Command::new(py).args(["-c", "import kubernetes"]).status().is_ok_and(|s| s.success());
    if !ok(&py) {
        let _guard = VENV_LOCK.lock().unwrap();
        if !ok(&py) {
            let st =
                Command::new("python3").arg("-m").arg("venv").arg(&venv).status().expect("python3 -m venv");
            assert!(st.success(), "creating the test venv failed");
            let st = Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "kubernetes==37.0.2"])
                .status()
                .expect("pip");
            assert!(st.success(), "installing the Python kubernetes client failed");
        }
    }
    py
}

static VENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
