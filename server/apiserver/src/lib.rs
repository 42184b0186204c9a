//! The Kubernetes-compatible API server of wasmkube.
//!
//! # Layout
//! - [`service`]: the API's semantics over the store (create/update/patch/delete/list/watch,
//!   subresources). The only code that touches the store.
//! - [`http`]: axum routing, content negotiation, discovery, OpenAPI, Tables, watch streams.
//! - [`controllers`]: the garbage collector and namespace lifecycle, running in-process against
//!   [`service::Api`] exactly as a user's requests do.
//! - [`bootstrap`]: the objects every cluster starts with.

pub mod bootstrap;
pub mod controllers;
pub mod http;
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
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let ready = Arc::new(AtomicBool::new(false));
    let state = http::AppState { api: api.clone(), server_address: addr.to_string(), ready: ready.clone() };
    let app = http::router(state);
    let server =
        tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(shutdown).await });
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
    server.await.map_err(std::io::Error::other)?
}
