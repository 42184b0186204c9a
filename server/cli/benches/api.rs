//! API benchmark: the real `wasmkube server` binary, measured from outside over HTTP/1.1.
//!
//! - durable pod creates/s with 1, 8 and 32 concurrent keep-alive clients;
//! - latency of a mutating call under a fixed open-loop load of 1,000 writes/s (measured from
//!   each request's scheduled start, so a stall is not hidden by coordinated omission);
//! - delay from a write to its watch event, across 1,000 concurrent watchers;
//! - server start -> /readyz, and idle resident memory.
//!
//! Pods are bound to a node that does not exist, so neither the scheduler nor the node agent
//! does any work: this measures the API and its store alone.
//!
//! Prints a Markdown table (and records its figures for `tests/bench.sh`). Run: `cargo bench -p wasmkube --bench api`
//! (`-- --quick` for a short smoke run). Figures, never assertions: these machines are shared.

mod support;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::record::{merged, record, spread};
use support::{BIN, Conn, percentile, rss_kib, start_server};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;

/// The fixed-rate writes go round-robin over this many objects, as writes in a cluster do.
const HOT_OBJECTS: u64 = 1000;

fn pod(name: &str, annotation: u128) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}","labels":{{"app":"bench"}},"annotations":{{"t":"{annotation}"}}}},"spec":{{"nodeName":"api-bench-no-such-node","containers":[{{"name":"c","image":"http-hello:latest","ports":[{{"containerPort":8080}}]}}]}}}}"#
    )
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
            let mut s =
                support::open_watch(&addr, "/api/v1/namespaces/watched/pods?watch=true&resourceVersion=0")
                    .await;
            let mut line = String::new();
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
                if let Some(t) =
                    ev["object"]["metadata"]["annotations"]["t"].as_str().and_then(|t| t.parse::<u128>().ok())
                {
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
            let row = summary(&mut r);
            let goal = if clients == 32 { json!({"goal": ">= 5,000"}) } else { json!({}) };
            record(
                "API",
                &format!("durable pod creates/s, {clients} client(s)"),
                "creates/s",
                percentile(&r, 0.5),
                merged(&[spread(&r), json!({"better": "higher"}), goal]),
            );
            rows.push((
                format!("durable pod creates/s, {clients} client(s) (min / median / max of {rounds})"),
                row,
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
        let p = |v: &[f64], q: f64| percentile(v, q);
        let more = merged(&[spread(&lat), json!({"p50": p(&lat, 0.5), "goal": "< 10 ms"})]);
        record("API", "merge-patch latency at 1,000 writes/s, p99", "ms", p(&lat, 0.99), more);
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
        let more = merged(&[spread(&d), json!({"p50": p(&d, 0.5), "goal": "< 50 ms"})]);
        record("API", &format!("write -> watch event, {watchers} watchers, p99"), "ms", p(&d, 0.99), more);
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
    let ready_ms = server.ready_after.as_secs_f64() * 1000.0;
    record("Footprint", "server start -> /readyz", "ms", ready_ms, json!({"goal": "< 300 ms"}));
    record(
        "Footprint",
        "server idle RSS, no pods",
        "MiB",
        idle_rss as f64 / 1024.0,
        json!({"goal": "< 40 MB"}),
    );
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    record("Footprint", "wasmkube binary (server and CLI in one), as built", "MiB", mib(bin_size), json!({}));
    // What one would ship: without the line tables kept for backtraces.
    let stripped = std::env::temp_dir().join(format!("wasmkube-stripped-{}", std::process::id()));
    if std::process::Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(BIN)
        .status()
        .is_ok_and(|s| s.success())
    {
        let size = std::fs::metadata(&stripped).map(|m| m.len()).unwrap_or(0);
        record("Footprint", "wasmkube binary, stripped", "MiB", mib(size), json!({}));
        let _ = std::fs::remove_file(&stripped);
    }
    println!("| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
