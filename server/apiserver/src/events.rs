//! Recording core/v1 Events from in-process components (scheduler, controllers, node agent),
//! as client-go's event recorder does: off the caller's path through a bounded queue, and
//! repeated events folded into one whose `count` grows.
//!
//! Events are best-effort: when the queue is full an event is dropped (and logged at debug),
//! never blocking a pod start or a reconcile.

use crate::service::{Api, PatchType, WriteOptions, update::Part};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use wasmkube_api::{meta, registry};

/// How many events may wait to be written before new ones are dropped.
const QUEUE: usize = 4096;
/// A repeat within this window updates the existing Event instead of creating another.
const FOLD_WINDOW: Duration = Duration::from_secs(600);
/// Remembered (object, reason, message) keys; the memory is cleared when it grows past this.
const MAX_REMEMBERED: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

struct Pending {
    involved: Value,
    kind: EventType,
    reason: String,
    message: String,
}

/// Cheap to clone; every clone feeds the same writer task.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Pending>,
}

impl Recorder {
    /// Start the writer task. `component` names the reporter (`default-scheduler`, `kubelet`,
    /// `deployment-controller`); `host` is the node name for node-local reporters.
    pub fn new(api: Api, component: &str, host: Option<&str>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            api,
            component: component.to_string(),
            host: host.map(str::to_string),
            seen: HashMap::new(),
        };
        tokio::spawn(writer.run(rx));
        Recorder { tx }
    }

    /// Record an event about `object` (any Kubernetes object with apiVersion/kind/metadata).
    pub fn event(&self, object: &Value, kind: EventType, reason: &str, message: impl Into<String>) {
        self.event_on(object_reference(object, None), kind, reason, message)
    }

    /// Record an event about one container of a pod (`involvedObject.fieldPath`).
    pub fn container_event(
        &self,
        pod: &Value,
        field_path: &str,
        kind: EventType,
        reason: &str,
        message: impl Into<String>,
    ) {
        self.event_on(object_reference(pod, Some(field_path)), kind, reason, message)
    }

    fn event_on(&self, involved: Value, kind: EventType, reason: &str, message: impl Into<String>) {
        let pending = Pending { involved, kind, reason: reason.to_string(), message: message.into() };
        if self.tx.try_send(pending).is_err() {
            tracing::debug!(reason, "event queue full; dropping an event");
        }
    }
}

/// An `ObjectReference` to `object`.
pub fn object_reference(object: &Value, field_path: Option<&str>) -> Value {
    let mut r = json!({
        "apiVersion": object.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": object.get("kind").cloned().unwrap_or(Value::Null),
        "name": meta::name(object),
        "uid": meta::uid(object),
    });
    let ns = meta::namespace(object);
    if !ns.is_empty() {
        r["namespace"] = json!(ns);
    }
    if let Some(rv) = object.pointer("/metadata/resourceVersion") {
        r["resourceVersion"] = rv.clone();
    }
    if let Some(path) = field_path {
        r["fieldPath"] = json!(path);
    }
    r
}

struct Writer {
    api: Api,
    component: String,
    host: Option<String>,
    /// (uid, fieldPath, type, reason, message) -> (event namespace, event name, count, first seen).
    seen: HashMap<String, (String, String, u64, Instant)>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>) {
        while let Some(p) = rx.recv().await {
            if let Err(e) = self.write(p).await {
                tracing::debug!(error = %e, "could not record an event");
            }
        }
    }

    async fn write(&mut self, p: Pending) -> Result<(), wasmkube_api::ApiError> {
        let def = registry::by_storage("events").expect("events are served");
        let involved_ns = p.involved.get("namespace").and_then(Value::as_str).unwrap_or("default");
        let ns = if involved_ns.is_empty() { "default" } else { involved_ns }.to_string();
        let key = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            p.involved.get("uid").and_then(Value::as_str).unwrap_or(""),
            p.involved.get("fieldPath").and_then(Value::as_str).unwrap_or(""),
            p.kind.as_str(),
            p.reason,
            p.message
        );
        let now = meta::now_rfc3339();
        if let Some((ev_ns, name, count, since)) = self.seen.get_mut(&key)
            && since.elapsed() < FOLD_WINDOW
        {
            *count += 1;
            let patch = json!({"count": *count, "lastTimestamp": now});
            let opts = WriteOptions { field_manager: Some(self.component.clone()), ..Default::default() };
            let result =
                self.api.patch(def, ev_ns, name, PatchType::Merge, &patch, Part::Main, false, &opts).await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.code == 404 => {} // expired or deleted: write a fresh one
                Err(e) => return Err(e),
            }
        }
        let involved_name = p.involved.get("name").and_then(Value::as_str).unwrap_or("object");
        let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let name = format!("{involved_name}.{stamp:x}");
        let mut source = json!({"component": self.component});
        if let Some(host) = &self.host {
            source["host"] = json!(host);
        }
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": p.involved,
            "reason": p.reason,
            "message": p.message,
            "type": p.kind.as_str(),
            "source": source,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "reportingComponent": self.component,
            "reportingInstance": self.host.clone().unwrap_or_default(),
        });
        let opts = WriteOptions { field_manager: Some(self.component.clone()), ..Default::default() };
        self.api.create(def, &ns, event, &opts).await?;
        if self.seen.len() >= MAX_REMEMBERED {
            self.seen.clear();
        }
        self.seen.insert(key, (ns, name, 1, Instant::now()));
        Ok(())
    }
}
