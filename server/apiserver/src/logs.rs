//! `GET pods/NAME/log`: the API server's side. The node agent holds the log files, so it
//! implements [`PodLogs`]; the server parses the query, checks the pod exists and streams what
//! the node answers as `text/plain`.

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde_json::Value;
use wasmkube_api::status::ApiError;

/// The query of a log request (upstream's `PodLogOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodLogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<u64>,
    pub since_seconds: Option<u64>,
    /// RFC 3339.
    pub since_time: Option<chrono::DateTime<chrono::Utc>>,
    pub limit_bytes: Option<u64>,
}

impl PodLogOptions {
    /// From the query string's `(key, value)` lookups, with upstream's validation messages.
    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Self, ApiError> {
        let flag = |k: &str| matches!(get(k).as_deref(), Some("true" | "1"));
        let number = |k: &str, min: u64| -> Result<Option<u64>, ApiError> {
            match get(k).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => match s.parse::<i64>() {
                    Ok(n) if n >= min as i64 => Ok(Some(n as u64)),
                    Ok(_) => Err(invalid(k, &s, &format!("must be greater than or equal to {min}"))),
                    Err(_) => Err(ApiError::bad_request(format!("invalid {k}: {s:?} is not an integer"))),
                },
            }
        };
        let since_time = match get("sinceTime").filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                chrono::DateTime::parse_from_rfc3339(&s)
                    .map_err(|_| ApiError::bad_request(format!("invalid sinceTime: {s:?} is not RFC 3339")))?
                    .with_timezone(&chrono::Utc),
            ),
        };
        let opts = PodLogOptions {
            container: get("container").filter(|s| !s.is_empty()),
            follow: flag("follow"),
            previous: flag("previous"),
            timestamps: flag("timestamps"),
            tail_lines: number("tailLines", 0)?,
            since_seconds: number("sinceSeconds", 1)?,
            since_time,
            limit_bytes: number("limitBytes", 1)?,
        };
        if opts.since_seconds.is_some() && opts.since_time.is_some() {
            return Err(ApiError::bad_request("at most one of sinceTime or sinceSeconds may be specified"));
        }
        Ok(opts)
    }
}

fn invalid(field: &str, value: &str, detail: &str) -> ApiError {
    ApiError::bad_request(format!("PodLogOptions is invalid: {field}: Invalid value: {value}: {detail}"))
}

/// The log bytes of one container, as a stream (it ends unless `follow`).
pub type LogStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Whoever holds the containers' logs (the node agent).
pub trait PodLogs: Send + Sync + 'static {
    /// `pod` is the current Pod object. Errors are Kubernetes Statuses (e.g. 400 "container
    /// name must be specified", "previous terminated container not found").
    fn logs(&self, pod: Value, opts: PodLogOptions) -> BoxFuture<'static, Result<LogStream, ApiError>>;
}
