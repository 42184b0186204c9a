//! Runtime benchmark with the real guests (`bash guest-examples/build.sh` first):
//!
//! - instantiation: `hello` run to exit, one `http-hello` request on a fresh instance, a `kv`
//!   pod from start to listening;
//! - pod start: `http-hello` pods from `start_pod` to the first HTTP answer, one after another
//!   while the earlier ones keep running; p50/p99 over 1,000 pods;
//! - HTTP: requests/s and p50/p99 latency against one `http-hello` pod over keep-alive
//!   connections at concurrency 1, 16 and 64 (a fresh instance per request);
//! - memory: resident (RSS, and PSS from smaps_rollup) growth per idle `http-hello` pod and per
//!   idle `kv` pod.
//!
//! Prints a Markdown table (and records its figures for `tests/bench.sh`). `cargo bench -p wasmkube-runtime --bench pods`
//! (`-- --quick` for a smoke run, `-- --pods 10000` for a density run). Figures, not assertions.

#[path = "../../server/cli/benches/support/record.rs"]
mod record;

use record::{merged, record, spread};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wasmkube_runtime::network::Proto;
use wasmkube_runtime::{
    ContainerKind, ContainerSpec, EngineConfig, ImageSpec, Limits, PodHandle, PodSpec, Runtime,
    RuntimeConfig, StartOptions, WasmEngine,
};

fn guest(name: &str) -> std::path::PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-examples/out").join(format!("{name}.wasm"));
    assert!(p.exists(), "{} missing: run `bash guest-examples/build.sh`", p.display());
    p
}

fn container(name: &str, image: &ImageSpec, args: &[&str], kind: ContainerKind) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: image.clone(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        working_dir: None,
        mounts: Vec::new(),
        kind,
        limits: Limits::default(),
        sidecar: false,
        overrides: Default::default(),
        security: Default::default(),
    }
}

fn pod_ip(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + 2 + n)
}

fn pod(n: u32, c: ContainerSpec) -> PodSpec {
    PodSpec {
        uid: format!("bench-{n}"),
        name: format!("bench-{n}"),
        namespace: "default".into(),
        hostname: format!("bench-{n}"),
        pod_ip: pod_ip(n),
        volumes: Vec::new(),
        init_containers: Vec::new(),
        containers: vec![c],
        restart_policy: Default::default(),
    }
}

fn http() -> ContainerKind {
    ContainerKind::Http { ports: vec![8080], reuse_instances: false }
}

async fn published(rt: &Runtime, ip: Ipv4Addr, port: u16) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(a) = rt.network().host_addr(ip, Proto::Tcp, port) {
            return a;
        }
        assert!(Instant::now() < deadline, "pod {ip} never listened on {port} (did it fail to start?)");
        tokio::task::yield_now().await;
    }
}

/// A keep-alive HTTP/1.1 client connection that understands chunked and sized bodies.
struct Conn(BufReader<TcpStream>);

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        Conn(BufReader::new(TcpStream::connect(addr).await.unwrap()))
    }

    async fn get(&mut self, path: &str) -> String {
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.0.get_mut().write_all(req.as_bytes()).await.unwrap();
        let (mut line, mut chunked, mut len) = (String::new(), false, 0usize);
        self.0.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        loop {
            line.clear();
            self.0.read_line(&mut line).await.unwrap();
            let l = line.to_ascii_lowercase();
            if l == "\r\n" {
                break;
            }
            chunked |= l.starts_with("transfer-encoding:") && l.contains("chunked");
            if let Some(v) = l.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = Vec::new();
        if !chunked {
            body.resize(len, 0);
            self.0.read_exact(&mut body).await.unwrap();
            return String::from_utf8_lossy(&body).into_owned();
        }
        loop {
            line.clear();
            self.0.read_line(&mut line).await.unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            self.0.read_exact(&mut chunk).await.unwrap();
            if size == 0 {
                return String::from_utf8_lossy(&body).into_owned();
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

fn memory_kib() -> (u64, u64) {
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let smaps = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    (field(&status, "VmRSS:"), field(&smaps, "Pss:"))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn instantiation(rt: &Runtime, images: &[ImageSpec; 3], rows: &mut Vec<(String, String)>) {
    let [hello, web, kv] = images;
    let mut runs = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        let h = rt
            .start_pod(
                pod(900_000 + i, container("c", hello, &["bench"], ContainerKind::Command)),
                StartOptions::default(),
            )
            .unwrap();
        h.wait().await;
        runs.push(ms(t.elapsed()));
        h.remove().unwrap();
    }
    runs.sort_by(f64::total_cmp);
    record("Runtime", "`hello` pod start -> exit, 20 runs, p50", "ms", pct(&runs, 0.5), spread(&runs));
    rows.push(("`hello` pod start -> exit, p50 (ms, 20 runs)".into(), format!("{:.2}", pct(&runs, 0.5))));
    let h = rt.start_pod(pod(900_100, container("web", web, &[], http())), StartOptions::default()).unwrap();
    let mut c = Conn::open(published(rt, pod_ip(900_100), 8080).await).await;
    c.get("/").await;
    let mut reqs = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        c.get("/").await;
        reqs.push(ms(t.elapsed()));
    }
    reqs.sort_by(f64::total_cmp);
    let measure = "`http-hello` request on a fresh instance (instantiate + handle), 200 requests, p50";
    record("Runtime", measure, "ms", pct(&reqs, 0.5), spread(&reqs));
    rows.push((
        "`http-hello` request on a fresh instance, p50 (ms, 200 requests)".into(),
        format!("{:.3}", pct(&reqs, 0.5)),
    ));
    h.stop(Duration::from_secs(1)).await;
    let t = Instant::now();
    let h = rt
        .start_pod(pod(900_200, container("kv", kv, &[], ContainerKind::Command)), StartOptions::default())
        .unwrap();
    published(rt, pod_ip(900_200), 6379).await;
    record("Runtime", "`kv` pod start -> listening", "ms", ms(t.elapsed()), serde_json::json!({}));
    rows.push(("`kv` pod start -> listening (ms)".into(), format!("{:.2}", ms(t.elapsed()))));
    h.stop(Duration::from_secs(1)).await;
}

/// Start `n` http-hello pods one by one, each measured to its first answer; they stay running.
async fn pod_starts(rt: &Runtime, web: &ImageSpec, n: u32) -> (Vec<f64>, Vec<PodHandle>) {
    let mut lat = Vec::new();
    let mut pods = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let h = rt.start_pod(pod(i, container("web", web, &[], http())), StartOptions::default()).unwrap();
        let mut c = Conn::open(published(rt, pod_ip(i), 8080).await).await;
        let body = c.get("/").await;
        lat.push(ms(t.elapsed()));
        assert!(body.contains("hello from"), "{body}");
        pods.push(h);
    }
    lat.sort_by(f64::total_cmp);
    (lat, pods)
}

async fn http_load(addr: SocketAddr, concurrency: usize, secs: u64) -> (f64, Vec<f64>) {
    let end = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            tokio::spawn(async move {
                let mut c = Conn::open(addr).await;
                let mut lat = Vec::new();
                while Instant::now() < end {
                    let t = Instant::now();
                    c.get("/").await;
                    lat.push(ms(t.elapsed()));
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    (all.len() as f64 / secs as f64, all)
}

/// `--pods N`: how many HTTP pods to start (density runs use 10,000).
fn pods_arg() -> Option<u32> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == "--pods").and_then(|i| args.get(i + 1)?.parse().ok())
}

/// Each idle HTTP pod holds a listener and a log file: a density run needs more descriptors
/// than the default soft limit (the `wasmkube` binary raises it the same way).
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let wanted = Rlimit { current: Some(1 << 20), maximum: Some(1 << 20) };
    if setrlimit(Resource::Nofile, wanted).is_err() {
        let hard = getrlimit(Resource::Nofile).maximum;
        let _ = setrlimit(Resource::Nofile, Rlimit { current: hard, maximum: hard });
    }
    println!("open-file limit: {:?}", getrlimit(Resource::Nofile).current);
}

fn main() {
    raise_open_file_limit();
    let quick = std::env::args().any(|a| a == "--quick");
    let rt_tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    rt_tokio.block_on(async {
        let engine = WasmEngine::new(&EngineConfig::default()).unwrap();
        let rt = Runtime::new(engine, RuntimeConfig::new(dir.path())).unwrap();
        let image = |n: &str| {
            let info = rt.images().import(&guest(n), None).unwrap();
            rt.images().resolve(&info.name).unwrap()
        };
        let images = [image("hello"), image("http-hello"), image("kv")];
        for i in &images {
            rt.prepare(i).await.unwrap();
        }
        instantiation(&rt, &images, &mut rows).await;
        let n = pods_arg().unwrap_or(if quick { 50 } else { 1000 });
        let before = memory_kib();
        let (lat, pods) = pod_starts(&rt, &images[1], n).await;
        let after = memory_kib();
        let measure = format!("`http-hello` pod start -> first HTTP answer, {n} pods one after another");
        record("Runtime", &format!("{measure}, p50"), "ms", pct(&lat, 0.5), spread(&lat));
        let goal = serde_json::json!({"goal": "< 5 ms"});
        record("Runtime", &format!("{measure}, p99"), "ms", pct(&lat, 0.99), merged(&[spread(&lat), goal]));
        rows.push((
            format!("`http-hello` pod start -> first HTTP answer, p50 / p99 (ms, {n} pods)"),
            format!("{:.2} / {:.2}", pct(&lat, 0.5), pct(&lat, 0.99)),
        ));
        let (rss, pss) =
            ((after.0 - before.0) as f64 / n as f64, after.1.saturating_sub(before.1) as f64 / n as f64);
        let more = serde_json::json!({"pss": pss, "goal": "< 100 KiB"});
        record(
            "Density",
            &format!("runtime memory per idle http-hello pod, RSS ({n} pods)"),
            "KiB",
            rss,
            more,
        );
        rows.push((
            format!("memory per idle `http-hello` pod, RSS / PSS (KiB, {n} pods)"),
            format!(
                "{:.1} / {:.1}",
                (after.0 - before.0) as f64 / n as f64,
                after.1.saturating_sub(before.1) as f64 / n as f64
            ),
        ));
        let target = published(&rt, pod_ip(0), 8080).await;
        for c in [1, 16, 64] {
            let (rps, lat) = http_load(target, c, if quick { 1 } else { 5 }).await;
            let measure = format!("one `http-hello` pod on its socket, concurrency {c}");
            let higher = serde_json::json!({"better": "higher"});
            record("Runtime", &format!("{measure}, requests/s"), "req/s", rps, higher);
            let p50 = serde_json::json!({"p50": pct(&lat, 0.5)});
            record("Runtime", &format!("{measure}, p99 latency"), "ms", pct(&lat, 0.99), p50);
            rows.push((
                format!("HTTP on one `http-hello` pod, concurrency {c}: req/s, p50 / p99 (ms)"),
                format!("{rps:.0}, {:.2} / {:.2}", pct(&lat, 0.5), pct(&lat, 0.99)),
            ));
        }
        let kv_n = if quick { 20 } else { 200 };
        let before = memory_kib();
        let mut kvs = Vec::new();
        for i in 0..kv_n {
            let id = 500_000 + i;
            kvs.push(
                rt.start_pod(
                    pod(id, container("kv", &images[2], &[], ContainerKind::Command)),
                    StartOptions::default(),
                )
                .unwrap(),
            );
            published(&rt, pod_ip(id), 6379).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = memory_kib();
        let (rss, pss) = (
            (after.0 - before.0) as f64 / kv_n as f64,
            after.1.saturating_sub(before.1) as f64 / kv_n as f64,
        );
        let more = serde_json::json!({"pss": pss});
        record("Density", &format!("runtime memory per idle kv pod, RSS ({kv_n} pods)"), "KiB", rss, more);
        rows.push((
            format!("memory per idle `kv` pod, RSS / PSS (KiB, {kv_n} pods)"),
            format!(
                "{:.1} / {:.1}",
                (after.0 - before.0) as f64 / kv_n as f64,
                after.1.saturating_sub(before.1) as f64 / kv_n as f64
            ),
        ));
        for h in pods.iter().chain(&kvs) {
            h.stop(Duration::from_millis(100)).await;
        }
    });
    println!("| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
