//! Controllers that belong with the API server: the garbage collector and the namespace
//! lifecycle; [`Reconciler`] and [`run`] are also the base of the workload controllers in
//! `wasmkube-controllers`. All are level-triggered: a watch of every object feeds an index, each change
//! names the objects to reconcile, and a failed reconcile is retried after a pause.

pub mod gc;
pub mod namespace;

use crate::service::{AnyEvent, Api};
use futures::StreamExt;
use std::time::Duration;
use wasmkube_api::status::ApiError;

/// Something that wants every change to every object, after an initial full listing.
pub trait Reconciler: Send + 'static {
    fn reset(
        &mut self,
        objects: Vec<(&'static wasmkube_api::ResourceDef, std::sync::Arc<serde_json::Value>)>,
    );
    fn observe(&mut self, ev: &AnyEvent);
    /// Do whatever work is due; return whether some of it must be retried.
    fn reconcile(&mut self, api: &Api) -> impl Future<Output = bool> + Send;
}

/// Run a reconciler forever: list, watch, reconcile after every batch of events and on a timer
/// while work remains; relist when the watch ends (e.g. 410 after compaction).
pub async fn run<R: Reconciler>(api: Api, mut r: R, name: &'static str) {
    loop {
        if let Err(e) = run_once(&api, &mut r).await {
            tracing::warn!(controller = name, error = %e, "watch ended; relisting");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run_once<R: Reconciler>(api: &Api, r: &mut R) -> Result<(), ApiError> {
    let (objects, mut events) = api.list_watch_everything().await?;
    r.reset(objects);
    let mut retry = r.reconcile(api).await;
    loop {
        let next = if retry {
            match tokio::time::timeout(Duration::from_millis(500), events.next()).await {
                Ok(ev) => ev,
                Err(_) => {
                    retry = r.reconcile(api).await;
                    continue;
                }
            }
        } else {
            events.next().await
        };
        match next {
            None => return Ok(()),
            Some(Err(e)) => return Err(e),
            Some(Ok(ev)) => r.observe(&ev),
        }
        // Drain what is already queued before reconciling, so bursts cost one pass. A stream
        // that ended meanwhile must not be polled again: relist instead.
        loop {
            match events.next().now_or_never() {
                Some(Some(ev)) => r.observe(&*ev?),
                Some(None) => return Ok(()),
                None => break,
            }
        }
        retry = r.reconcile(api).await;
    }
}

use futures::FutureExt;
