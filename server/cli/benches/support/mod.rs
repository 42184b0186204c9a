//! What the benchmarks share: the real `wasmkube server` binary on a temp data dir, a
//! keep-alive HTTP/1.1 connection, resident memory and percentiles.

#![allow(dead_code, reason = "each benchmark uses part of the support code")]

pub mod record;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

pub const BIN: &str = env!("CARGO_BIN_EXE_wasmkube");

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    pub ready_after: Duration,
    /// endpoints.json as the server wrote it.
    pub endpoints: serde_json::Value,
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

pub fn start_server() -> Server {
    start_server_with(&[])
}

/// The server with these extra flags (e.g. `--ingress-listen 127.0.0.1:0`).
#[allow(clippy::zombie_processes, reason = "the returned Server waits on its child when dropped")]
pub fn start_server_with(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let child = Command::new(BIN)
        .args(["server", "--api-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let endpoints = dir.path().join("endpoints.json");
    loop {
        assert!(t0.elapsed() < Duration::from_secs(30), "server did not start");
        if let Ok(text) = std::fs::read_to_string(&endpoints)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(addr) = v["api"].as_str()
            && blocking_get(addr, "/readyz").is_some_and(|b| b == "ok")
        {
            let ready_after = t0.elapsed();
            return Server { child, addr: addr.into(), dir, ready_after, endpoints: v };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn blocking_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split("\r\n\r\n").nth(1)?.to_string())
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    pub async fn open(addr: &str) -> Conn {
        Conn { r: BufReader::new(TcpStream::connect(addr).await.unwrap()) }
    }

    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> u16 {
        self.exchange(method, path, body).await.0
    }

    /// A request and the whole answer: status and body.
    pub async fn exchange(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let content_type =
            if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.r.get_mut().write_all(req.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.r.read_line(&mut line).await.unwrap();
        let status = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut len = 0;
        loop {
            line.clear();
            self.r.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        self.r.read_exact(&mut body).await.unwrap();
        (status, body)
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// When each pod of `ns` was first seen Running, from one watch.
pub struct Watch {
    pub running: Arc<Mutex<HashMap<String, Instant>>>,
    pub task: tokio::task::JoinHandle<()>,
}

/// GET `path` (a watch) on a fresh connection, with the response head read: the chunked body
/// follows.
pub async fn open_watch(addr: &str, path: &str) -> BufReader<TcpStream> {
    let mut s = BufReader::new(TcpStream::connect(addr).await.unwrap());
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.get_mut().write_all(req.as_bytes()).await.unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
            break;
        }
    }
    s
}

pub async fn watch_running(addr: &str, ns: &str) -> Watch {
    let running = Arc::new(Mutex::new(HashMap::new()));
    let mut s = open_watch(addr, &format!("/api/v1/namespaces/{ns}/pods?watch=true")).await;
    let seen = running.clone();
    let task = tokio::spawn(async move {
        // Chunked transfer: an event may span chunks, so reassemble the body, then split lines.
        let mut body: Vec<u8> = Vec::new();
        let mut size_line = String::new();
        loop {
            size_line.clear();
            if s.read_line(&mut size_line).await.unwrap_or(0) == 0 {
                return;
            }
            let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else { continue };
            if size == 0 {
                return;
            }
            let mut chunk = vec![0u8; size + 2];
            if s.read_exact(&mut chunk).await.is_err() {
                return;
            }
            body.extend_from_slice(&chunk[..size]);
            while let Some(end) = body.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = body.drain(..=end).collect();
                let Ok(ev) = serde_json::from_slice::<serde_json::Value>(&line) else { continue };
                if ev["object"]["status"]["phase"] == "Running"
                    && let Some(name) = ev["object"]["metadata"]["name"].as_str()
                {
                    seen.lock().await.entry(name.to_string()).or_insert_with(Instant::now);
                }
            }
        }
    });
    Watch { running, task }
}

pub async fn namespace(conn: &mut Conn, ns: &str) {
    let body = format!(r#"{{"metadata":{{"name":"{ns}"}}}}"#);
    assert_eq!(conn.request("POST", "/api/v1/namespaces", &body).await, 201);
}

pub async fn wait_running(w: &Watch, n: usize, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if w.running.lock().await.len() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// Create `n` pods one after another; create -> Running (ms) for each.
pub async fn start_latency(addr: &str, n: usize, tag: &str, pod: fn(&str) -> String) -> Vec<f64> {
    let ns = format!("{tag}-{n}");
    let mut conn = Conn::open(addr).await;
    namespace(&mut conn, &ns).await;
    let w = watch_running(addr, &ns).await;
    let mut created = HashMap::new();
    for i in 0..n {
        let name = format!("p{i}");
        created.insert(name.clone(), Instant::now());
        assert_eq!(conn.request("POST", &format!("/api/v1/namespaces/{ns}/pods"), &pod(&name)).await, 201);
    }
    assert!(wait_running(&w, n, Duration::from_secs(300)).await, "pods did not all run");
    w.task.abort();
    let running = w.running.lock().await;
    let mut v: Vec<f64> = created.iter().map(|(k, t)| (running[k] - *t).as_secs_f64() * 1e3).collect();
    v.sort_by(f64::total_cmp);
    v
}
