//! The pod network: one port space per pod shared by its components, pods reaching each other
//! by pod IP, name lookup, default-deny for anything outside the cluster, HTTP in the pod
//! network and outgoing `wasi:http` routed like sockets. All with the real guests.

use crate::support::{TestRuntime, command, pod, published};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmkube_runtime::network::Proto;
use wasmkube_runtime::{ContainerKind, PodSpec, StartOptions};

const A: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 3);

fn at(mut spec: PodSpec, ip: Ipv4Addr) -> PodSpec {
    spec.pod_ip = ip;
    spec
}

/// One inline RESP command; returns the first reply line(s) read.
async fn redis(addr: SocketAddr, cmd: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
    let mut buf = vec![0; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.unwrap().unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_of_a_pod_share_localhost_and_pods_do_not_collide() {
    let t = TestRuntime::new();
    let kv = t.image("kv");
    let pair = pod(
        "pair",
        vec![
            command("master", &kv, &["--port", "6379"]),
            command("replica", &kv, &["--port", "6380", "--replicaof", "127.0.0.1", "6379"]),
        ],
    );
    let a = t.rt.start_pod(at(pair, A), StartOptions::default()).unwrap();
    let b =
        t.rt.start_pod(
            at(pod("other", vec![command("master", &kv, &["--port", "6379"])]), B),
            StartOptions::default(),
        )
        .unwrap();
    let master = published(&t.rt, A, 6379).await;
    let replica = published(&t.rt, A, 6380).await;
    let other = published(&t.rt, B, 6379).await;
    assert_ne!(master, other, "the same container port in two pods is two sockets");
    assert_eq!(redis(master, "SET greeting hi").await, "+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while redis(replica, "GET greeting").await != "$2\r\nhi\r\n" {
        assert!(Instant::now() < deadline, "the replica never followed its master over 127.0.0.1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(redis(other, "GET greeting").await, "$-1\r\n", "the other pod has its own data");
    a.stop(Duration::from_secs(1)).await;
    b.stop(Duration::from_secs(1)).await;
    assert_eq!(t.rt.network().host_addr(A, Proto::Tcp, 6379), None, "a stopped pod's ports are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_reach_pods_by_ip_and_nothing_outside_the_cluster() {
    let t = TestRuntime::new();
    let server = t
        .rt
        .start_pod(at(pod("server", vec![command("kv", &t.image("kv"), &[])]), B), StartOptions::default())
        .unwrap();
    published(&t.rt, B, 6379).await;
    let probe = t.image("netprobe");
    let targets = [
        ("to-pod", "10.244.0.3:6379"),
        ("to-own-pod-no-listener", "127.0.0.1:6379"),
        ("to-service-range", "10.96.0.1:443"),
        ("to-outside", "192.0.2.1:80"),
    ];
    let containers = targets.iter().map(|(name, addr)| command(name, &probe, &[addr])).collect();
    let status =
        t.rt.start_pod(at(pod("client", containers), A), StartOptions::default()).unwrap().wait().await;
    assert!(status.containers.iter().all(|c| c.state.exit_code() == Some(0)), "{status:#?}");
    assert!(t.logs("client", "to-pod").contains("connected"), "{}", t.logs("client", "to-pod"));
    for (name, _) in &targets[1..] {
        let out = t.logs("client", name);
        assert!(out.contains("refused") && !out.contains("connected"), "{name}: {out}");
    }
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_components_serve_in_the_pod_network_and_call_each_other_by_pod_ip() {
    let t = TestRuntime::new();
    let hello = t.image("http-hello");
    let http = |name: &str| {
        let mut c = command(name, &hello, &[]);
        c.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
        c
    };
    let a = t.rt.start_pod(at(pod("web-a", vec![http("web")]), A), StartOptions::default()).unwrap();
    let b = t.rt.start_pod(at(pod("web-b", vec![http("web")]), B), StartOptions::default()).unwrap();
    let front = published(&t.rt, A, 8080).await;
    published(&t.rt, B, 8080).await;
    let get = |path: &str| {
        let path = path.to_string();
        async move {
            let mut s = tokio::net::TcpStream::connect(front).await.unwrap();
            let req = format!("GET {path} HTTP/1.1\r\nHost: web-a\r\nConnection: close\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            tokio::time::timeout(Duration::from_secs(20), s.read_to_string(&mut out)).await.unwrap().unwrap();
            out
        }
    };
    let root = get("/").await;
    assert!(root.starts_with("HTTP/1.1 200") && root.contains("hello from web-a"), "{root}");
    let fetched = get("/fetch?url=http://10.244.0.3:8080/").await;
    assert!(fetched.contains("hello from web-b"), "outgoing wasi:http to another pod: {fetched}");
    let denied = get("/fetch?url=http://192.0.2.1/").await;
    assert!(denied.starts_with("HTTP/1.1 502"), "outside the cluster is denied: {denied}");
    a.stop(Duration::from_secs(1)).await;
    b.stop(Duration::from_secs(1)).await;
}

/// "127.1" is no cluster name; the host's resolver (getaddrinfo) spells it 127.0.0.1 without
/// asking any server. netprobe reports the address it resolved in its connect error (in a pod,
/// 127.0.0.1 is the pod's own loopback, where nothing listens).
async fn probe_through_host_resolver(egress: wasmkube_runtime::network::EgressPolicy) -> String {
    let t = TestRuntime::with_config(|c| c.egress = egress);
    let probe = command("probe", &t.image("netprobe"), &["127.1:6379"]);
    let status =
        t.rt.start_pod(at(pod("resolver", vec![probe]), A), StartOptions::default()).unwrap().wait().await;
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "{status:#?}");
    t.logs("resolver", "probe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_outside_the_cluster_reach_the_host_resolver_only_where_egress_allows_the_answer() {
    use wasmkube_runtime::network::EgressPolicy;
    let loopback = EgressPolicy::default().allow(Ipv4Addr::new(127, 0, 0, 0), 8);
    let out = probe_through_host_resolver(loopback).await;
    assert!(
        out.contains("connect 127.1 (127.0.0.1:6379): connection-refused"),
        "resolved by the host: {out}"
    );
    let elsewhere = EgressPolicy::default().allow(Ipv4Addr::new(192, 0, 2, 0), 24);
    let out = probe_through_host_resolver(elsewhere).await;
    assert!(out.contains("name-unresolvable"), "an answer egress does not allow is dropped: {out}");
    let out = probe_through_host_resolver(EgressPolicy::default()).await;
    assert!(out.contains("name-unresolvable"), "no egress, no forwarding: {out}");
}

/// A UDP Service `10.96.0.53:53` over these echo endpoints (pod IP, port 5353).
fn udp_service(endpoints: &[Ipv4Addr]) -> wasmkube_runtime::network::Service {
    use wasmkube_runtime::network::{Service, ServiceAddress, ServicePort};
    Service {
        namespace: "default".into(),
        name: "echo".into(),
        address: ServiceAddress::ClusterIp(Ipv4Addr::new(10, 96, 0, 53)),
        ports: vec![ServicePort {
            name: String::new(),
            proto: Proto::Udp,
            port: 53,
            endpoints: endpoints.iter().map(|ip| std::net::SocketAddrV4::new(*ip, 5353)).collect(),
        }],
        client_affinity: None,
        hostnames: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udp_flow_to_a_service_stays_on_its_endpoint_and_moves_when_that_one_is_gone() {
    const C: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 4);
    let t = TestRuntime::new();
    let probe = t.image("netprobe");
    let echo = |name: &str, ip: Ipv4Addr| {
        let c = command("echo", &probe, &["udp-echo", "5353", name]);
        t.rt.start_pod(at(pod(name, vec![c]), ip), StartOptions::default()).unwrap()
    };
    let (echo_a, echo_b) = (echo("echo-a", A), echo("echo-b", B));
    for ip in [A, B] {
        while t.rt.network().host_addr(ip, Proto::Udp, 5353).is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    t.rt.network().set_service(udp_service(&[A, B]));
    // One ping every 50 ms on a socket "connected" to the Service.
    let ping = command("ping", &probe, &["udp-ping", "10.96.0.53:53", "80", "50"]);
    let client = t.rt.start_pod(at(pod("client", vec![ping]), C), StartOptions::default()).unwrap();
    let replies = |t: &TestRuntime| -> Vec<String> {
        t.logs("client", "ping").lines().filter(|l| l.starts_with("reply")).map(str::to_string).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while replies(&t).len() < 5 {
        assert!(Instant::now() < deadline, "no replies: {}", t.logs("client", "ping"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = replies(&t);
    let pinned = if first[0].contains("echo-a") { "echo-a" } else { "echo-b" };
    assert!(first.iter().all(|r| r.starts_with("reply 10.96.0.53:53 ") && r.contains(pinned)), "{first:?}");
    // The pinned endpoint goes away: it leaves the Service and its pod stops.
    let (gone, other, rest) = if pinned == "echo-a" { (echo_a, "echo-b", B) } else { (echo_b, "echo-a", A) };
    t.rt.network().set_service(udp_service(&[rest]));
    gone.stop(Duration::from_secs(1)).await;
    let status = client.wait().await;
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "{status:#?}");
    let all = t.logs("client", "ping");
    let last: Vec<&str> = all.lines().rev().take(20).collect();
    assert!(
        last.iter().all(|l| l.starts_with("reply 10.96.0.53:53 ") && l.contains(other)),
        "the flow moved to the remaining endpoint: {all}"
    );
}
