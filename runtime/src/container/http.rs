//! `wasi:http/proxy` containers: HTTP/1.1 on listeners the caller binds, a fresh instance per
//! request (or one reused instance, as an option), graceful drain when the pod stops. A
//! container on the pod network also takes requests in-process ([`crate::network::LocalHttp`]):
//! the ingress hands them over without a socket hop, and the drain waits for those too.
//!
//! A request whose instance hits the container's (or the pod's) memory limit ends the whole
//! container as `OOMKilled`, as the kernel's OOM killer ends a container process: its other
//! requests are cut off, its ports are given back, and the restart policy decides what next.

use super::{ContainerEnv, Outcome, describe, killed_after_grace, out_of_memory};
use crate::cache::Prepared;
use crate::host::Host;
use crate::limits::timed;
use crate::logs::Stream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Port served when the container declares none (INTERFACE.md).
const DEFAULT_PORT: u16 = 8080;

type Response = hyper::Response<HyperOutgoingBody>;
type ResponseSender = oneshot::Sender<Result<Response, ErrorCode>>;

/// A request body from a socket or handed over in-process.
trait RequestBody: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + 'static {}
impl<B: hyper::body::Body<Data = Bytes, Error = hyper::Error> + Send + 'static> RequestBody for B {}

/// A warm instance kept between requests (only with `reuse_instances`).
type WarmInstance = Arc<Mutex<Option<(Store<Host>, Proxy)>>>;

struct Server {
    env: Arc<ContainerEnv>,
    pre: ProxyPre<Host>,
    /// The warm instance when instances are reused; requests take turns on it.
    reused: Option<WarmInstance>,
    /// One permit per in-process request being handled; the drain takes them all back.
    in_process: Arc<Semaphore>,
    /// Set (with the trap's message) when a request ran out of memory: the container ends.
    oom: watch::Sender<Option<String>>,
}

/// More in-process requests than could ever be in flight at once.
const IN_PROCESS_SLOTS: u32 = 1 << 20;

pub(crate) async fn serve(
    env: Arc<ContainerEnv>,
    prepared: Arc<Prepared>,
    ports: Vec<u16>,
    reuse: bool,
) -> Outcome {
    let Some(pre) = prepared.proxy.clone() else {
        let message = "the component does not export wasi:http/incoming-handler, so it cannot serve HTTP";
        return Outcome::error(128, "CreateContainerError", message.into());
    };
    let mut reserved = PodPorts { env: env.clone(), ports: Vec::new(), local: Vec::new() };
    let ports = if ports.is_empty() { vec![DEFAULT_PORT] } else { ports };
    let listeners = match bind_all(&env, ports, &mut reserved) {
        Ok(listeners) => listeners,
        Err(message) => return Outcome::error(128, "CreateContainerError", message),
    };
    let reused = reuse.then(|| Arc::new(Mutex::new(None)));
    let in_process = Arc::new(Semaphore::new(IN_PROCESS_SLOTS as usize));
    let oom = watch::Sender::new(None);
    let server = Arc::new(Server { env: env.clone(), pre, reused, in_process, oom });
    if env.pod.options.ports.is_none() {
        for listener in &listeners {
            if let Ok(host) = listener.local_addr() {
                let handler: Arc<dyn crate::network::LocalHttp> = Arc::new(InProcess(server.clone()));
                env.pod.runtime.network.serve_local(host, handler.clone());
                reserved.local.push((host, handler));
            }
        }
    }
    let (accepted_tx, mut accepted) = mpsc::channel::<TcpStream>(64);
    let mut acceptors = JoinSet::new();
    for listener in listeners {
        acceptors.spawn(accept_loop(listener, accepted_tx.clone()));
    }
    let (shutdown_tx, shutdown) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut oom = server.oom.subscribe();
    let end = loop {
        tokio::select! {
            Some(stream) = accepted.recv() => {
                connections.spawn(serve_connection(server.clone(), stream, shutdown.clone()));
            }
            deadline = env.stop.requested() => break Ok(deadline),
            Ok(message) = oom.wait_for(Option::is_some) => break Err(message.clone().unwrap_or_default()),
        }
    };
    // No new in-process requests, then close the listeners, before reporting anything: once
    // the container is terminated, its ports are free for the next pod.
    reserved.stop_local();
    acceptors.abort_all();
    while acceptors.join_next().await.is_some() {}
    drop(reserved);
    let deadline = match end {
        Ok(deadline) => deadline,
        Err(message) => {
            // Killed, not drained: what was in flight ends now (handlers hear it through `oom`).
            connections.abort_all();
            server.in_process.close();
            return Outcome::oom_killed(message);
        }
    };
    shutdown_tx.send_replace(true);
    tracing::info!(in_flight = connections.len(), "draining HTTP connections");
    let drained = tokio::time::timeout_at(deadline, async {
        while connections.join_next().await.is_some() {}
        // In-process requests: every slot back means none is still being handled.
        let all = server.in_process.acquire_many(IN_PROCESS_SLOTS).await;
        server.in_process.close();
        drop(all);
    });
    // A request may still run out of memory while the others drain: killed, not completed.
    let out_of_memory =
        async { oom.wait_for(Option::is_some).await.ok().map(|m| m.clone().unwrap_or_default()) };
    let ended = tokio::select! {
        drained = drained => drained.map_err(|_| Outcome::killed()),
        Some(message) = out_of_memory => Err(Outcome::oom_killed(message)),
    };
    match ended {
        Ok(()) => Outcome::exited(0),
        Err(outcome) => {
            connections.abort_all();
            server.in_process.close();
            outcome
        }
    }
}

/// The container's handler as the pod network's in-process entry point.
struct InProcess(Arc<Server>);

impl crate::network::LocalHttp for InProcess {
    fn call(
        &self,
        req: hyper::Request<crate::network::LocalBody>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>> {
        let server = self.0.clone();
        Box::pin(async move {
            let Ok(slot) = server.in_process.clone().try_acquire_owned() else {
                let mut stopped = error_response("the container is stopping");
                *stopped.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                return stopped;
            };
            match server.clone().call(req, Some(slot)).await {
                Ok(response) => response,
                Err(message) => server.failed(&message),
            }
        })
    }
}

/// The ports this run of the container holds in the pod's port space: given back when the run
/// ends (or fails to bind them all), so a restarted run or a sibling can bind them again.
struct PodPorts {
    env: Arc<ContainerEnv>,
    ports: Vec<u16>,
    /// Listener addresses whose in-process entry point is registered, and that entry point.
    local: Vec<(std::net::SocketAddr, Arc<dyn crate::network::LocalHttp>)>,
}

impl PodPorts {
    fn stop_local(&mut self) {
        for (host, handler) in self.local.drain(..) {
            self.env.pod.runtime.network.stop_local(host, &handler);
        }
    }
}

impl Drop for PodPorts {
    fn drop(&mut self) {
        use crate::network::{PodNetwork, Proto};
        self.stop_local();
        for port in self.ports.drain(..) {
            self.env.pod.runtime.network.release(self.env.pod.spec.pod_ip, Proto::Tcp, port);
        }
    }
}

/// The container's ports in the pod's port space (podIP:port and 127.0.0.1:port for its
/// siblings), unless the caller supplied its own binder.
fn bind_in_pod_network(
    env: &ContainerEnv,
    port: u16,
    reserved: &mut PodPorts,
) -> std::io::Result<std::net::TcpListener> {
    use crate::network::{PodNetwork, Proto};
    let net = &env.pod.runtime.network;
    let ip = env.pod.spec.pod_ip;
    let port = net
        .reserve(ip, Proto::Tcp, port)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::AddrInUse, e))?;
    reserved.ports.push(port);
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    net.publish(ip, Proto::Tcp, port, listener.local_addr()?, false);
    Ok(listener)
}

fn bind_all(
    env: &ContainerEnv,
    ports: Vec<u16>,
    reserved: &mut PodPorts,
) -> Result<Vec<TcpListener>, String> {
    let binder = env.pod.options.ports.clone();
    ports
        .into_iter()
        .map(|port| {
            let listener = match &binder {
                Some(b) => b.bind(&env.pod.spec, &env.spec.name, port)?,
                None => bind_in_pod_network(env, port, reserved)?,
            };
            listener.set_nonblocking(true)?;
            let listener = TcpListener::from_std(listener)?;
            tracing::info!(port, addr = ?listener.local_addr().ok(), "serving HTTP");
            Ok(listener)
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e: std::io::Error| format!("binding the container's HTTP port: {e}"))
}

async fn accept_loop(listener: TcpListener, accepted: mpsc::Sender<TcpStream>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // A response head and body written apart must not wait on a delayed ACK.
                let _ = stream.set_nodelay(true);
                if accepted.send(stream).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(server: Arc<Server>, stream: TcpStream, mut shutdown: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |req| server.clone().handle(req));
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = async { shutdown.wait_for(|stop| *stop).await.map(drop) } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "HTTP connection ended with an error");
    }
}

impl Server {
    async fn handle(self: Arc<Self>, req: hyper::Request<Incoming>) -> Result<Response, Infallible> {
        match self.clone().call(req, None).await {
            Ok(response) => Ok(response),
            Err(message) => Ok(self.failed(&message)),
        }
    }

    /// Resolves once a request of this container ran out of memory.
    async fn oom_killed(&self) {
        let mut oom = self.oom.subscribe();
        if oom.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn failed(&self, message: &str) -> Response {
        self.env.logs.write(Stream::Stderr, format!("request failed: {message}\n").as_bytes());
        error_response(message)
    }

    /// Run the guest's handler in its own task (the response body may keep streaming after the
    /// headers are returned) and wait for the response it sets. `slot` (an in-process request's)
    /// is held until the handler is done.
    async fn call<B: RequestBody>(
        self: Arc<Self>,
        req: hyper::Request<B>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Response, String> {
        let (tx, rx) = oneshot::channel();
        let server = self.clone();
        let task = tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                result = server.run_handler(req, tx) => result.map_err(|e| {
                    let message = describe(&e);
                    if out_of_memory(&server.env, &e) {
                        server.oom.send_replace(Some(message.clone()));
                    }
                    message
                }),
                () = killed_after_grace(&server.env) => Err("killed: the pod stopped".to_owned()),
                () = server.oom_killed() => Err("killed: the container ran out of memory".to_owned()),
            }
        });
        match rx.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(format!("the component answered with error {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err("the component never set a response".into()),
                Ok(Err(message)) => Err(message),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    async fn run_handler<B: RequestBody>(
        &self,
        req: hyper::Request<B>,
        tx: ResponseSender,
    ) -> wasmtime::Result<()> {
        let Some(reused) = &self.reused else {
            let mut store = self.env.new_store().map_err(wasmtime::Error::msg)?;
            return timed(store.data().cpu.clock(), async {
                let proxy = self.pre.instantiate_async(&mut store).await?;
                handle_in(&mut store, &proxy, req, tx).await
            })
            .await;
        };
        let mut warm = reused.lock().await;
        let (mut store, proxy) = match warm.take() {
            Some(instance) => instance,
            None => {
                let mut store = self.env.new_store().map_err(wasmtime::Error::msg)?;
                let proxy = timed(store.data().cpu.clock(), self.pre.instantiate_async(&mut store)).await?;
                (store, proxy)
            }
        };
        timed(store.data().cpu.clock(), handle_in(&mut store, &proxy, req, tx)).await?;
        *warm = Some((store, proxy));
        Ok(())
    }
}

async fn handle_in<B: RequestBody>(
    store: &mut Store<Host>,
    proxy: &Proxy,
    req: hyper::Request<B>,
    tx: ResponseSender,
) -> wasmtime::Result<()> {
    let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(tx)?;
    proxy.wasi_http_incoming_handler().call_handle(&mut *store, req, out).await
}

fn error_response(message: &str) -> Response {
    let body = Full::new(Bytes::from(format!("{message}\n"))).map_err(|never| match never {}).boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
