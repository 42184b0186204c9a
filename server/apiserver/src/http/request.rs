//! Reading a request: the bounded body, the query string, and the body's media type.

use crate::service::{DeleteOptions, ListOptions, PatchType, WatchOptions, WriteOptions};
use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use std::time::Duration;
use wasmkube_api::decode::{FieldValidation, parse_body};
use wasmkube_api::selector::{FieldSelector, LabelSelector};
use wasmkube_api::status::ApiError;

/// Upstream's request body limit.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(ApiError::too_large())
        }
        Err(e) => Err(ApiError::bad_request(format!("reading the request body: {e}"))),
    }
}

/// The query string as ordered pairs (a key may repeat, e.g. `dryRun`).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    pub fn write_options(&self) -> Result<WriteOptions, ApiError> {
        let dry_run = match self.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun: Unsupported value: {other:?}: supported values: \"All\""
                )));
            }
        };
        Ok(WriteOptions {
            field_manager: self.get("fieldManager").map(String::from),
            field_validation: FieldValidation::parse(self.get("fieldValidation"))?,
            dry_run,
        })
    }

    pub fn list_options(&self) -> Result<ListOptions, ApiError> {
        let limit = match self.get("limit") {
            None | Some("") => None,
            Some(l) => {
                Some(l.parse::<usize>().map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?)
            }
        };
        Ok(ListOptions {
            label_selector: LabelSelector::parse(self.get("labelSelector").unwrap_or(""))?,
            field_selector: FieldSelector::parse(self.get("fieldSelector").unwrap_or(""))?,
            limit,
            continue_token: self.get("continue").map(String::from),
            resource_version: self.get("resourceVersion").map(String::from),
            resource_version_match: self.get("resourceVersionMatch").map(String::from),
        })
    }

    pub fn watch_options(&self) -> Result<WatchOptions, ApiError> {
        let timeout = match self.get("timeoutSeconds") {
            Some(t) => Duration::from_secs(
                t.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
            ),
            // Upstream spreads default watch lifetimes over [30, 60) minutes.
            None => Duration::from_secs(1800 + rand::random::<u64>() % 1800),
        };
        let send_initial_events = match self.get("sendInitialEvents") {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        Ok(WatchOptions {
            list: self.list_options()?,
            allow_bookmarks: self.flag("allowWatchBookmarks"),
            send_initial_events,
            timeout,
            bookmark_every: Duration::from_secs(60),
        })
    }

    pub fn delete_options(&self) -> Result<DeleteOptions, ApiError> {
        let grace = match self.get("gracePeriodSeconds") {
            Some(g) => Some(
                g.parse().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {g:?}")))?,
            ),
            None => None,
        };
        Ok(DeleteOptions {
            propagation_policy: self.get("propagationPolicy").map(String::from),
            grace_period_seconds: grace,
            dry_run: self.get("dryRun") == Some("All"),
            ..Default::default()
        })
    }
}

/// The media type of the body, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Decode an object body (create, update, subresource posts) by its media type.
pub fn decode_object_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type(headers);
    match ct.as_str() {
        // The Python client sends no Content-Type at all.
        "" | "application/json" | "*/*" => parse_body(body, false),
        "application/yaml" | "application/x-yaml" | "text/yaml" => parse_body(body, true),
        "application/vnd.kubernetes.protobuf" => wasmkube_protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding protobuf body: {e}"))),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// Decode a PATCH body: the patch type is the media type.
pub fn decode_patch_body(headers: &HeaderMap, body: &[u8]) -> Result<(PatchType, Value), ApiError> {
    let ct = content_type(headers);
    let kind = PatchType::from_content_type(&ct).ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
    let parsed = match kind {
        PatchType::Apply => parse_body(body, true)?,
        _ => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
    };
    if kind != PatchType::Json && !parsed.is_object() {
        return Err(ApiError::bad_request("the patch must be a JSON object"));
    }
    Ok((kind, parsed))
}
