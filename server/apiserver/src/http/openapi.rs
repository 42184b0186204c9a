//! A minimal OpenAPI v3: an index of group-versions, and per group-version a document with a
//! PATCH operation per kind carrying `x-kubernetes-group-version-kind` and a `fieldValidation`
//! parameter. That is what kubectl's query-param verifier reads to decide it may send
//! `fieldValidation=Strict` (and so validate on the server instead of needing `--validate=false`).
//! Full schemas (for `kubectl explain`) are knowingly absent.
//!
//! `/openapi/v2` is an empty Swagger 2.0 document (no paths, no definitions). kubectl reads it
//! for what the v3 verifier cannot answer — a `kind: List` file — and validates an item whose
//! kind the document does not describe by skipping it; without the document it refuses the file.

use serde_json::{Map, Value, json};
use wasmkube_api::registry::{groups, resources_of};

/// Changes whenever the document's shape changes, so kubectl's cache notices.
const HASH: &str = "wasmkube-openapi-1";

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

pub fn index() -> Value {
    let mut paths = Map::new();
    for (g, versions) in groups() {
        for v in versions {
            let p = gv_path(g, v);
            paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={HASH}")}));
        }
    }
    json!({"paths": paths})
}

/// The document for `api/v1` or `apis/<group>/<version>`; `None` if no such group-version.
pub fn document(gv: &str) -> Option<Value> {
    let (group, version) = match gv.trim_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), (*v).to_string()),
        ["apis", g, v] => ((*g).to_string(), (*v).to_string()),
        _ => return None,
    };
    let mut paths = Map::new();
    for r in resources_of(&group, &version) {
        let base = r.group_version_path();
        let item = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let params = json!([
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true},
             "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields."},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        ]);
        let op = |verb: &str| {
            json!({"operationId": format!("{verb}{}", r.kind), "x-kubernetes-action": verb,
            "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {"200": {"description": "OK"}}})
        };
        paths.insert(
            item,
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths, "components": {"schemas": {}}}),
    )
}

/// The media type kubectl asks `/openapi/v2` for (gnostic's `openapi_v2.Document`), and the
/// spelling upstream answers with (an `@` is not valid in a Content-Type Go can parse).
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
pub const V2_PROTOBUF_REPLY: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn v2_title_version() -> (&'static str, &'static str) {
    ("Kubernetes", concat!("v1.32.0+wasmkube-", env!("CARGO_PKG_VERSION")))
}

/// The empty Swagger 2.0 document as JSON.
pub fn v2_json() -> Value {
    let (title, version) = v2_title_version();
    json!({"swagger": "2.0", "info": {"title": title, "version": version}, "paths": {}, "definitions": {}})
}

/// The same document in gnostic's protobuf encoding: `Document{swagger = 1, info = 2}` with
/// `Info{title = 1, version = 2}`.
pub fn v2_protobuf() -> Vec<u8> {
    fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
        out.push((number << 3) | 2); // length-delimited
        let mut len = bytes.len();
        while len >= 0x80 {
            out.push((len as u8 & 0x7f) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }
    let (title, version) = v2_title_version();
    let mut info = Vec::new();
    field(&mut info, 1, title.as_bytes());
    field(&mut info, 2, version.as_bytes());
    let mut doc = Vec::new();
    field(&mut doc, 1, b"2.0");
    field(&mut doc, 2, &info);
    doc
}
