//! A minimal OpenAPI v3: an index of group-versions, and per group-version a document with a
//! PATCH operation per kind carrying `x-kubernetes-group-version-kind` and a `fieldValidation`
//! parameter. That is what kubectl's query-param verifier reads to decide it may send
//! `fieldValidation=Strict` (and so validate on the server instead of needing `--validate=false`).
//! Full schemas (for `kubectl explain`) are knowingly absent.

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
