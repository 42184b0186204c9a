//! `wasi:http/proxy` containers: served on a listener the caller binds, a fresh instance per
//! request, drained on stop.

use crate::support::*;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmkube_runtime::{ContainerKind, PodSpec, PortBinder, StartOptions};

/// Binds 127.0.0.1:0 for every port and remembers where.
#[derive(Default)]
struct Loopback(Mutex<Vec<(String, u16, SocketAddr)>>);

impl PortBinder for Loopback {
    fn bind(&self, _pod: &PodSpec, container: &str, port: u16) -> std::io::Result<TcpListener> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        self.0.lock().unwrap().push((container.into(), port, listener.local_addr()?));
        Ok(listener)
    }
}

async fn serve_http_hello(reuse: bool, uid: &str) {
    let t = TestRuntime::new();
    let mut c = command("web", &t.image("http-hello"), &[]);
    c.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: reuse };
    let binder = Arc::new(Loopback::default());
    let options = StartOptions { ports: Some(binder.clone()), ..Default::default() };
    let handle = t.rt.start_pod(pod(uid, vec![c]), options).unwrap();
    let addr = loop {
        if let Some((_, 8080, addr)) = binder.0.lock().unwrap().first().cloned() {
            break addr;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for _ in 0..3 {
        let response = tokio::task::spawn_blocking(move || get(addr, "/")).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        // The pod's hostname reaches the guest only if it imports wasi:cli/environment (the
        // proxy adapter does not), so only the greeting is checked here.
        assert!(response.contains("hello from "), "{response}");
    }
    let status = handle.stop(Duration::from_secs(5)).await;
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "drained and completed: {status:#?}");
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed after stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_hello_answers_with_a_fresh_instance_per_request() {
    serve_http_hello(false, "web-fresh").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_hello_answers_with_a_reused_instance() {
    serve_http_hello(true, "web-reuse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_container_on_the_pod_network_also_takes_requests_in_process() {
    use http_body_util::{BodyExt, Full};
    let t = TestRuntime::new();
    let mut c = command("web", &t.image("http-hello"), &[]);
    c.kind = ContainerKind::Http { ports: vec![8080], reuse_instances: false };
    let spec = pod("web-local", vec![c]);
    let ip = spec.pod_ip;
    let handle = t.rt.start_pod(spec, StartOptions::default()).unwrap();
    let addr = published(&t.rt, ip, 8080).await;
    let local = loop {
        if let Some(local) = t.rt.network().local_http(addr) {
            break local;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let body = Full::new(bytes::Bytes::from("handed over without a socket")).map_err(|never| match never {});
    let request = hyper::Request::post("/echo").header("host", "web").body(body.boxed_unsync()).unwrap();
    let response = local.call(request).await;
    assert_eq!(response.status(), 200);
    let echoed = response.into_body().collect().await.expect("the body streams").to_bytes();
    let echoed = String::from_utf8_lossy(&echoed);
    assert!(echoed.contains("POST /echo") && echoed.contains("handed over without a socket"), "{echoed}");
    let status = handle.stop(Duration::from_secs(5)).await;
    assert_eq!(status.containers[0].state.exit_code(), Some(0), "{status:#?}");
    assert!(t.rt.network().local_http(addr).is_none(), "the entry point goes with the container");
    // A caller still holding the handler after the stop is told so, not served by a dead pod.
    let late = hyper::Request::get("/").header("host", "web");
    let late = late.body(Full::new(bytes::Bytes::new()).map_err(|never| match never {}).boxed_unsync());
    assert_eq!(local.call(late.unwrap()).await.status(), 503);
}
