//! Networking benchmark: the real `wasmkube server` with its ingress, measured from outside.
//!
//! - HTTP: `wrk` against one `http-hello` pod through the ingress (handed to the component
//!   in-process) and through its NodePort (the socket path into the pod network), side by side
//!   in the same run with the same component under `wasmtime serve` (wasmtime-cli 48.0.8, which
//!   `tools.sh` installs): requests/s and p50/p99 latency at concurrency 1, 16 and 64.
//! - TCP: `redis-benchmark -t ping,set,get` against the `kv` component through a NodePort, and
//!   against the same component under `wasmtime run` with a real socket.
//! - The pod network's routing decision for a connect to a Service's cluster IP (load balancer)
//!   vs to a pod IP, with 5,000 Services programmed.
//! - Service programming delay: a NodePort Service created -> the first successful request
//!   through it, with a handful of Services and again with 5,000.
//!
//! Run: `cargo bench -p wasmkube --bench network` (`-- --quick` for a smoke run). Figures,
//! never assertions.

mod support;

use serde_json::json;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::record::{record, spread};
use support::{BIN, Conn, Server, percentile, start_server_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HELLO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/out/http-hello.wasm");
const HOST: &str = "bench.local";

const MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers: [{name: web, image: "http-hello:latest", ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec: {type: NodePort, selector: {app: hello}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello}
spec:
  rules:
  - host: bench.local
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 80}}}}]}
"#;

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

/// wasmtime-cli 48.0.8 (and wrk), installed by `tools.sh` if missing.
fn wasmtime() -> String {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/tools.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("running tools.sh");
    assert!(out.status.success(), "tools.sh failed");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("WASMTIME=")).expect("tools.sh names wasmtime").to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn kubectl(server: &Server, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(server.dir.path().join("kubeconfig"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("kubectl");
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One GET; the body if the answer was 200.
fn get(addr: &str, host: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then(|| out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// A peer process, ended (and reaped) when dropped, panics included.
struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn millis(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, host: &str, connections: u32, seconds: u32) -> Wrk {
    let threads = connections.min(2).to_string();
    let out = Command::new("wrk")
        .args(["-t", &threads, "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"])
        .args(["-H", &format!("Host: {host}"), url])
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).map(|v| v.trim().to_string())
    };
    let errors = field("Non-2xx or 3xx responses:").and_then(|v| v.parse().ok()).unwrap_or(0)
        + field("Socket errors:")
            .map(|v| v.split(',').filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok()).sum())
            .unwrap_or(0);
    Wrk {
        rps: field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        p50_ms: field("50%").map_or(f64::NAN, |v| millis(&v)),
        p99_ms: field("99%").map_or(f64::NAN, |v| millis(&v)),
        errors,
    }
}

fn http(server: &Server) {
    let wasmtime = wasmtime();
    let ingress = server.endpoints["ingress"].as_str().expect("ingress address").to_string();
    let import =
        Command::new(BIN).args(["image", "import", "--data-dir"]).arg(server.dir.path()).arg(HELLO).output();
    assert!(import.unwrap().status.success(), "import failed (build the guests first)");
    kubectl(server, &["apply", "-f", "-"], Some(MANIFEST));
    wait_for("the ingress answering", 60, || get(&ingress, HOST).is_some_and(|b| b.contains("hello from")));
    let node_port =
        kubectl(server, &["get", "svc", "hello", "-o", "jsonpath={.spec.ports[0].nodePort}"], None);
    let node_port = format!("127.0.0.1:{node_port}");
    wait_for("the NodePort answering", 30, || get(&node_port, HOST).is_some());
    let serve_port = free_port();
    let serve_addr = format!("127.0.0.1:{serve_port}");
    let _serve = Peer(
        Command::new(&wasmtime)
            .args(["serve", "-S", "cli=y", "--addr", &serve_addr, HELLO])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wasmtime serve"),
    );
    wait_for("wasmtime serve answering", 30, || get(&serve_addr, HOST).is_some());

    let targets = [
        ("ingress (in-process)", &ingress),
        ("NodePort (socket path)", &node_port),
        ("wasmtime serve", &serve_addr),
    ];
    let (rounds, seconds, levels): (usize, u32, &[u32]) =
        if quick() { (1, 1, &[1, 16]) } else { (3, 5, &[1, 16, 64]) };
    for (_, addr) in &targets {
        wrk(&format!("http://{addr}/"), HOST, 16, 1); // warm-up
    }
    println!("\n### HTTP: wrk GET / of http-hello (one pod), {rounds} round(s) of {seconds} s, median round");
    println!(
        "| concurrency | path | requests/s (min / median / max) | p50 ms | p99 ms | errors | vs wasmtime serve |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &c in levels {
        let mut results: Vec<Vec<Wrk>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            // Interleaved, so drift on a shared machine hits every peer alike.
            for (i, (_, addr)) in targets.iter().enumerate() {
                results[i].push(wrk(&format!("http://{addr}/"), HOST, c, seconds));
            }
        }
        let median = |runs: &mut Vec<Wrk>| {
            runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            let (lo, hi) = (runs[0].rps, runs[runs.len() - 1].rps);
            let errors = runs.iter().map(|r| r.errors).sum::<u64>();
            (runs.remove(runs.len() / 2), lo, hi, errors)
        };
        let summaries: Vec<_> = results.iter_mut().map(median).collect();
        let peer = summaries[2].0.rps;
        let serve = &summaries[2].0;
        for ((name, _), (m, lo, hi, _)) in targets.iter().zip(&summaries).take(2) {
            let more = json!({"min": lo, "max": hi, "peer": "wasmtime serve", "peer_value": peer,
                "better": "higher", "goal": if name.starts_with("ingress") { ">= 90% of wasmtime serve" } else { "" }});
            record("HTTP", &format!("{name}, concurrency {c}, requests/s"), "req/s", m.rps, more);
            let more = json!({"peer": "wasmtime serve", "peer_value": serve.p99_ms, "p50": m.p50_ms});
            record("HTTP", &format!("{name}, concurrency {c}, p99 latency"), "ms", m.p99_ms, more);
        }
        for ((name, _), (m, lo, hi, errors)) in targets.iter().zip(&summaries) {
            println!(
                "| {c} | {name} | {lo:.0} / {:.0} / {hi:.0} | {:.2} | {:.2} | {errors} | {:.0}% |",
                m.rps,
                m.p50_ms,
                m.p99_ms,
                100.0 * m.rps / peer
            );
        }
    }
}

/// The routing decision alone: a connect to a cluster IP (a pick among endpoints) vs to a pod
/// IP, with 5,000 Services programmed.
fn route_cost() {
    use wasmkube_runtime::network::{PodNetwork, Proto, Service, ServiceAddress, ServicePort};
    let net = wasmkube_runtime::NodeNetwork::default();
    let (client, a, b) =
        (Ipv4Addr::new(10, 244, 0, 2), Ipv4Addr::new(10, 244, 0, 3), Ipv4Addr::new(10, 244, 0, 4));
    for (ip, host_port) in [(client, 40000), (a, 40001), (b, 40002)] {
        net.add_pod(ip, "p", "default");
        net.reserve(ip, Proto::Tcp, 8080).unwrap();
        net.publish(ip, Proto::Tcp, 8080, SocketAddr::from((Ipv4Addr::LOCALHOST, host_port)), false);
    }
    let services = 5_000u32;
    for i in 0..services {
        net.set_service(Service {
            namespace: "default".into(),
            name: format!("svc-{i}"),
            address: ServiceAddress::ClusterIp(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 10)) + i)),
            ports: vec![ServicePort {
                name: String::new(),
                proto: Proto::Tcp,
                port: 80,
                endpoints: vec![SocketAddrV4::new(a, 8080), SocketAddrV4::new(b, 8080)],
            }],
            client_affinity: None,
            hostnames: Vec::new(),
        });
    }
    let n = if quick() { 100_000 } else { 2_000_000 };
    let time = |to: SocketAddr| {
        let t0 = Instant::now();
        for _ in 0..n {
            std::hint::black_box(net.route(client, Proto::Tcp, std::hint::black_box(to)).unwrap());
        }
        t0.elapsed().as_nanos() as f64 / n as f64
    };
    let vip = SocketAddr::from((Ipv4Addr::new(10, 96, 0, 77), 80));
    let pod = SocketAddr::from((a, 8080));
    let (lb, direct) = (time(vip), time(pod));
    println!(
        "\n### Routing a connect in the pod network ({services} Services programmed, {n} connects each)"
    );
    println!("| destination | ns per connect |");
    println!("|---|---|");
    let more = json!({"peer": "a connect to a pod IP (no balancing)", "peer_value": direct});
    record("Services", "routing a connect to a cluster IP (5,000 Services)", "ns", lb, more);
    println!("| Service cluster IP (load balancer picks an endpoint) | {lb:.0} |");
    println!("| pod IP (direct) | {direct:.0} |");
}

/// Service created -> first 200 through its NodePort, for `samples` Services.
async fn programming_delay(api: &str, samples: usize, tag: &str) -> Vec<f64> {
    let mut conn = Conn::open(api).await;
    let mut delays = Vec::new();
    for i in 0..samples {
        let body = format!(
            r#"{{"metadata":{{"name":"probe-{tag}-{i}"}},"spec":{{"type":"NodePort","selector":{{"app":"hello"}},"ports":[{{"port":80,"targetPort":8080}}]}}}}"#
        );
        let t0 = Instant::now();
        let (status, created) = conn.exchange("POST", "/api/v1/namespaces/default/services", &body).await;
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&created));
        let created: serde_json::Value = serde_json::from_slice(&created).unwrap();
        let port = created["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        let addr = format!("127.0.0.1:{port}");
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
                let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
                let mut out = Vec::new();
                let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
                if read.is_ok() && out.starts_with(b"HTTP/1.1 200") {
                    break;
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "service {i} never answered");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        delays.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    delays
}

async fn create_services(api: &str, n: usize) -> f64 {
    let t0 = Instant::now();
    let clients = 8;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let api = api.to_string();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&api).await;
            for i in (c..n).step_by(clients) {
                let body = format!(
                    r#"{{"metadata":{{"name":"load-{i}"}},"spec":{{"selector":{{"app":"hello"}},"ports":[{{"port":80,"targetPort":8080}}]}}}}"#
                );
                assert_eq!(conn.request("POST", "/api/v1/namespaces/default/services", &body).await, 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    t0.elapsed().as_secs_f64()
}

const KV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/out/kv.wasm");

const KV_MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: kv}
spec:
  replicas: 1
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      containers: [{name: kv, image: "kv:latest", ports: [{containerPort: 6379}]}]
---
apiVersion: v1
kind: Service
metadata: {name: kv}
spec: {type: NodePort, selector: {app: kv}, ports: [{port: 6379, targetPort: 6379}]}
"#;

/// `redis-benchmark -t ping,set,get` against 127.0.0.1:`port`: (test, requests/s, p50 ms, p99 ms).
fn redis_benchmark(port: &str, requests: u32, clients: u32) -> Vec<(String, f64, f64, f64)> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", port, "-t", "ping,set,get", "-q", "--csv"])
        .args(["-n", &requests.to_string(), "-c", &clients.to_string()])
        .output()
        .expect("redis-benchmark (redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').map(|f| f.trim_matches('"')).collect();
            Some((
                f.first()?.to_string(),
                f.get(1)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
                f.get(6)?.parse().ok()?,
            ))
        })
        .collect()
}

/// TCP: the `kv` component behind a NodePort, against the same component under `wasmtime run`
/// with a real socket (`-S inherit-network`).
fn tcp(server: &Server) {
    let wasmtime = wasmtime();
    let import =
        Command::new(BIN).args(["image", "import", "--data-dir"]).arg(server.dir.path()).arg(KV).output();
    assert!(import.unwrap().status.success(), "import failed (build the guests first)");
    kubectl(server, &["apply", "-f", "-"], Some(KV_MANIFEST));
    let node_port = kubectl(server, &["get", "svc", "kv", "-o", "jsonpath={.spec.ports[0].nodePort}"], None);
    let ping = |port: &str| {
        let out = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", port, "ping"]).output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "PONG")
    };
    wait_for("kv answering through its NodePort", 60, || ping(&node_port));
    let port = free_port().to_string();
    let _run = Peer(
        Command::new(&wasmtime)
            .args(["run", "-S", "inherit-network=y", KV, "--port", &port])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wasmtime run"),
    );
    wait_for("kv under wasmtime run answering", 30, || ping(&port));
    let (rounds, requests) = if quick() { (1, 2_000) } else { (3, 100_000) };
    let clients = 50;
    // (ours, peer) per test: every round's (requests/s, p50, p99).
    type Rounds = Vec<(f64, f64, f64)>;
    let mut results: std::collections::BTreeMap<String, (Rounds, Rounds)> = Default::default();
    for _ in 0..rounds {
        for (side, target) in [(0, &node_port), (1, &port)] {
            for (test, rps, p50, p99) in redis_benchmark(target, requests, clients) {
                let entry = results.entry(test).or_default();
                if side == 0 { entry.0.push((rps, p50, p99)) } else { entry.1.push((rps, p50, p99)) }
            }
        }
    }
    println!("\n### TCP: redis-benchmark -c {clients} -n {requests} against kv, {rounds} round(s), median");
    println!(
        "| test | NodePort req/s | wasmtime run req/s | ratio | NodePort p99 ms | wasmtime run p99 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (test, (ours, theirs)) in &mut results {
        let median = |v: &mut Vec<(f64, f64, f64)>| {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            (v[0].0, v[v.len() / 2], v[v.len() - 1].0)
        };
        if ours.is_empty() || theirs.is_empty() {
            continue;
        }
        let ((lo, m, hi), (_, peer, _)) = (median(ours), median(theirs));
        println!(
            "| {test} | {:.0} | {:.0} | {:.0}% | {:.2} | {:.2} |",
            m.0,
            peer.0,
            100.0 * m.0 / peer.0,
            m.2,
            peer.2
        );
        let more = json!({"min": lo, "max": hi, "peer": "wasmtime run, real socket", "peer_value": peer.0, "better": "higher"});
        record(
            "TCP",
            &format!("kv through a NodePort, redis-benchmark {test}, requests/s"),
            "req/s",
            m.0,
            more,
        );
        let more = json!({"peer": "wasmtime run, real socket", "peer_value": peer.2, "p50": m.1});
        record("TCP", &format!("kv through a NodePort, redis-benchmark {test}, p99"), "ms", m.2, more);
    }
}

fn main() {
    let server = start_server_with(&["--ingress-listen", "127.0.0.1:0"]);
    http(&server);
    tcp(&server);
    route_cost();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (samples, load) = if quick() { (5, 200) } else { (20, 5_000) };
    rt.block_on(async {
        let few = programming_delay(&server.addr, samples, "few").await;
        let took = create_services(&server.addr, load).await;
        // Let the endpoints controllers and the node catch up before sampling.
        tokio::time::sleep(Duration::from_secs(if quick() { 1 } else { 10 })).await;
        let many = programming_delay(&server.addr, samples, "many").await;
        println!("\n### Service programming delay: NodePort Service created -> first 200 through it ({samples} samples)");
        println!("| Services in the cluster | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|");
        for (count, v) in [(samples + 2, &few), (load + 2 * samples + 2, &many)] {
            let measure = format!("NodePort Service created -> first 200 through it, {count} Services, p50");
            record("Services", &measure, "ms", percentile(v, 0.5), spread(v));
            println!(
                "| {count} | {:.1} | {:.1} | {:.1} |",
                percentile(v, 0.5),
                percentile(v, 0.99),
                v[v.len() - 1]
            );
        }
        println!("({load} Services created in {took:.1} s by 8 clients)");
    });
}
