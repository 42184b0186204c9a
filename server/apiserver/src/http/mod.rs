//! The HTTP face of the API: routing, content negotiation, Status errors, streaming watches.
//!
//! **API Boundary:** everything a client can send arrives here; everything leaves as JSON (a
//! Kubernetes object, List, Table, or `Status`). Semantics live in [`crate::service`].

mod discovery;
mod openapi;
mod request;
mod resource;
mod route;
mod table;

use crate::service::Api;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmkube_api::status::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub api: Api,
    /// `host:port` clients reach us on (for APIVersions).
    pub server_address: String,
    /// Set once bootstrap (default namespaces, the `kubernetes` Service) is done.
    pub ready: Arc<AtomicBool>,
    /// Becomes true when the server begins shutting down; long-running responses end then.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Serves `pods/log` (the node agent), when this server runs one.
    pub logs: Option<Arc<dyn crate::logs::PodLogs>>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/readyz", get(health))
        .route("/livez", get(health))
        .route("/healthz", get(health))
        .route("/api", get(core_discovery))
        .route("/apis", get(groups_discovery))
        .route("/openapi/v3", get(|| async { json_response(StatusCode::OK, &openapi::index(), &[]) }))
        .route("/openapi/v3/{*gv}", get(openapi_document))
        .route("/openapi/v2", get(openapi_v2))
        .fallback(resource::handle)
        .with_state(state)
}

pub fn version_info() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": concat!("v1.32.0+wasmkube-", env!("CARGO_PKG_VERSION")),
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "n/a (rust)", "compiler": "rustc", "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}

async fn version() -> Response {
    json_response(StatusCode::OK, &version_info(), &[])
}

async fn health(State(st): State<AppState>) -> Response {
    if st.ready.load(Ordering::Acquire) {
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response()
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "not ready: bootstrapping").into_response()
    }
}

fn accept(headers: &HeaderMap) -> &str {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn core_discovery(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if discovery::wants_aggregated(accept(&headers)) {
        return aggregated_response(discovery::aggregated(true));
    }
    json_response(StatusCode::OK, &discovery::api_versions(&st.server_address), &[])
}

async fn groups_discovery(headers: HeaderMap) -> Response {
    if discovery::wants_aggregated(accept(&headers)) {
        return aggregated_response(discovery::aggregated(false));
    }
    json_response(StatusCode::OK, &discovery::api_group_list(), &[])
}

fn aggregated_response(body: Value) -> Response {
    let mut r = json_response(StatusCode::OK, &body, &[]);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE));
    r
}

async fn openapi_v2(headers: HeaderMap) -> Response {
    let accept = accept(&headers);
    if accept.contains(openapi::V2_PROTOBUF) || accept.contains(openapi::V2_PROTOBUF_REPLY) {
        let mut r = Response::new(Body::from(openapi::v2_protobuf()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(openapi::V2_PROTOBUF_REPLY));
        return r;
    }
    json_response(StatusCode::OK, &openapi::v2_json(), &[])
}

async fn openapi_document(Path(gv): Path<String>) -> Response {
    match openapi::document(&gv) {
        Some(doc) => json_response(StatusCode::OK, &doc, &[]),
        None => error_response(&ApiError::no_route(&format!("/openapi/v3/{gv}"))),
    }
}

/// A JSON response with optional `Warning` headers (299, as upstream sends them).
pub fn json_response(code: StatusCode, body: &Value, warnings: &[String]) -> Response {
    let mut r = Response::new(Body::from(serde_json::to_vec(body).expect("JSON values always serialise")));
    *r.status_mut() = code;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}

pub fn error_response(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status(), &[])
}
