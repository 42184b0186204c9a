//! The Endpoints controller (upstream `endpoint-controller`): for every Service with a
//! selector, an Endpoints object of the same name whose subsets list the selected pods.
//!
//! Endpoints carry no ownerReference (as upstream): the controller deletes them itself when
//! their Service goes, and once at start-up sweeps those whose Service went while it was not
//! watching.

use super::subsets::{self, MAX_CAPACITY, OVER_CAPACITY, Subset};
use super::{ServiceSpec, namespace_terminating, services_for_pod, worth_an_event};
use crate::cache::{Key, Objects, key_of};
use crate::client::Removal;
use crate::clock::Clock;
use crate::context::Ctx;
use crate::queue::WorkQueue;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

/// Upstream's component name: the field manager and the events' source.
const NAME: &str = "endpoint-controller";

/// Endpoints used as leader-election locks have no Service and are not leftovers.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

pub struct EndpointsController {
    ctx: Ctx,
    def: &'static ResourceDef,
    services: Objects,
    pods: Objects,
    endpoints: Objects,
    queue: WorkQueue,
    /// Whether the start-up sweep of leftover Endpoints ran (once per process, as upstream's
    /// `checkLeftoverEndpoints`: a relist must not delete Endpoints a user wrote ahead of
    /// their Service).
    swept: bool,
}

impl EndpointsController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        EndpointsController {
            ctx: Ctx::new(api, NAME, clock),
            def: registry::by_storage("endpoints").expect("endpoints are served"),
            services: Objects::default(),
            pods: Objects::default(),
            endpoints: Objects::default(),
            queue: WorkQueue::default(),
            swept: false,
        }
    }

    fn note(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) {
        match storage {
            "services" if self.services.observe(obj, deleted).is_some() => self.queue.add(key_of(obj)),
            "pods" => {
                if let Some(change) = self.pods.observe(obj, deleted) {
                    services_for_pod(&self.services, &change).into_iter().for_each(|k| self.queue.add(k));
                }
            }
            // Someone else's change to (or deletion of) Endpoints we manage is undone.
            "endpoints" => {
                let key = key_of(obj);
                if self.endpoints.observe(obj, deleted).is_some() && self.services.get_key(&key).is_some() {
                    self.queue.add(key);
                }
            }
            _ => {}
        }
    }

    /// Queue every Endpoints without a Service: their sync deletes them.
    fn sweep_leftovers(&mut self) {
        let leftovers: Vec<Key> = self
            .endpoints
            .iter()
            .filter(|e| meta::str_at(e, &["metadata", "annotations", LEADER_ANNOTATION]).is_none())
            .map(|e| key_of(e))
            .filter(|k| self.services.get_key(k).is_none())
            .collect();
        leftovers.into_iter().for_each(|k| self.queue.add(k));
    }

    #[tracing::instrument(skip(self), fields(controller = NAME))]
    async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(svc) = self.services.get_key(key).cloned() else {
            return self.remove(key).await;
        };
        let Some(spec) = ServiceSpec::of(&svc) else {
            return Ok(()); // the user's Endpoints, or none at all
        };
        let desired = self.desired(&spec);
        let current = self.endpoints.get_key(key).cloned();
        if current.as_deref().is_some_and(|cur| desired.matches(cur)) {
            return Ok(());
        }
        let creating = current.is_none();
        let mut body = match current {
            Some(cur) => (*cur).clone(),
            None => json!({"apiVersion": "v1", "kind": "Endpoints",
                           "metadata": {"name": key.1, "namespace": key.0}}),
        };
        desired.apply(&mut body);
        self.write(body, creating).await
    }

    /// What the Endpoints of `spec` should hold, from the pods it selects.
    fn desired(&self, spec: &ServiceSpec) -> Desired {
        let pods: Vec<&Value> =
            self.pods.in_namespace(spec.namespace()).map(|p| &**p).filter(|p| spec.selects(p)).collect();
        let mut subsets = subsets::compute(spec, &pods);
        let over_capacity = subsets::truncate(&mut subsets, MAX_CAPACITY);
        Desired {
            subsets: subsets.iter().map(Subset::to_json).collect(),
            labels: spec.mirrored_labels(),
            over_capacity,
        }
    }

    async fn write(&mut self, body: Value, creating: bool) -> Result<(), ApiError> {
        let result = if creating {
            self.ctx.client.create(self.def, meta::namespace(&body), body.clone()).await
        } else {
            self.ctx.client.put(self.def, body.clone()).await
        };
        match result {
            Ok(written) => {
                self.endpoints.wrote(written);
                Ok(())
            }
            Err(e) if creating && namespace_terminating(&e) => Ok(()),
            Err(e) => {
                if worth_an_event(&e) {
                    let (ns, name) = (meta::namespace(&body), meta::name(&body));
                    let (reason, message) = if creating {
                        (
                            "FailedToCreateEndpoint",
                            format!("Failed to create endpoint for service {ns}/{name}: {e}"),
                        )
                    } else {
                        ("FailedToUpdateEndpoint", format!("Failed to update endpoint {ns}/{name}: {e}"))
                    };
                    self.ctx.warning(&body, reason, message);
                }
                Err(e)
            }
        }
    }

    /// The Service is gone: so are its Endpoints (only the incarnation we know of).
    async fn remove(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(current) = self.endpoints.get_key(key).cloned() else {
            return Ok(());
        };
        match self.ctx.client.delete(self.def, &current, None).await? {
            Removal::Gone(_) => {
                self.endpoints.removed(&current);
            }
            Removal::Pending(marked) => {
                self.endpoints.wrote(marked);
            }
        }
        Ok(())
    }
}

/// The content the controller owns in an Endpoints object.
struct Desired {
    subsets: Vec<Value>,
    labels: Map<String, Value>,
    over_capacity: bool,
}

impl Desired {
    /// Whether `current` already says this (other annotations are not ours to judge).
    fn matches(&self, current: &Value) -> bool {
        let subsets = current.get("subsets").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        let labels = meta::labels(current).cloned().unwrap_or_default();
        let flagged = meta::str_at(current, &["metadata", "annotations", OVER_CAPACITY]).is_some();
        subsets == self.subsets.as_slice() && labels == self.labels && flagged == self.over_capacity
    }

    fn apply(self, obj: &mut Value) {
        match obj.as_object_mut() {
            Some(o) if self.subsets.is_empty() => {
                o.remove("subsets");
            }
            Some(o) => {
                o.insert("subsets".into(), Value::Array(self.subsets));
            }
            None => return,
        }
        let m = meta::metadata_mut(obj);
        if self.labels.is_empty() {
            m.remove("labels");
        } else {
            m.insert("labels".into(), Value::Object(self.labels));
        }
        let mut annotations = m.get("annotations").and_then(Value::as_object).cloned().unwrap_or_default();
        if self.over_capacity {
            annotations.insert(OVER_CAPACITY.into(), json!("truncated"));
        } else {
            annotations.remove(OVER_CAPACITY);
        }
        if annotations.is_empty() {
            m.remove("annotations");
        } else {
            m.insert("annotations".into(), Value::Object(annotations));
        }
    }
}

impl Reconciler for EndpointsController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        // Services deleted while the watch was down are seen as deletions, as an informer's
        // relist reports them.
        let known = self.services.keys();
        self.services.clear();
        self.pods.clear();
        self.endpoints.clear();
        self.queue.clear();
        for (def, obj) in &objects {
            self.note(def.storage, obj, false);
        }
        known.into_iter().filter(|k| self.services.get_key(k).is_none()).for_each(|k| self.queue.add(k));
        if !self.swept {
            self.swept = true;
            self.sweep_leftovers();
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def.storage, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, _api: &Api) -> bool {
        crate::queue::drain(self).await
    }
}

impl crate::queue::QueueSync for EndpointsController {
    fn queue(&mut self) -> &mut WorkQueue {
        &mut self.queue
    }

    fn context(&self) -> &Ctx {
        &self.ctx
    }

    fn sync(&mut self, key: &Key) -> impl Future<Output = Result<(), ApiError>> + Send {
        Self::sync(self, key)
    }
}
