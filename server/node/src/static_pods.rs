//! Static pods: Pod manifests in `DATA_DIR/manifests/` (`.yaml`, `.yml`, `.json`, several
//! documents per file allowed) run on this node without anyone creating them through the API.
//! Each appears in the API as a mirror pod named `<name>-<node>`, owned by the Node and
//! annotated like the kubelet's (`kubernetes.io/config.mirror` = the manifest's hash). The
//! mirror pod is what the agent runs; the manifest is the source of truth: a deleted mirror is
//! recreated, an edited manifest replaces its pod, a removed manifest removes it.

use crate::NodeAgent;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use wasmkube_api::{ApiError, meta, registry};
use wasmkube_apiserver::service::{DeleteOptions, WriteOptions};

/// How often the manifests directory is read again.
const RESCAN: Duration = Duration::from_secs(5);
const MIRROR: &str = "kubernetes.io/config.mirror";

/// The manifest hash a mirror pod carries (`None`: not a static pod's mirror).
pub(crate) fn mirror_hash(pod: &Value) -> Option<&Value> {
    pod.pointer("/metadata/annotations")?.get(MIRROR)
}

pub(crate) async fn run(agent: NodeAgent, dir: std::path::PathBuf) {
    // Listing the node's pods is skipped while there are no manifests and none were mirrored
    // (the usual case), so an idle scan costs one directory read.
    let mut mirrored = true;
    loop {
        let wanted = read_manifests(&dir, agent.name());
        if !wanted.is_empty() || mirrored {
            match reconcile(&agent, &wanted).await {
                Ok(()) => mirrored = !wanted.is_empty(),
                Err(e) => tracing::warn!(error = %e, "could not reconcile static pods"),
            }
        }
        tokio::time::sleep(RESCAN).await;
    }
}

/// (namespace, name) -> the mirror pod to have.
fn read_manifests(dir: &Path, node: &str) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml" | "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = match serde::Deserialize::deserialize(doc) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "static pod manifest is not valid YAML");
                    continue;
                }
            };
            if value.is_null() {
                continue;
            }
            if value.get("kind").and_then(Value::as_str) != Some("Pod") {
                tracing::warn!(file = %path.display(), "only Pods can be static pods; skipping a document");
                continue;
            }
            let mirror = mirror_pod(value, node);
            out.insert((meta::namespace(&mirror).to_string(), meta::name(&mirror).to_string()), mirror);
        }
    }
    out
}

fn mirror_pod(mut pod: Value, node: &str) -> Value {
    let hash = format!("{:016x}", fnv1a(pod.to_string().as_bytes()));
    let name = format!("{}-{node}", meta::name(&pod));
    let m = meta::metadata_mut(&mut pod);
    m.insert("name".into(), json!(name));
    if m.get("namespace").and_then(Value::as_str).is_none_or(str::is_empty) {
        m.insert("namespace".into(), json!("default"));
    }
    let annotations = m.entry("annotations").or_insert_with(|| json!({}));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(MIRROR.into(), json!(hash));
        a.insert("kubernetes.io/config.hash".into(), json!(hash));
        a.insert("kubernetes.io/config.source".into(), json!("file"));
    }
    pod["spec"]["nodeName"] = json!(node);
    pod
}

/// A stable content hash (the same manifest gives the same hash in every process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

async fn reconcile(agent: &NodeAgent, wanted: &BTreeMap<(String, String), Value>) -> Result<(), ApiError> {
    let api = &agent.inner.api;
    let def = registry::by_storage("pods").expect("pods are served");
    let node_def = registry::by_storage("nodes").expect("nodes are served");
    let Ok(node) = api.get(node_def, "", agent.name()).await else { return Ok(()) };
    let existing: HashMap<(String, String), Value> = api
        .list(def, None, &Default::default())
        .await?
        .items
        .into_iter()
        .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(agent.name()))
        .filter(|p| mirror_hash(p).is_some())
        .map(|p| ((meta::namespace(&p).to_string(), meta::name(&p).to_string()), p))
        .collect();
    let opts = WriteOptions { field_manager: Some("kubelet".into()), ..Default::default() };
    for (key, pod) in wanted {
        match existing.get(key) {
            Some(current) if mirror_hash(current) == mirror_hash(pod) => continue,
            Some(current) if !meta::is_deleting(current) => {
                tracing::info!(pod = %key.1, "static pod manifest changed; replacing its pod");
                let gone = api.delete(def, &key.0, &key.1, &DeleteOptions::default()).await;
                ignore_missing(gone.map(drop))?;
                continue; // recreated on a later scan, once the old one is gone
            }
            Some(_) => continue,
            None => {}
        }
        let mut pod = pod.clone();
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "v1", "kind": "Node", "name": agent.name(), "uid": meta::uid(&node), "controller": true,
        }]);
        match api.create(def, &key.0, pod, &opts).await {
            Ok(_) => tracing::info!(pod = %key.1, "static pod created"),
            Err(e) if e.code == 409 => {}
            Err(e) => tracing::warn!(pod = %key.1, error = %e, "static pod rejected by the API"),
        }
    }
    for (key, current) in &existing {
        if !wanted.contains_key(key) && !meta::is_deleting(current) {
            tracing::info!(pod = %key.1, "static pod manifest removed; removing its pod");
            ignore_missing(api.delete(def, &key.0, &key.1, &DeleteOptions::default()).await.map(drop))?;
        }
    }
    Ok(())
}

fn ignore_missing(r: Result<(), ApiError>) -> Result<(), ApiError> {
    match r {
        Err(e) if e.code == 404 => Ok(()),
        other => other,
    }
}
