//! The ingress: an Ingress controller for class `wasmkube` (created as the default class),
//! serving `--ingress-listen`. Each request is routed by the Ingresses' rules ([`routes`]) to a
//! Service port, then to one of the Service's ready endpoints through the pod network — the same
//! choice a pod's connect to the cluster IP makes. When that endpoint is an HTTP component on
//! this node the request is handed to it in-process; otherwise it is streamed over a socket.
//! Ingresses it serves get `status.loadBalancer.ingress` set to the node's address.
//!
//! One port takes both plain HTTP and TLS: a connection that opens with a TLS handshake record
//! is terminated with the certificates of the Ingresses' `spec.tls` ([`tls`]). Clients speak
//! HTTP/1.1 or HTTP/2 (ALPN `h2` over TLS, prior knowledge in the clear); backends get HTTP/1.1.
//!
//! Bounded as nginx is: at most [`MAX_CONNECTIONS`] clients, a request head (or handshake)
//! within [`HEADER_TIMEOUT`], a backend's response head within [`UPSTREAM_TIMEOUT`].

pub mod routes;
pub mod tls;

use crate::NodeAgent;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use routes::{Backend, PortRef, Routes};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tls::Certificates;
use tokio::net::{TcpListener, TcpStream};
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{PatchType, WriteOptions};
use wasmkube_runtime::network::{PodNetwork, Proto, ServiceAddress};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// What the ingress serves from: the routes and the certificates, as the API last said.
#[derive(Clone, Default)]
struct Tables {
    routes: Arc<RwLock<Arc<Routes>>>,
    certificates: Arc<RwLock<Arc<Certificates>>>,
}

/// Serve the ingress on `listener` until the process ends.
pub fn start(agent: NodeAgent, listener: TcpListener) {
    let tables = Tables::default();
    tokio::spawn(follow_forever(agent.clone(), tables.clone()));
    tokio::spawn(accept(agent, listener, tables));
}

/// Open client connections at most; more wait to be accepted (the API shares the fd limit).
const MAX_CONNECTIONS: usize = 4096;
/// A client must send a request head within this (slowloris), as nginx's `client_header_timeout`.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// A backend must answer with a response head within this, as nginx's `proxy_read_timeout`.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

async fn accept(agent: NodeAgent, listener: TcpListener, tables: Tables) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let tls = tls::acceptor(tables.certificates.clone());
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "ingress accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (agent, routes, tls) = (agent.clone(), tables.routes.clone(), tls.clone());
        tokio::spawn(async move {
            if let Err(e) = serve_client(agent, routes, tls, stream, peer).await {
                tracing::debug!(%peer, error = %e, "ingress connection ended");
            }
            drop(slot);
        });
    }
}

/// One client connection: TLS or not (by its first byte), then HTTP/1.1 or HTTP/2.
async fn serve_client(
    agent: NodeAgent,
    routes: Arc<RwLock<Arc<Routes>>>,
    tls: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<(), BoxError> {
    // A TLS connection opens with a handshake record (0x16); HTTP with a method or the HTTP/2
    // preface, never that byte.
    let mut first = [0u8; 1];
    tokio::time::timeout(HEADER_TIMEOUT, stream.peek(&mut first))
        .await
        .map_err(|_| "no request in time")??;
    let secure = first[0] == 0x16;
    // The first request must come within HEADER_TIMEOUT of the connection, whatever the
    // protocol turns out to be (HTTP/1's own header timeout starts only once it is known).
    let deadline = tokio::time::Instant::now() + HEADER_TIMEOUT;
    let first_request = Arc::new(tokio::sync::Notify::new());
    let seen = first_request.clone();
    let service = hyper::service::service_fn(move |req| {
        seen.notify_one();
        let table = routes.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        handle(agent.clone(), table, peer, secure, req)
    });
    if secure {
        let stream = tokio::time::timeout_at(deadline, tls.accept(stream))
            .await
            .map_err(|_| "TLS handshake timed out")??;
        serve_http(stream, service, first_request, deadline).await
    } else {
        serve_http(stream, service, first_request, deadline).await
    }
}

/// Concurrent requests one HTTP/2 client may have in flight (each may instantiate a component).
const H2_STREAMS: u32 = 100;
/// How often an idle HTTP/2 client is pinged (one that does not answer is dropped).
const H2_PING: Duration = Duration::from_secs(30);

async fn serve_http<I, S>(
    io: I,
    service: S,
    first_request: Arc<tokio::sync::Notify>,
    deadline: tokio::time::Instant,
) -> Result<(), BoxError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    http.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_STREAMS)
        .keep_alive_interval(Some(H2_PING))
        .keep_alive_timeout(HEADER_TIMEOUT);
    let connection = http.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => return result,
        arrived = tokio::time::timeout_at(deadline, first_request.notified()) => {
            if arrived.is_err() {
                return Err("no request in time".into());
            }
        }
    }
    connection.await
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(body.to_string())).map_err(|never| match never {}).boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

async fn handle(
    agent: NodeAgent,
    routes: Arc<Routes>,
    peer: SocketAddr,
    secure: bool,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let Some(backend) = routes.route(&host, req.uri().path()) else {
        return Ok(text(StatusCode::NOT_FOUND, "404 page not found: no Ingress rule matches\n"));
    };
    let net = agent.inner.runtime.network();
    let Some(vip) = service_address(net, backend) else {
        let why = format!(
            "503 service {}/{} has no such port or no cluster IP\n",
            backend.namespace, backend.service
        );
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, &why));
    };
    // The client as NetworkPolicy (ipBlock) and ClientIP affinity see it.
    let client = net.outside_client(peer);
    let Ok(target) = net.route(client, Proto::Tcp, SocketAddr::V4(vip)) else {
        let why = format!("503 service {}/{} has no ready endpoint\n", backend.namespace, backend.service);
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, &why));
    };
    // HTTP/1.1 in origin form towards the backend, the authority routed on in Host (an HTTP/2
    // client sends it as :authority).
    if let Some(pq) = req.uri().path_and_query().cloned()
        && req.uri().authority().is_some()
        && let Ok(uri) = hyper::Uri::builder().path_and_query(pq).build()
    {
        *req.uri_mut() = uri;
    }
    *req.version_mut() = hyper::Version::HTTP_11;
    let headers = req.headers_mut();
    strip_hop_by_hop(headers);
    if !headers.contains_key(header::HOST)
        && let Ok(v) = header::HeaderValue::from_str(&host)
    {
        headers.insert(header::HOST, v);
    }
    // Replaced, not appended to: a client cannot choose what the backend believes (nginx's
    // default `$remote_addr`).
    if let Ok(v) = header::HeaderValue::from_str(&peer.ip().to_string()) {
        headers.insert("x-forwarded-for", v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&host) {
        headers.insert("x-forwarded-host", v);
    }
    let proto = if secure { "https" } else { "http" };
    headers.insert("x-forwarded-proto", header::HeaderValue::from_static(proto));
    let upstream = async {
        match net.local_http(target) {
            Some(component) => {
                let response = component.call(req.map(BodyExt::boxed_unsync)).await;
                Ok(response.map(|b| b.map_err(BoxError::from).boxed_unsync()))
            }
            None => forward(target, req).await.map(|r| r.map(|b| b.map_err(BoxError::from).boxed_unsync())),
        }
    };
    match tokio::time::timeout(UPSTREAM_TIMEOUT, upstream).await.unwrap_or_else(|_| Err("timed out".into())) {
        Ok(mut response) => {
            strip_hop_by_hop(response.headers_mut());
            Ok(response)
        }
        Err(e) => {
            tracing::debug!(%target, error = %e, "ingress upstream failed");
            Ok(text(StatusCode::BAD_GATEWAY, &format!("502 the backend failed: {e}\n")))
        }
    }
}

/// Headers for one hop only: the fixed ones and whatever `Connection` names.
fn strip_hop_by_hop(headers: &mut header::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .collect();
    for hop in ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"] {
        headers.remove(hop);
    }
    for name in named {
        if let Ok(name) = header::HeaderName::from_bytes(name.as_bytes()) {
            headers.remove(name);
        }
    }
}

/// The cluster IP and port an Ingress backend names.
fn service_address(net: &wasmkube_runtime::NodeNetwork, backend: &Backend) -> Option<SocketAddrV4> {
    let svc = net.service(&backend.namespace, &backend.service)?;
    let ServiceAddress::ClusterIp(ip) = svc.address else { return None };
    let port = svc.ports.iter().find(|p| {
        p.proto == Proto::Tcp
            && match &backend.port {
                PortRef::Number(n) => p.port == *n,
                PortRef::Name(name) => p.name == *name,
            }
    })?;
    Some(SocketAddrV4::new(ip, port.port))
}

async fn forward(target: SocketAddr, req: Request<Incoming>) -> Result<Response<Incoming>, String> {
    let stream = TcpStream::connect(target).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "ingress upstream connection ended");
        }
    });
    sender.send_request(req).await.map_err(|e| e.to_string())
}

/// Keep the routing table (and the served Ingresses' status) in step with the API.
async fn follow_forever(agent: NodeAgent, tables: Tables) {
    ensure_class(&agent).await;
    loop {
        if let Err(e) = follow(&agent, &tables).await {
            tracing::warn!(error = %e, "ingress watch ended; relisting");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The `wasmkube` IngressClass, the cluster's default, unless someone made it already.
async fn ensure_class(agent: &NodeAgent) {
    let def = registry::by_storage("networking.k8s.io/ingressclasses").expect("ingressclasses are served");
    let class = json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": routes::CLASS, "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": routes::CONTROLLER}});
    let opts = WriteOptions { field_manager: Some("wasmkube-ingress".into()), ..Default::default() };
    match agent.inner.api.create(def, "", class, &opts).await {
        Ok(_) => {}
        Err(e) if e.code == 409 => {}
        Err(e) => tracing::warn!(error = %e, "could not create the wasmkube IngressClass"),
    }
}

/// What the ingress knows of the API: the Ingresses, the Secrets that may hold their
/// certificates, and whether its class is the default.
#[derive(Default)]
struct Known {
    ingresses: BTreeMap<(String, String), Arc<Value>>,
    secrets: BTreeMap<(String, String), Arc<Value>>,
    default_class: bool,
}

impl Known {
    /// Note a change; true when it may change the routes.
    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) -> bool {
        match storage {
            "networking.k8s.io/ingresses" => {
                let key = (meta::namespace(obj).to_string(), meta::name(obj).to_string());
                if deleted {
                    self.ingresses.remove(&key);
                } else {
                    self.ingresses.insert(key, obj.clone());
                }
                true
            }
            // Secrets with a certificate (one that loses it is forgotten); others never matter.
            "secrets" => {
                let key = (meta::namespace(obj).to_string(), meta::name(obj).to_string());
                if !deleted && obj.pointer("/data/tls.crt").is_some() {
                    self.secrets.insert(key, obj.clone());
                    true
                } else {
                    self.secrets.remove(&key).is_some()
                }
            }
            "networking.k8s.io/ingressclasses" if meta::name(obj) == routes::CLASS => {
                let flag = obj.pointer("/metadata/annotations/ingressclass.kubernetes.io~1is-default-class");
                self.default_class = !deleted && flag.and_then(Value::as_str) == Some("true");
                true
            }
            _ => false,
        }
    }

    fn ours(&self) -> Vec<&Value> {
        self.ingresses
            .values()
            .map(|i| i.as_ref())
            .filter(|i| routes::is_ours(i, self.default_class))
            .collect()
    }
}

async fn follow(agent: &NodeAgent, tables: &Tables) -> Result<(), wasmkube_api::ApiError> {
    let (objects, mut events) = agent.inner.api.list_watch_everything().await?;
    let mut known = Known::default();
    for (def, obj) in &objects {
        known.note(def.storage, obj, false);
    }
    let mut rebuild = true;
    loop {
        if rebuild {
            let ours = known.ours();
            let table = Arc::new(Routes::build(ours.iter().copied()));
            *tables.routes.write().unwrap_or_else(std::sync::PoisonError::into_inner) = table;
            let secret =
                |ns: &str, name: &str| known.secrets.get(&(ns.to_string(), name.to_string())).map(|s| &**s);
            let (certificates, problems) = Certificates::build(ours.iter().copied(), secret);
            for problem in problems {
                tracing::warn!("{problem}");
            }
            *tables.certificates.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                Arc::new(certificates);
            for ing in ours {
                publish_status(agent, ing).await;
            }
        }
        let Some(ev) = events.next().await else { return Ok(()) };
        let ev = ev?;
        rebuild = known.note(ev.def.storage, &ev.object, ev.deleted);
    }
}

/// `status.loadBalancer.ingress: [{ip: <node address>}]`, written when it differs.
async fn publish_status(agent: &NodeAgent, ing: &Value) {
    let wanted = json!([{"ip": agent.inner.config.address.to_string()}]);
    if ing.pointer("/status/loadBalancer/ingress") == Some(&wanted) {
        return;
    }
    let def = registry::by_storage("networking.k8s.io/ingresses").expect("ingresses are served");
    let patch = json!({"status": {"loadBalancer": {"ingress": wanted}}});
    let opts = WriteOptions { field_manager: Some("wasmkube-ingress".into()), ..Default::default() };
    let result = agent
        .inner
        .api
        .patch(
            def,
            meta::namespace(ing),
            meta::name(ing),
            PatchType::Merge,
            &patch,
            Part::Status,
            false,
            &opts,
        )
        .await;
    if let Err(e) = result
        && e.code != 404
    {
        tracing::warn!(error = %e, "could not publish an Ingress's status");
    }
}
