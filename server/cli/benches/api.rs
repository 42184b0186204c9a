//! API benchmark: the real `wasmkube server` binary, measured from outside over HTTP/1.1.
//!
//! - durable pod creates/s with 1, 8 and 32 concurrent keep-alive clients;
//! - latency of a mutating call under a fixed open-loop load of 1,000 writes/s (measured from
//!   each request's scheduled start, so a stall is not hidden by coordinated omission);
//! - delay from a write to its watch event, across 1,000 concurrent watchers;
//! - server start -> /readyz, and idle resident memory.
//!
//! Prints a Markdown table for docs/BENCHMARKS.md. Run: `cargo bench -p wasmkube --bench api`
//! (`-- --quick` for a short smoke run). Figures, never assertions: these machines are shared.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_wasmkube");
/// The fixed-rate writes go round-robin over this many objects, as writes in a cluster do.
const HOT_OBJECTS: u64 = 1000;

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::zombie_processes, reason = "the returned Server waits on its child when dropped")]
fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let child = Command::new(BIN)
        .args(["server", "--api-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
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
            return Server { child, addr: addr.into(), _dir: dir, ready_after: t0.elapsed() };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn blocking_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split("\r\n\r\n").nth(1)?.to_string())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        Conn { r: BufReader::new(TcpStream::connect(addr).await.unwrap()) }
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> u16 {
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
        status
    }
}

fn pod(name: &str, annotation: u128) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}","labels":{{"app":"bench"}},"annotations":{{"t":"{annotation}"}}}},"spec":{{"containers":[{{"name":"c","image":"http-hello:latest","ports":[{{"containerPort":8080}}]}}]}}}}"#
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn creates_per_second(addr: &str, clients: usize, total: usize, round: usize) -> f64 {
    let per_client = total / clients;
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addr.to_string();
            tokio::spawn(async move {
                let mut conn = Conn::open(&addr).await;
                for i in 0..per_client {
                    let status = conn
                        .request(
                            "POST",
                            "/api/v1/namespaces/default/pods",
                            &pod(&format!("c{clients}-r{round}-{c}-{i}"), 0),
                        )
                        .await;
                    assert_eq!(status, 201);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (per_client * clients) as f64 / t0.elapsed().as_secs_f64()
}

/// Open-loop: one write scheduled every 1 ms for `secs`, on a pool of connections.
async fn latency_at_fixed_rate(addr: &str, rate: u64, secs: u64) -> Vec<f64> {
    let pool: Vec<_> = futures_pool(addr, 64).await;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let start = tokio::time::Instant::now();
    let n = rate * secs;
    let mut handles = Vec::new();
    for i in 0..n {
        let due = start + Duration::from_micros(i * 1_000_000 / rate);
        tokio::time::sleep_until(due).await;
        let conn = pool[i as usize % pool.len()].clone();
        let lat = latencies.clone();
        handles.push(tokio::spawn(async move {
            let mut c = conn.lock().await;
            let status = c
                .request(
                    "PATCH",
                    &format!("/api/v1/namespaces/default/configmaps/hot-{}", i % HOT_OBJECTS),
                    &format!(r#"{{"data":{{"i":"{i}"}}}}"#),
                )
                .await;
            assert_eq!(status, 200);
            lat.lock().await.push(due.elapsed().as_secs_f64() * 1000.0);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut v = latencies.lock().await.clone();
    v.sort_by(f64::total_cmp);
    v
}

async fn futures_pool(addr: &str, n: usize) -> Vec<Arc<Mutex<Conn>>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(Mutex::new(Conn::open(addr).await)));
    }
    out
}

/// `watchers` watch connections; `writes` creates whose annotation carries their start time.
async fn watch_delivery(addr: &str, watchers: usize, writes: usize) -> Vec<f64> {
    let epoch = Instant::now();
    let delays = Arc::new(Mutex::new(Vec::new()));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(watchers);
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        let (addr, delays, ready) = (addr.to_string(), delays.clone(), ready_tx.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = BufReader::new(TcpStream::connect(&addr).await.unwrap());
            let req = "GET /api/v1/namespaces/watched/pods?watch=true&resourceVersion=0 HTTP/1.1\r\nHost: x\r\n\r\n";
            s.get_mut().write_all(req.as_bytes()).await.unwrap();
            let mut line = String::new();
            loop {
                line.clear();
                if s.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            ready.send(()).await.unwrap();
            let mut seen = 0;
            let mut local = Vec::with_capacity(writes);
            while seen < writes {
                line.clear();
                if s.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                // chunk-size lines are hex; event lines are JSON.
                let Ok(ev) = serde_json::from_str::<serde_json::Value>(line.trim()) else { continue };
                if let Some(t) = ev["object"]["metadata"]["annotations"]["t"].as_str().and_then(|t| t.parse::<u128>().ok()) {
                    local.push((epoch.elapsed().as_nanos() - t) as f64 / 1e6);
                    seen += 1;
                }
            }
            delays.lock().await.extend(local);
        }));
    }
    for _ in 0..watchers {
        ready_rx.recv().await.unwrap();
    }
    let mut conn = Conn::open(addr).await;
    for i in 0..writes {
        let t = epoch.elapsed().as_nanos();
        assert_eq!(
            conn.request("POST", "/api/v1/namespaces/watched/pods", &pod(&format!("w{i}"), t)).await,
            201
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    let mut v = delays.lock().await.clone();
    v.sort_by(f64::total_cmp);
    v
}

fn summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    format!("{:.0} / {:.0} / {:.0}", samples[0], percentile(samples, 0.5), samples[samples.len() - 1])
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 3 };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let server = start_server();
    let idle_rss = {
        std::thread::sleep(Duration::from_secs(1));
        rss_kib(server.child.id())
    };
    let mut rows = Vec::new();
    rt.block_on(async {
        let addr = server.addr.clone();
        let total = if quick { 320 } else { 6400 };
        creates_per_second(&addr, 8, 64, 99).await; // warm-up
        for clients in [1, 8, 32] {
            let n = if clients == 1 { total / 4 } else { total };
            let mut r: Vec<f64> = Vec::new();
            for round in 0..rounds {
                r.push(creates_per_second(&addr, clients, n, round).await);
            }
            rows.push((
                format!("durable pod creates/s, {clients} client(s) (min / median / max of {rounds})"),
                summary(&mut r),
            ));
        }
        let mut c = Conn::open(&addr).await;
        for i in 0..HOT_OBJECTS {
            let body = format!(r#"{{"metadata":{{"name":"hot-{i}"}}}}"#);
            c.request("POST", "/api/v1/namespaces/default/configmaps", &body).await;
        }
        let mut c = Conn::open(&addr).await;
        c.request("POST", "/api/v1/namespaces", r#"{"metadata":{"name":"watched"}}"#).await;
        let lat = latency_at_fixed_rate(&addr, 1000, if quick { 1 } else { 5 }).await;
        rows.push((
            "merge-patch latency at 1,000 writes/s, p50 (ms)".into(),
            format!("{:.2}", percentile(&lat, 0.5)),
        ));
        rows.push((
            "merge-patch latency at 1,000 writes/s, p99 (ms)".into(),
            format!("{:.2}", percentile(&lat, 0.99)),
        ));
        let watchers = if quick { 50 } else { 1000 };
        let d = watch_delivery(&addr, watchers, if quick { 5 } else { 50 }).await;
        rows.push((
            format!("write -> watch event delay, {watchers} watchers, p50 (ms)"),
            format!("{:.2}", percentile(&d, 0.5)),
        ));
        rows.push((
            format!("write -> watch event delay, {watchers} watchers, p99 (ms) ({} deliveries)", d.len()),
            format!("{:.2}", percentile(&d, 0.99)),
        ));
    });
    let busy_rss = rss_kib(server.child.id());
    let bin_size = std::fs::metadata(BIN).map(|m| m.len()).unwrap_or(0);
    rows.push((
        "server start -> /readyz (ms)".into(),
        format!("{:.0}", server.ready_after.as_secs_f64() * 1000.0),
    ));
    rows.push(("server idle RSS after start (MiB)".into(), format!("{:.1}", idle_rss as f64 / 1024.0)));
    rows.push(("server RSS after the runs above (MiB)".into(), format!("{:.1}", busy_rss as f64 / 1024.0)));
    rows.push((
        "wasmkube binary size (MiB, this build profile)".into(),
        format!("{:.1}", bin_size as f64 / 1048576.0),
    ));
    println!("| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
