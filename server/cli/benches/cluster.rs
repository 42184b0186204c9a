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

use serde_json::json;
use std::time::{Duration, Instant};
use support::record::{merged, record, spread};
use support::{
    BIN, Conn, namespace, percentile, rss_kib, start_latency, start_server, wait_running, watch_running,
};

fn pod(name: &str) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"http-hello:latest","ports":[{{"containerPort":8080}}]}}]}}}}"#
    )
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
        start_latency(&server.addr, 1, "warm", pod).await;
        println!("| measurement | pods | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        for &n in sizes {
            let v = start_latency(&server.addr, n, "start", pod).await;
            let what = format!("wasm http-hello pod, create -> Running, {n} pod(s) created in a row");
            record("Pod start", &format!("{what}, p50"), "ms", percentile(&v, 0.5), spread(&v));
            let goal = json!({"goal": "< 10 ms"});
            record("Pod start", &format!("{what}, p99"), "ms", percentile(&v, 0.99), merged(&[spread(&v), goal]));
            if n >= 100 {
                let rss = rss_kib(server.child.id()) as f64 / 1024.0;
                record("Footprint", &format!("server RSS with {n}+ pods Running"), "MiB", rss, json!({}));
            }
            println!(
                "| pod start, create -> Running on a watch (ms) | {n} | {:.2} | {:.2} | {:.2} |",
                percentile(&v, 0.5),
                percentile(&v, 0.99),
                v[v.len() - 1]
            );
        }
        if let Some((took, grew)) = density(&server.addr, server.child.id(), n_density).await {
            let more = json!({"better": "higher", "goal": ">= 10,000"});
            record("Density", "http-hello pods Running on this machine (all created)", "pods", n_density as f64, more);
            let rate = json!({"better": "higher"});
            record("Density", "pods started/s on the way there", "pods/s", n_density as f64 / took, rate);
            let per_pod = grew as f64 / n_density as f64;
            let goal = json!({"goal": "< 100 KiB"});
            record("Density", "server RSS per Running http-hello pod (whole cluster)", "KiB", per_pod, goal);
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
