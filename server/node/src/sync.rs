//! The watch of this node's pods (`spec.nodeName=<node>`): every pod gets one worker, fed the
//! latest object through a `watch` channel; a deleted pod's worker is told so. When the watch
//! ends (compaction, shutdown of the stream) the agent relists and reconciles its workers.

use crate::NodeAgent;
use crate::worker::{self, PodUpdate};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use wasmkube_api::selector::FieldSelector;
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::service::{ListOptions, WatchOptions};

pub(crate) async fn run(agent: NodeAgent) {
    let mut workers: HashMap<String, watch::Sender<PodUpdate>> = HashMap::new();
    loop {
        if let Err(e) = follow(&agent, &mut workers).await {
            tracing::warn!(error = %e, "pod watch ended; relisting");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn follow(
    agent: &NodeAgent,
    workers: &mut HashMap<String, watch::Sender<PodUpdate>>,
) -> Result<(), wasmkube_api::ApiError> {
    let def = registry::by_storage("pods").expect("pods are served");
    let selector = FieldSelector::parse(&format!("spec.nodeName={}", agent.name()))?;
    let list = agent
        .inner
        .api
        .list(def, None, &ListOptions { field_selector: selector.clone(), ..Default::default() })
        .await?;
    // Workers whose pods vanished while we were not watching.
    let present: std::collections::HashSet<&str> = list.items.iter().map(meta::uid).collect();
    workers.retain(|uid, tx| {
        let keep = present.contains(uid.as_str());
        if !keep {
            tx.send_replace(PodUpdate::Deleted);
        }
        keep
    });
    for pod in list.items.iter() {
        dispatch(agent, workers, pod.clone(), false);
    }
    let opts = WatchOptions {
        list: ListOptions {
            field_selector: selector,
            resource_version: Some(list.resource_version.to_string()),
            ..Default::default()
        },
        allow_bookmarks: false,
        send_initial_events: Some(false),
        timeout: Duration::from_secs(24 * 3600),
        bookmark_every: Duration::from_secs(60),
    };
    let mut events = agent.inner.api.watch(def, None, opts).await?;
    while let Some(ev) = events.next().await {
        match ev.kind {
            "ADDED" | "MODIFIED" => dispatch(agent, workers, ev.object, false),
            "DELETED" => dispatch(agent, workers, ev.object, true),
            "ERROR" => {
                let message = ev.object.get("message").and_then(Value::as_str).unwrap_or("watch error");
                return Err(wasmkube_api::ApiError::expired(message.to_string()));
            }
            _ => {}
        }
    }
    Ok(())
}

fn dispatch(
    agent: &NodeAgent,
    workers: &mut HashMap<String, watch::Sender<PodUpdate>>,
    pod: Value,
    deleted: bool,
) {
    let uid = meta::uid(&pod).to_string();
    if deleted {
        if let Some(tx) = workers.remove(&uid) {
            tx.send_replace(PodUpdate::Deleted);
        }
        return;
    }
    match workers.get(&uid) {
        Some(tx) if !tx.is_closed() => {
            tx.send_replace(PodUpdate::Current(Box::new(pod)));
        }
        _ => {
            let (tx, rx) = watch::channel(PodUpdate::Current(Box::new(pod)));
            tokio::spawn(worker::run(agent.clone(), rx));
            workers.insert(uid, tx);
        }
    }
}
