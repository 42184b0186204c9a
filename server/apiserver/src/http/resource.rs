//! One handler for every resource URL: parse, dispatch by method/name/subresource, respond.

use super::request::{Query, decode_object_body, decode_patch_body, read_body};
use super::route::{self, ApiPath, Target};
use super::table::{IncludeObject, table};
use super::{AppState, discovery, error_response, json_response};
use crate::service::subresource::ScaleChange;
use crate::service::update::Part;
use crate::service::{Deleted, ObjectList, WatchEvent};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use futures::StreamExt;
use serde_json::{Value, json};
use wasmkube_api::status::{ApiError, success_status};
use wasmkube_api::{ResourceDef, Subresource};

pub async fn handle(
    State(st): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match dispatch(&st, &method, &uri, &headers, body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%method, %uri, code = e.code, reason = e.reason, "request failed");
            error_response(&e)
        }
    }
}

/// How the client wants objects back.
struct Output {
    table: bool,
    include: IncludeObject,
}

impl Output {
    fn from(headers: &HeaderMap, q: &Query) -> Self {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let first_table = accept.split(',').next().is_some_and(|a| a.contains("as=Table"));
        Output { table: first_table, include: IncludeObject::parse(q.get("includeObject")) }
    }
}

async fn dispatch(
    st: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q = Query::parse(uri.query())?;
    let target = match route::parse(uri.path())? {
        ApiPath::GroupVersion { group, version } if method == Method::GET => {
            return Ok(json_response(StatusCode::OK, &discovery::api_resource_list(&group, &version), &[]));
        }
        ApiPath::Group { group } if method == Method::GET => {
            let g = discovery::api_group(&group).ok_or_else(|| ApiError::no_route(uri.path()))?;
            return Ok(json_response(StatusCode::OK, &g, &[]));
        }
        ApiPath::Resource(t) => t,
        _ => {
            return Err(ApiError::method_not_allowed(format!("{method} is not supported on {}", uri.path())));
        }
    };
    let out = Output::from(headers, &q);
    let body = read_body(body).await?;
    let Target { def, namespace, name, sub, legacy_watch } = target;
    let ns = namespace.as_deref().unwrap_or("");
    let api = &st.api;
    match (method.as_str(), name.as_deref(), sub) {
        ("GET", None, None) if legacy_watch || q.flag("watch") => {
            watch(st, def, namespace.as_deref(), &q, &out).await
        }
        ("GET", None, None) => {
            let list = api.list(def, namespace.as_deref(), &q.list_options()?).await?;
            Ok(list_response(def, list, &out))
        }
        ("GET", Some(n), None | Some(Subresource::Status)) => {
            Ok(object_response(def, StatusCode::OK, api.get(def, ns, n).await?, &out, &[]))
        }
        ("GET", Some(n), Some(Subresource::Scale)) => {
            Ok(json_response(StatusCode::OK, &api.get_scale(def, ns, n).await?, &[]))
        }
        ("GET", Some(n), Some(Subresource::Log)) => pod_logs(st, def, ns, n, &q).await,
        ("POST", None, None) => {
            if def.namespaced && namespace.is_none() {
                return Err(ApiError::method_not_allowed(format!(
                    "POST on {} requires a namespace in the URL",
                    def.plural
                )));
            }
            let w = api.create(def, ns, decode_object_body(headers, &body)?, &q.write_options()?).await?;
            Ok(object_response(def, StatusCode::CREATED, w.object, &out, &w.warnings))
        }
        ("POST", Some(n), Some(Subresource::Binding)) => Ok(json_response(
            StatusCode::CREATED,
            &api.bind(def, ns, n, &decode_object_body(headers, &body)?).await?,
            &[],
        )),
        ("POST", Some(n), Some(Subresource::Eviction)) => Ok(json_response(
            StatusCode::CREATED,
            &api.evict(def, ns, n, &decode_object_body(headers, &body)?).await?,
            &[],
        )),
        ("PUT", Some(n), None | Some(Subresource::Status)) => {
            let w = api
                .update(
                    def,
                    ns,
                    n,
                    decode_object_body(headers, &body)?,
                    Part::from_subresource(sub),
                    &q.write_options()?,
                )
                .await?;
            Ok(object_response(def, StatusCode::OK, w.object, &out, &w.warnings))
        }
        ("PUT", Some(n), Some(Subresource::Scale)) => {
            let scale = decode_object_body(headers, &body)?;
            Ok(json_response(
                StatusCode::OK,
                &api.write_scale(def, ns, n, ScaleChange::Replace(&scale), &q.write_options()?).await?,
                &[],
            ))
        }
        ("PUT", Some(n), Some(Subresource::Finalize)) => {
            let obj = api.finalize_namespace(def, n, &decode_object_body(headers, &body)?).await?;
            Ok(object_response(def, StatusCode::OK, obj, &out, &[]))
        }
        ("PATCH", Some(n), None | Some(Subresource::Status)) => {
            let (kind, patch) = decode_patch_body(headers, &body)?;
            let (w, created) = api
                .patch(
                    def,
                    ns,
                    n,
                    kind,
                    &patch,
                    Part::from_subresource(sub),
                    q.flag("force"),
                    &q.write_options()?,
                )
                .await?;
            let code = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok(object_response(def, code, w.object, &out, &w.warnings))
        }
        ("PATCH", Some(n), Some(Subresource::Scale)) => {
            let (kind, patch) = decode_patch_body(headers, &body)?;
            Ok(json_response(
                StatusCode::OK,
                &api.write_scale(def, ns, n, ScaleChange::Patch(kind, &patch), &q.write_options()?).await?,
                &[],
            ))
        }
        ("DELETE", Some(n), None) => {
            let mut opts = q.delete_options()?;
            if !body.is_empty() {
                opts.merge_body(&decode_object_body(headers, &body)?);
            }
            Ok(match api.delete(def, ns, n, &opts).await? {
                Deleted::Gone(obj) if returns_deleted_object(def) => {
                    object_response(def, StatusCode::OK, obj, &out, &[])
                }
                Deleted::Gone(obj) => {
                    let uid = wasmkube_api::meta::uid(&obj);
                    json_response(StatusCode::OK, &success_status(def.group, def.plural, n, uid), &[])
                }
                Deleted::Pending(obj) => object_response(def, StatusCode::OK, obj, &out, &[]),
            })
        }
        ("DELETE", None, None) => {
            let mut opts = q.delete_options()?;
            if !body.is_empty() {
                opts.merge_body(&decode_object_body(headers, &body)?);
            }
            let items = api.delete_collection(def, namespace.as_deref(), &q.list_options()?, &opts).await?;
            let rv = api.store_rev();
            Ok(list_response(
                def,
                ObjectList { items, resource_version: rv, continue_token: None, remaining: None },
                &out,
            ))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {})",
            uri.path()
        ))),
    }
}

/// Upstream returns the deleted object (not a Status) for these kinds.
fn returns_deleted_object(def: &ResourceDef) -> bool {
    matches!(def.storage, "pods" | "persistentvolumes" | "persistentvolumeclaims" | "serviceaccounts")
}

/// Container logs come from the node agent that runs the pod, streamed as plain text.
async fn pod_logs(
    st: &AppState,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    q: &Query,
) -> Result<Response, ApiError> {
    let opts = crate::logs::PodLogOptions::parse(|k| q.get(k).map(String::from))?;
    let pod = st.api.get(def, ns, name).await?;
    let Some(logs) = &st.logs else {
        return Err(ApiError::bad_request(format!(
            "logs for pod \"{name}\" are not available: this server runs no node agent"
        )));
    };
    let stream = logs.logs(pod, opts).await?;
    let mut stopping = st.stopping.clone();
    let until_shutdown = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let body = stream.take_until(Box::pin(until_shutdown));
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(r)
}

fn object_response(
    def: &ResourceDef,
    code: StatusCode,
    obj: Value,
    out: &Output,
    warnings: &[String],
) -> Response {
    if out.table {
        let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
        let t = table(def, std::slice::from_ref(&obj), json!({"resourceVersion": rv}), out.include, true);
        return json_response(code, &t, warnings);
    }
    json_response(code, &obj, warnings)
}

fn list_response(def: &ResourceDef, list: ObjectList, out: &Output) -> Response {
    let mut metadata = json!({"resourceVersion": list.resource_version.to_string()});
    if let Some(c) = list.continue_token {
        metadata["continue"] = json!(c);
    }
    if let Some(r) = list.remaining {
        metadata["remainingItemCount"] = json!(r);
    }
    if out.table {
        return json_response(StatusCode::OK, &table(def, &list.items, metadata, out.include, true), &[]);
    }
    let body = json!({"kind": def.list_kind(), "apiVersion": def.api_version(), "metadata": metadata, "items": list.items});
    json_response(StatusCode::OK, &body, &[])
}

async fn watch(
    st: &AppState,
    def: &'static ResourceDef,
    ns: Option<&str>,
    q: &Query,
    out: &Output,
) -> Result<Response, ApiError> {
    let mut stopping = st.stopping.clone();
    let events = st.api.watch(def, ns, q.watch_options()?).await?.take_until(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    let (as_table, include) = (out.table, out.include);
    let mut first = true;
    let lines = events.map(move |ev: WatchEvent| {
        let object = if as_table && matches!(ev.kind, "ADDED" | "MODIFIED" | "DELETED") {
            let rv = ev.object.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
            let t =
                table(def, std::slice::from_ref(&ev.object), json!({"resourceVersion": rv}), include, first);
            first = false;
            t
        } else {
            ev.object
        };
        let mut line = serde_json::to_vec(&json!({"type": ev.kind, "object": object}))
            .expect("JSON values always serialise");
        line.push(b'\n');
        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(line))
    });
    let mut r = Response::new(Body::from_stream(lines));
    r.headers_mut().insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache, private"));
    Ok(r)
}
