//! The watch of this node's pods (`spec.nodeName=<node>`): every pod gets one worker, fed the
//! latest object through a `watch` channel; a deleted pod's worker is told so. When the watch
//! ends (compaction, shutdown of the stream) the agent relists and reconciles its workers.

use crate::NodeAgent;
use crate::worker::{self, PodUpdate};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wasmkube_api::selector::FieldSelector;
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::service::ListOptions;

pub(crate) async fn run(agent: NodeAgent) {
    let mut workers: HashMap<String, watch::Sender<PodUpdate>> = HashMap::new();
    // NetworkPolicy fails closed until loaded: start no pod before that.
    agent.inner.policies.loaded().await;
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
    // Subscribe before listing, so no change falls between the two.
    let subscription = agent.inner.api.subscribe_everything()?;
    let list = agent
        .inner
        .api
        .list(def, None, &ListOptions { field_selector: selector.clone(), ..Default::default() })
        .await?;
    // Workers whose pods vanished while we were not watching.
    let present: std::collections::HashSet<String> =
        list.items.iter().map(|p| meta::uid(p).to_owned()).collect();
    workers.retain(|uid, tx| {
        let keep = present.contains(uid.as_str());
        if !keep {
            tx.send_replace(PodUpdate::Deleted);
        }
        keep
    });
    for pod in list.items {
        dispatch(agent, workers, Arc::new(pod), false);
    }
    // The shared in-process feed: each change is decoded once for every watcher. A pod's
    // nodeName never changes once set, so "on this node" needs no view of the previous state.
    let mut events = subscription.after(list.resource_version);
    while let Some(ev) = events.next().await {
        let ev = ev?;
        if ev.def.storage == "pods" && selector.matches(&ev.object) {
            dispatch(agent, workers, ev.object.clone(), ev.deleted);
        }
    }
    Ok(())
}

fn dispatch(
    agent: &NodeAgent,
    workers: &mut HashMap<String, watch::Sender<PodUpdate>>,
    pod: Arc<Value>,
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
            tx.send_replace(PodUpdate::Current(pod));
        }
        _ => {
            let (tx, rx) = watch::channel(PodUpdate::Current(pod));
            tokio::spawn(worker::run(agent.clone(), rx));
            workers.insert(uid, tx);
        }
    }
}
