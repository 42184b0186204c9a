//! `describe configmap|secret`: kubectl's Data sections. A Secret shows only each value's
//! size, never the value.

use super::{Writer, header};
use base64::Engine;
use serde_json::Value;

pub fn describe(w: &mut Writer, obj: &Value) {
    header(w, obj);
    if obj["kind"] == "Secret" {
        w.line(0, "");
        w.kv(0, "Type", obj["type"].as_str().unwrap_or("Opaque"));
        w.line(0, "");
        w.line(0, "Data");
        w.line(0, "====");
        for (k, v) in obj["data"].as_object().into_iter().flatten() {
            let size = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .map_or(0, |b| b.len());
            w.kv(0, k, format!("{size} bytes"));
        }
        return;
    }
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    for (k, v) in obj["data"].as_object().into_iter().flatten() {
        w.line(0, format!("{k}:"));
        w.line(0, "----");
        w.line(0, v.as_str().unwrap_or(""));
        w.line(0, "");
    }
    w.line(0, "");
    w.line(0, "BinaryData");
    w.line(0, "====");
    for (k, v) in obj["binaryData"].as_object().into_iter().flatten() {
        let size =
            base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or("")).map_or(0, |b| b.len());
        w.kv(0, k, format!("{size} bytes"));
    }
    w.line(0, "");
}
