//! What the benchmarks share: the real `wasmkube server` binary on a temp data dir, a
//! keep-alive HTTP/1.1 connection, resident memory and percentiles.

#![allow(dead_code, reason = "each benchmark uses part of the support code")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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
    fn drop(&mut self) {
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
