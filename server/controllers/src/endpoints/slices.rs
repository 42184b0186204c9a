//! The EndpointSlice controller (upstream `endpointslice-controller`): for every Service with
//! a selector, EndpointSlices (discovery.k8s.io/v1) listing the selected pods, per address
//! type and set of ports, at most [`MAX_ENDPOINTS_PER_SLICE`] endpoints each.
//!
//! Unlike Endpoints, slices keep terminating pods (`terminating: true`, `serving` still
//! telling whether they are Ready) so that consumers can drain connections. Slices are owned
//! by their Service: the garbage collector removes them with it.

use super::backend::{EndpointPort, addresses, hostname, should_be_in_endpoints, target_ref};
use super::placement::{
    self, Desired, MANAGED_BY_LABEL, MAX_ENDPOINTS_PER_SLICE, Owner, Plan, SERVICE_NAME_LABEL, address_type,
};
use super::{Family, ServiceSpec, namespace_terminating, services_for_pod, worth_an_event};
use crate::cache::{Change, Key, Objects, key_of};
use crate::client::Removal;
use crate::clock::Clock;
use crate::context::Ctx;
use crate::pods::{is_ready, node_name};
use crate::queue::WorkQueue;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use wasmkube_api::{ApiError, ResourceDef, meta, registry};
use wasmkube_apiserver::Api;
use wasmkube_apiserver::controllers::Reconciler;
use wasmkube_apiserver::service::AnyEvent;

/// Upstream's component name: the field manager and the events' source.
const NAME: &str = "endpointslice-controller";

/// The `managed-by` label value that marks a slice as this controller's (others, e.g. a
/// mirroring controller or a user, may manage slices of the same Service).
const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// The node label an endpoint's `zone` comes from.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

const SLICES: &str = "discovery.k8s.io/endpointslices";

pub struct EndpointSliceController {
    ctx: Ctx,
    def: &'static ResourceDef,
    services: Objects,
    pods: Objects,
    nodes: Objects,
    slices: Slices,
    queue: WorkQueue,
}

impl EndpointSliceController {
    pub fn new(api: Api, clock: Arc<dyn Clock>) -> Self {
        EndpointSliceController {
            ctx: Ctx::new(api, NAME, clock),
            def: registry::by_storage(SLICES).expect("endpointslices are served"),
            services: Objects::default(),
            pods: Objects::default(),
            nodes: Objects::default(),
            slices: Slices::default(),
            queue: WorkQueue::default(),
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
            "nodes" => {
                if let Some(change) = self.nodes.observe(obj, deleted)
                    && node_changed(&change)
                {
                    self.node_changed(meta::name(obj));
                }
            }
            // Our slices changed by someone else (or deleted) are put back.
            SLICES => {
                if let Some(change) = self.slices.observe(obj, deleted) {
                    let keys = [&change.old, &change.new].into_iter().flatten().filter_map(|s| service_of(s));
                    keys.collect::<BTreeSet<Key>>().into_iter().for_each(|k| self.queue.add(k));
                }
            }
            _ => {}
        }
    }

    /// A node appeared, went, or changed zone: the Services of its pods must look again.
    fn node_changed(&mut self, node: &str) {
        let mut keys = BTreeSet::new();
        for pod in self.pods.iter().filter(|p| node_name(p) == node) {
            let change = Change { old: None, new: Some(pod.clone()) };
            keys.extend(services_for_pod(&self.services, &change));
        }
        keys.into_iter().for_each(|k| self.queue.add(k));
    }

    #[tracing::instrument(skip(self), fields(controller = NAME))]
    async fn sync(&mut self, key: &Key) -> Result<(), ApiError> {
        let Some(svc) = self.services.get_key(key).cloned() else {
            return Ok(()); // gone: the garbage collector removes its slices
        };
        let Some(spec) = ServiceSpec::of(&svc) else {
            return Ok(()); // slices of Services without a selector are the user's
        };
        let plan = self.plan(&spec);
        let result = self.apply(&svc, plan).await;
        if let Err(e) = &result
            && worth_an_event(e)
        {
            let msg = format!("Error updating Endpoint Slices for Service {}/{}: {e}", key.0, key.1);
            self.ctx.warning(&svc, "FailedToUpdateEndpointSlices", msg);
        }
        result
    }

    /// The writes that make the Service's slices right, per address type it serves; slices
    /// of a type it no longer serves go (the type of a slice cannot change).
    fn plan(&self, spec: &ServiceSpec) -> Plan {
        let owner = Owner::new(spec, MANAGED_BY);
        let existing = self.slices.of(&(spec.namespace().to_string(), spec.name().to_string()));
        let families = spec.families();
        let mut plan = Plan::default();
        for family in &families {
            let of_family: Vec<Arc<Value>> =
                existing.iter().filter(|s| address_type(s) == family.address_type()).cloned().collect();
            let desired = self.desired(spec, *family);
            plan.extend(placement::reconcile(&owner, *family, of_family, desired, MAX_ENDPOINTS_PER_SLICE));
        }
        let served = |s: &Arc<Value>| families.iter().any(|f| address_type(s) == f.address_type());
        plan.delete.extend(existing.into_iter().filter(|s| !served(s)));
        plan
    }

    /// The endpoints of `family` wanted for the pods `spec` selects, grouped by their ports.
    fn desired(&self, spec: &ServiceSpec, family: Family) -> Desired {
        let mut desired = Desired::new();
        for pod in self.pods.in_namespace(spec.namespace()).filter(|p| spec.selects(p)) {
            if !should_be_in_endpoints(pod, true) {
                continue;
            }
            let group = desired.entry(endpoint_ports(spec, pod)).or_default();
            let node = self.nodes.get_key(&(String::new(), node_name(pod).to_string()));
            // Upstream leaves out pods on a node that does not exist (unless the Service
            // publishes everything); the node's arrival brings them in (`node_changed`).
            if node.is_none() && !spec.publish_not_ready {
                continue;
            }
            if let Some(ep) = endpoint(pod, node.map(|n| &**n), spec, family) {
                group.insert(placement::endpoint_key(&ep), ep);
            }
        }
        desired
    }

    async fn apply(&mut self, svc: &Value, plan: Plan) -> Result<(), ApiError> {
        // No new slices for a Service on its way out: they would race the garbage collector.
        if !meta::is_deleting(svc) {
            for body in plan.create {
                match self.ctx.client.create(self.def, meta::namespace(svc), body).await {
                    Ok(created) => self.slices.wrote(created),
                    Err(e) if namespace_terminating(&e) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }
        for body in plan.update {
            let written = self.ctx.client.put(self.def, body).await?;
            self.slices.wrote(written);
        }
        for slice in plan.delete {
            match self.ctx.client.delete(self.def, &slice, None).await? {
                Removal::Gone(_) => self.slices.removed(&slice),
                Removal::Pending(marked) => self.slices.wrote(marked),
            }
        }
        Ok(())
    }
}

/// The ports a Service reaches `pod` on, sorted (slices group endpoints by identical ports);
/// a pod lacking a named port is an endpoint without it. Upstream `getEndpointPorts`.
fn endpoint_ports(spec: &ServiceSpec, pod: &Value) -> Vec<EndpointPort> {
    let mut ports: Vec<EndpointPort> =
        spec.ports.iter().filter_map(|sp| EndpointPort::resolve(pod, sp)).collect();
    ports.sort();
    ports
}

/// Upstream `podToEndpoint`: `None` if the pod has no address of `family`. A terminating pod
/// is never `ready` (unless the Service publishes not-ready addresses) but stays `serving`
/// while its Ready condition holds.
fn endpoint(pod: &Value, node: Option<&Value>, spec: &ServiceSpec, family: Family) -> Option<Value> {
    let addresses = addresses(pod, family);
    if addresses.is_empty() {
        return None;
    }
    let serving = is_ready(pod);
    let terminating = meta::is_deleting(pod);
    let ready = spec.publish_not_ready || (serving && !terminating);
    let mut ep = json!({
        "addresses": addresses,
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": target_ref(pod),
    });
    let node_name = node_name(pod);
    if !node_name.is_empty() {
        ep["nodeName"] = json!(node_name);
    }
    if let Some(zone) = node.and_then(zone) {
        ep["zone"] = json!(zone);
    }
    if let Some(h) = hostname(pod, spec) {
        ep["hostname"] = json!(h);
    }
    Some(ep)
}

fn zone(node: &Value) -> Option<&str> {
    meta::labels(node)?.get(ZONE_LABEL)?.as_str().filter(|z| !z.is_empty())
}

/// Whether a node change matters to endpoints: its existence or its zone.
fn node_changed(change: &Change) -> bool {
    match (&change.old, &change.new) {
        (Some(old), Some(new)) => zone(old) != zone(new),
        _ => true,
    }
}

/// The Service a slice of ours belongs to, by its labels.
fn service_of(slice: &Value) -> Option<Key> {
    let labels = meta::labels(slice)?;
    if labels.get(MANAGED_BY_LABEL).and_then(Value::as_str) != Some(MANAGED_BY) {
        return None;
    }
    let service = labels.get(SERVICE_NAME_LABEL)?.as_str().filter(|s| !s.is_empty())?;
    Some((meta::namespace(slice).to_string(), service.to_string()))
}

/// Every EndpointSlice, with ours indexed by Service.
#[derive(Default)]
struct Slices {
    objects: Objects,
    /// Service key -> names of its slices.
    by_service: HashMap<Key, BTreeSet<String>>,
}

impl Slices {
    fn clear(&mut self) {
        self.objects.clear();
        self.by_service.clear();
    }

    fn observe(&mut self, obj: &Arc<Value>, deleted: bool) -> Option<Change> {
        let change = self.objects.observe(obj, deleted)?;
        self.index(&change);
        Some(change)
    }

    fn wrote(&mut self, obj: Value) {
        let change = self.objects.wrote(obj);
        self.index(&change);
    }

    fn removed(&mut self, obj: &Value) {
        let change = self.objects.removed(obj);
        self.index(&change);
    }

    fn index(&mut self, change: &Change) {
        if let Some(old) = &change.old
            && let Some(svc) = service_of(old)
            && let Some(names) = self.by_service.get_mut(&svc)
        {
            names.remove(meta::name(old));
            if names.is_empty() {
                self.by_service.remove(&svc);
            }
        }
        if let Some(new) = &change.new
            && let Some(svc) = service_of(new)
        {
            self.by_service.entry(svc).or_default().insert(meta::name(new).to_string());
        }
    }

    /// The Service's slices, those being deleted aside (upstream drops them so that a
    /// finalizer cannot wedge the controller).
    fn of(&self, service: &Key) -> Vec<Arc<Value>> {
        let names = self.by_service.get(service).into_iter().flatten();
        names
            .filter_map(|n| self.objects.get_key(&(service.0.clone(), n.clone())))
            .filter(|s| !meta::is_deleting(s))
            .cloned()
            .collect()
    }
}

impl Reconciler for EndpointSliceController {
    fn reset(&mut self, objects: Vec<(&'static ResourceDef, Arc<Value>)>) {
        self.services.clear();
        self.pods.clear();
        self.nodes.clear();
        self.slices.clear();
        self.queue.clear();
        for (def, obj) in &objects {
            self.note(def.storage, obj, false);
        }
    }

    fn observe(&mut self, ev: &AnyEvent) {
        self.note(ev.def.storage, &ev.object, ev.deleted);
    }

    async fn reconcile(&mut self, _api: &Api) -> bool {
        crate::queue::drain(self).await
    }
}

impl crate::queue::QueueSync for EndpointSliceController {
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
