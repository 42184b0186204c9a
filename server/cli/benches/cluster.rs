//! Cluster benchmark: the real `wasmkube server` (API, scheduler, node agent, wasm runtime),
//! measured from outside over HTTP/1.1 as a client sees it.
//!
//! - pod start latency: a pod of a cached `http-hello` created -> `Running` seen on a watch,
//!   p50/p99 for 1, 100 and 1,000 pods created one after another;
//! - density: N pods created by 8 concurrent clients, the time until all run, and the server's
//!   resident memory per running pod.
//!
//! Run: `cargo bench -p wasmkube --bench cluster` (`-- --quick` for a smoke run,
//! `-- --density N` to change the density run's size). Figures, never assertions.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{BIN, Conn, percentile, rss_kib, start_server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

fn pod(name: &str) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"http-hello:latest","ports":[{{"containerPort":8080}}]}}]}}}}"#
    )
}

/// When each pod of `ns` was first seen Running, from one watch.
struct Watch {
    running: Arc<Mutex<HashMap<String, Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn watch_running(addr: &str, ns: &str) -> Watch {
    let running = Arc::new(Mutex::new(HashMap::new()));
    let mut s = BufReader::new(TcpStream::connect(addr).await.unwrap());
    let req = format!("GET /api/v1/namespaces/{ns}/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n");
    s.get_mut().write_all(req.as_bytes()).await.unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
            break;
        }
    }
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

async fn namespace(conn: &mut Conn, ns: &str) {
    let body = format!(r#"{{"metadata":{{"name":"{ns}"}}}}"#);
    assert_eq!(conn.request("POST", "/api/v1/namespaces", &body).await, 201);
}

async fn wait_running(w: &Watch, n: usize, limit: Duration) -> bool {
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
async fn start_latency(addr: &str, n: usize, tag: &str) -> Vec<f64> {
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

/// `n` pods by 8 concurrent clients; (seconds until all ran, RSS growth in KiB).
async fn density(addr: &str, pid: u32, n: usize) -> Option<(f64, u64)> {
    let mut conn = Conn::open(addr).await;
    namespace(&mut conn, "density").await;
    let w = watch_running(addr, "density").await;
    let before = rss_kib(pid);
    let t0 = Instant::now();
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let addr = addr.to_string();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await;
            for i in (c..n).step_by(clients) {
                let status =
                    conn.request("POST", "/api/v1/namespaces/density/pods", &pod(&format!("d{i}"))).await;
                assert_eq!(status, 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = wait_running(&w, n, Duration::from_secs(1200)).await;
    let took = t0.elapsed().as_secs_f64();
    let ran = w.running.lock().await.len();
    w.task.abort();
    if !all {
        println!("density: only {ran} of {n} pods running after 20 minutes");
        return None;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Some((took, rss_kib(pid).saturating_sub(before)))
}

fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse().ok())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let server = start_server();
    let import = std::process::Command::new(BIN)
        .args(["image", "import", "--data-dir"])
        .arg(server.dir.path())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/out/http-hello.wasm"))
        .output()
        .unwrap();
    assert!(import.status.success(), "import failed (build the guests first)");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let sizes: &[usize] = if quick { &[1, 20] } else { &[1, 100, 1000] };
    let n_density = arg("--density").unwrap_or(if quick { 200 } else { 10_000 });
    rt.block_on(async {
        // Warm: the first pod compiles the component; later pods start from the cache.
        start_latency(&server.addr, 1, "warm").await;
        println!("| measurement | pods | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        for &n in sizes {
            let v = start_latency(&server.addr, n, "start").await;
            println!(
                "| pod start, create -> Running on a watch (ms) | {n} | {:.2} | {:.2} | {:.2} |",
                percentile(&v, 0.5),
                percentile(&v, 0.99),
                v[v.len() - 1]
            );
        }
        if let Some((took, grew)) = density(&server.addr, server.child.id(), n_density).await {
            println!(
                "| density: {n_density} http-hello pods Running | {:.1} s ({:.0} pods/s) | RSS +{:.1} MiB | {:.1} KiB per pod | |",
                took,
                n_density as f64 / took,
                grew as f64 / 1024.0,
                grew as f64 / n_density as f64
            );
        }
    });
}
