//! What every controller carries: its client (one field manager), its event recorder and the
//! clock.

use crate::client::Client;
use crate::clock::{Clock, format_time};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use wasmkube_apiserver::Api;
use wasmkube_apiserver::events::{EventType, Recorder};

pub(crate) struct Ctx {
    pub name: &'static str,
    pub client: Client,
    recorder: Recorder,
    clock: Arc<dyn Clock>,
}

impl Ctx {
    /// `name` is upstream's component name: the field manager and the events' source.
    pub fn new(api: Api, name: &'static str, clock: Arc<dyn Clock>) -> Self {
        Ctx { name, client: Client::new(api.clone(), name), recorder: Recorder::new(api, name, None), clock }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now_str(&self) -> String {
        format_time(self.clock.now())
    }

    pub fn normal(&self, obj: &Value, reason: &str, message: impl Into<String>) {
        self.recorder.event(obj, EventType::Normal, reason, message);
    }

    pub fn warning(&self, obj: &Value, reason: &str, message: impl Into<String>) {
        self.recorder.event(obj, EventType::Warning, reason, message);
    }
}
