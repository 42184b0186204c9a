//! The Kubernetes-compatible API server of wasmkube.
//!
//! # Layout
//! - [`service`]: the API's semantics over the store (create/update/patch/delete/list/watch,
//!   subresources). The only code that touches the store.
//! - [`http`]: axum routing, content negotiation, discovery, OpenAPI, Tables, watch streams.
//! - [`controllers`]: the garbage collector and namespace lifecycle, running in-process against
//!   [`service::Api`] exactly as a user's requests do.
//! - [`bootstrap`]: the objects every cluster starts with.
//! - [`events`]: the Event recorder in-process components share; [`logs`]: the `pods/log`
//!   hook the node agent implements.

pub mod bootstrap;
pub mod controllers;
pub mod events;
pub mod http;
pub mod logs;
pub mod service;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

pub use service::Api;

/// Serve the API on an already-bound listener until `shutdown` resolves. Bootstraps the
/// default objects and starts the in-process controllers first; `/readyz` answers `ok` only
/// after that.
pub async fn serve(
    listener: TcpListener,
    api: Api,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let ready = Arc::new(AtomicBool::new(false));
    // Watches end when this flips, so graceful shutdown does not wait an hour for them.
    let (stop_tx, stopping) = tokio::sync::watch::channel(false);
    let state = http::AppState {
        api: api.clone(),
        server_address: addr.to_string(),
        ready: ready.clone(),
        stopping: stopping.clone(),
        logs: options.logs,
    };
    let app = http::router(state);
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    // No Nagle: a watch writes one small chunk per event, and a chunk held back until the
    // client's delayed ACK arrives would stall the stream for ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let mut server =
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(signal).await });
    bootstrap::ensure_defaults(&api, addr.port())
        .await
        .map_err(|e| std::io::Error::other(format!("bootstrapping the cluster: {e}")))?;
    tokio::spawn(controllers::run(
        api.clone(),
        controllers::gc::GarbageCollector::default(),
        "garbage-collector",
    ));
    tokio::spawn(controllers::run(
        api.clone(),
        controllers::namespace::NamespaceController::default(),
        "namespace",
    ));
    ready.store(true, Ordering::Release);
    let mut stopped = stopping;
    tokio::select! {
        r = &mut server => r.map_err(std::io::Error::other)?,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("requests still open {SHUTDOWN_GRACE:?} after shutdown began; closing them");
            Ok(())
        }
    }
}

/// What the binary plugs into the server.
#[derive(Default)]
pub struct ServeOptions {
    /// Serves `pods/log`; without it log requests answer 400.
    pub logs: Option<Arc<dyn logs::PodLogs>>,
}

/// How long in-flight requests get to finish once shutdown begins.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
