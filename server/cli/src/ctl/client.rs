//! A small HTTP/1.1 client for the Kubernetes API: one connection per request (a CLI makes few),
//! JSON in and out, streaming bodies for watches and logs, and every failure as one readable
//! line: the server's `Status.message` when it answered, the socket error when it did not.

use super::kubeconfig::Connection;
use anyhow::{Context, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;

pub const JSON: &str = "application/json";
pub const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";

/// A failure the API server reported as a `Status`.
#[derive(Debug)]
pub struct ApiStatus {
    pub code: u16,
    pub message: String,
}

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiStatus {}

/// Is `e` the server saying 404?
pub fn is_not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiStatus>().is_some_and(|s| s.code == 404)
}

pub struct Client {
    conn: Connection,
    authority: String,
}

impl Client {
    pub fn new(conn: Connection) -> Self {
        let authority = conn.server.trim_start_matches("http://").to_string();
        Client { conn, authority }
    }

    pub fn namespace(&self) -> &str {
        &self.conn.namespace
    }

    /// Send one request; the response's status is not checked here.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Response<Incoming>> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ => e.to_string(),
            };
            anyhow!("cannot reach the API at {}: {why}", self.conn.server)
        })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("talking to the API at {}", self.conn.server))?;
        tokio::spawn(connection);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority)
            .header(USER_AGENT, concat!("wasmkube/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT, accept);
        if let Some(token) = &self.conn.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let (content_type, bytes) = body.unwrap_or(("", Vec::new()));
        if !content_type.is_empty() {
            req = req.header(CONTENT_TYPE, content_type);
        }
        let req = req.body(Full::new(Bytes::from(bytes))).context("building the request")?;
        sender.send_request(req).await.with_context(|| format!("the API at {} hung up", self.conn.server))
    }

    /// A request whose JSON answer must be a success; returns the status code and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<(u16, Value)> {
        let resp = self.send(method, path, accept, body).await?;
        let code = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.context("reading the API's answer")?.to_bytes();
        if !(200..300).contains(&code) {
            return Err(status_error(code, &bytes).into());
        }
        let value = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the API answered {path} with something that is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        Ok((code, value))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.call(Method::GET, path, JSON, None).await?.1)
    }

    /// GET that reads 404 as `None`.
    pub async fn get_opt(&self, path: &str) -> anyhow::Result<Option<Value>> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn get_table(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.call(Method::GET, path, TABLE, None).await?.1)
    }

    pub async fn patch(&self, path: &str, content_type: &str, body: Vec<u8>) -> anyhow::Result<(u16, Value)> {
        self.call(Method::PATCH, path, JSON, Some((content_type, body))).await
    }

    pub async fn delete(&self, path: &str, options: &Value) -> anyhow::Result<Value> {
        Ok(self.call(Method::DELETE, path, JSON, Some((JSON, options.to_string().into_bytes()))).await?.1)
    }

    /// A streaming GET (watch, logs): the body as it arrives.
    pub async fn stream(&self, path: &str, accept: &str) -> anyhow::Result<BodyStream> {
        let resp = self.send(Method::GET, path, accept, None).await?;
        let code = resp.status().as_u16();
        if !(200..300).contains(&code) {
            let bytes = resp.into_body().collect().await.context("reading the API's answer")?.to_bytes();
            return Err(status_error(code, &bytes).into());
        }
        Ok(BodyStream { body: resp.into_body(), pending: Vec::new() })
    }
}

/// The server's Status, or as much as can be said without one.
fn status_error(code: u16, body: &[u8]) -> ApiStatus {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let text = String::from_utf8_lossy(body).trim().to_string();
    let message = parsed
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .map(String::from)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            if text.is_empty() {
                format!("the server answered HTTP {code}")
            } else {
                format!("HTTP {code}: {text}")
            }
        });
    ApiStatus { code, message }
}

/// A response body read chunk by chunk, or line by line (watch events are one JSON per line).
pub struct BodyStream {
    body: Incoming,
    pending: Vec<u8>,
}

impl BodyStream {
    /// The next chunk of bytes; `None` at the end of the body.
    pub async fn chunk(&mut self) -> anyhow::Result<Option<Bytes>> {
        if !self.pending.is_empty() {
            return Ok(Some(Bytes::from(std::mem::take(&mut self.pending))));
        }
        while let Some(frame) = self.body.frame().await {
            let frame = frame.context("reading from the API")?;
            if let Ok(data) = frame.into_data()
                && !data.is_empty()
            {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// The next complete line, without its newline; `None` at the end of the body.
    pub async fn line(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            if let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
                let rest = self.pending.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.pending, rest);
                line.pop();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            let Some(frame) = self.body.frame().await else {
                let last = std::mem::take(&mut self.pending);
                return Ok((!last.is_empty()).then(|| String::from_utf8_lossy(&last).into_owned()));
            };
            if let Ok(data) = frame.context("reading from the API")?.into_data() {
                self.pending.extend_from_slice(&data);
            }
        }
    }

    /// The next watch event as `(type, object)`; `None` when the server closed the watch.
    pub async fn event(&mut self) -> anyhow::Result<Option<(String, Value)>> {
        while let Some(line) = self.line().await? {
            if line.trim().is_empty() {
                continue;
            }
            let mut ev: Value = serde_json::from_str(&line).context("a watch event that is not JSON")?;
            let kind = ev["type"].as_str().unwrap_or_default().to_string();
            if kind == "ERROR" {
                let status = serde_json::to_vec(&ev["object"]).unwrap_or_default();
                let code = ev["object"]["code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(500);
                return Err(status_error(code, &status).into());
            }
            return Ok(Some((kind, ev["object"].take())));
        }
        Ok(None)
    }
}
