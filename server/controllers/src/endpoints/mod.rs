//! The Endpoints and EndpointSlice controllers (kube-controller-manager's `endpoints` and
//! `endpointslice`): for every Service with a selector, the addresses of the pods it selects.
//!
//! Both are level-triggered over caches of Services and Pods (the slice controller also
//! Nodes, for zones): any change of a Service, of a pod the endpoints reflect, or of an object
//! they manage makes the concerned Services due, and a sync recomputes the whole content and
//! writes only what differs.
//!
//! Layout: this file holds what both share — which Services are ours and which of them a pod
//! change concerns; `backend.rs` a pod as a backend (addresses, readiness, ports);
//! `subsets.rs` the Endpoints content (upstream's `RepackSubsets` and truncation); `legacy.rs`
//! the Endpoints controller (core/v1 Endpoints, which upstream deprecates in favour of slices
//! but still maintains); `slices.rs` the EndpointSlice controller and `placement.rs` how it
//! spreads endpoints over slices.
//!
//! Not implemented: the `endpoints.kubernetes.io/last-change-trigger-time` annotation (it only
//! feeds upstream's latency metrics) and topology hints.

mod backend;
mod legacy;
mod placement;
mod slices;
mod subsets;

pub use legacy::EndpointsController;
pub use slices::EndpointSliceController;

use crate::cache::{Change, Key, Objects, key_of};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::net::IpAddr;
use wasmkube_api::{ApiError, meta};

/// The label every Endpoints and EndpointSlice of a headless Service carries.
const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// An IP family, which is also an EndpointSlice `addressType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    V4,
    V6,
}

impl Family {
    pub fn address_type(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }

    fn from_name(name: &str) -> Option<Family> {
        match name {
            "IPv4" => Some(Family::V4),
            "IPv6" => Some(Family::V6),
            _ => None,
        }
    }

    /// The family of an address, if it is one.
    pub fn of(ip: &str) -> Option<Family> {
        match ip.parse::<IpAddr>().ok()? {
            IpAddr::V4(_) => Some(Family::V4),
            IpAddr::V6(_) => Some(Family::V6),
        }
    }
}

/// Where a service port sends traffic on a pod (`targetPort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TargetPort {
    Number(i64),
    /// A container port's name, resolved per pod.
    Name(String),
}

/// One entry of `spec.ports`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServicePort {
    pub name: String,
    pub protocol: String,
    pub port: i64,
    pub target: TargetPort,
    pub app_protocol: Option<String>,
}

impl ServicePort {
    /// A port as the API server stores it (protocol and targetPort defaulted); a missing
    /// default is filled in the same way, so a port never resolves to 0.
    fn parse(p: &Value) -> ServicePort {
        let text = |k: &str| p.get(k).and_then(Value::as_str);
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        let target = match p.get("targetPort") {
            Some(Value::String(s)) if !s.is_empty() => TargetPort::Name(s.clone()),
            Some(Value::Number(n)) => TargetPort::Number(n.as_i64().filter(|n| *n != 0).unwrap_or(port)),
            _ => TargetPort::Number(port),
        };
        ServicePort {
            name: text("name").unwrap_or("").to_string(),
            protocol: text("protocol").filter(|s| !s.is_empty()).unwrap_or("TCP").to_string(),
            port,
            target,
            app_protocol: text("appProtocol").map(String::from),
        }
    }
}

/// A Service these controllers manage, as both read it.
pub(crate) struct ServiceSpec<'a> {
    pub svc: &'a Value,
    selector: &'a Map<String, Value>,
    pub ports: Vec<ServicePort>,
    pub publish_not_ready: bool,
}

impl<'a> ServiceSpec<'a> {
    /// `None` for the Services the controllers leave alone: ExternalName ones, and those
    /// without a selector, whose endpoints the user writes (the API drops an empty selector,
    /// as upstream's `omitempty` does, so empty counts as none).
    pub fn of(svc: &'a Value) -> Option<Self> {
        let selector = selector(svc)?;
        let ports = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|ps| ps.iter().map(ServicePort::parse).collect())
            .unwrap_or_default();
        let publish_not_ready =
            svc.pointer("/spec/publishNotReadyAddresses").and_then(Value::as_bool).unwrap_or(false);
        Some(ServiceSpec { svc, selector, ports, publish_not_ready })
    }

    pub fn namespace(&self) -> &'a str {
        meta::namespace(self.svc)
    }

    pub fn name(&self) -> &'a str {
        meta::name(self.svc)
    }

    /// Whether `pod` (in any namespace) is one of this Service's.
    pub fn selects(&self, pod: &Value) -> bool {
        meta::namespace(pod) == self.namespace() && labels_match(self.selector, pod)
    }

    fn cluster_ip(&self) -> &'a str {
        meta::str_at(self.svc, &["spec", "clusterIP"]).unwrap_or("")
    }

    /// Upstream `!IsServiceIPSet`: no virtual IP, so clients reach the pods directly.
    pub fn headless(&self) -> bool {
        matches!(self.cluster_ip(), "" | "None")
    }

    /// The address families the Service serves (`spec.ipFamilies`). An object the API server
    /// has not defaulted falls back as upstream does: the family of its cluster IP, or both
    /// when headless.
    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self
            .svc
            .pointer("/spec/ipFamilies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().and_then(Family::from_name))
            .collect();
        families.dedup();
        if !families.is_empty() {
            return families;
        }
        if self.headless() {
            return vec![Family::V4, Family::V6];
        }
        vec![Family::of(self.cluster_ip()).unwrap_or(Family::V4)]
    }

    /// The one family an Endpoints object carries (upstream `podToEndpointAddressForService`):
    /// the Service's first, else its cluster IP's, else the pod's own.
    pub fn primary_family(&self, pod: &Value) -> Family {
        let first =
            self.svc.pointer("/spec/ipFamilies/0").and_then(Value::as_str).and_then(Family::from_name);
        first
            .or_else(|| (!self.headless()).then(|| Family::of(self.cluster_ip())).flatten())
            .or_else(|| backend::pod_ips(pod).first().and_then(|ip| Family::of(ip)))
            .unwrap_or(Family::V4)
    }

    /// The labels both kinds copy from the Service, with the headless label set or removed.
    pub fn mirrored_labels(&self) -> Map<String, Value> {
        let mut labels = meta::labels(self.svc).cloned().unwrap_or_default();
        if self.headless() {
            labels.insert(HEADLESS_LABEL.into(), Value::String(String::new()));
        } else {
            labels.remove(HEADLESS_LABEL);
        }
        labels
    }
}

/// The selector of a Service the controllers manage (see [`ServiceSpec::of`]).
fn selector(svc: &Value) -> Option<&Map<String, Value>> {
    if meta::str_at(svc, &["spec", "type"]) == Some("ExternalName") {
        return None;
    }
    svc.pointer("/spec/selector").and_then(Value::as_object).filter(|s| !s.is_empty())
}

/// A Service selector is a plain map: every pair must be among the pod's labels.
fn labels_match(selector: &Map<String, Value>, pod: &Value) -> bool {
    let labels = meta::labels(pod);
    selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The Services a pod change concerns: those selecting the pod before or after it — none when
/// nothing the endpoints reflect changed (upstream `podEndpointsChanged`).
pub(crate) fn services_for_pod(services: &Objects, change: &Change) -> BTreeSet<Key> {
    if let (Some(old), Some(new)) = (&change.old, &change.new)
        && backend::View::of(old) == backend::View::of(new)
    {
        return BTreeSet::new();
    }
    let mut keys = BTreeSet::new();
    for pod in [&change.old, &change.new].into_iter().flatten() {
        let ns = meta::namespace(pod);
        for svc in services.in_namespace(ns) {
            if selector(svc).is_some_and(|sel| labels_match(sel, pod)) {
                keys.insert(key_of(svc));
            }
        }
    }
    keys
}

/// Whether a create failed because the namespace is going away: retrying cannot help, and
/// the Service goes with the namespace (upstream drops such keys).
fn namespace_terminating(e: &ApiError) -> bool {
    e.code == 403
        && e.details.as_ref().and_then(|d| d.get("causes")).and_then(Value::as_array).is_some_and(|cs| {
            cs.iter().any(|c| c.get("reason").and_then(Value::as_str) == Some("NamespaceTerminating"))
        })
}

/// Failures worth an event: conflicts and vanished objects are routine and retried quietly.
fn worth_an_event(e: &ApiError) -> bool {
    e.code != 409 && e.code != 404
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn services_without_a_selector_or_external_names_are_not_ours() {
        let plain = json!({"metadata": {"name": "s", "namespace": "ns"}, "spec": {"ports": [{"port": 80}]}});
        assert!(ServiceSpec::of(&plain).is_none());
        let empty = json!({"spec": {"selector": {}}});
        assert!(ServiceSpec::of(&empty).is_none());
        let external = json!({"spec": {"type": "ExternalName", "selector": {"app": "a"}}});
        assert!(ServiceSpec::of(&external).is_none());
    }

    #[test]
    fn ports_default_their_protocol_and_target() {
        let svc = json!({"metadata": {"name": "s", "namespace": "ns"}, "spec": {"selector": {"app": "a"},
            "ports": [{"port": 80}, {"name": "web", "port": 81, "targetPort": "http", "protocol": "UDP"},
                      {"port": 82, "targetPort": 8082}]}});
        let spec = ServiceSpec::of(&svc).unwrap();
        assert_eq!(spec.ports[0].target, TargetPort::Number(80));
        assert_eq!(spec.ports[0].protocol, "TCP");
        assert_eq!(spec.ports[1].target, TargetPort::Name("http".into()));
        assert_eq!(spec.ports[1].protocol, "UDP");
        assert_eq!(spec.ports[2].target, TargetPort::Number(8082));
    }

    #[test]
    fn families_fall_back_on_the_cluster_ip() {
        let svc = |spec: Value| json!({"spec": spec});
        let s = svc(json!({"selector": {"a": "b"}, "ipFamilies": ["IPv6", "IPv4"]}));
        assert_eq!(ServiceSpec::of(&s).unwrap().families(), vec![Family::V6, Family::V4]);
        let s = svc(json!({"selector": {"a": "b"}, "clusterIP": "fd00::1"}));
        assert_eq!(ServiceSpec::of(&s).unwrap().families(), vec![Family::V6]);
        let s = svc(json!({"selector": {"a": "b"}, "clusterIP": "None"}));
        assert_eq!(ServiceSpec::of(&s).unwrap().families(), vec![Family::V4, Family::V6]);
    }

    #[test]
    fn the_headless_label_follows_the_cluster_ip() {
        let s = json!({"metadata": {"labels": {"team": "x", HEADLESS_LABEL: ""}},
                       "spec": {"selector": {"a": "b"}, "clusterIP": "10.96.0.9"}});
        assert_eq!(Value::Object(ServiceSpec::of(&s).unwrap().mirrored_labels()), json!({"team": "x"}));
        let s = json!({"spec": {"selector": {"a": "b"}, "clusterIP": "None"}});
        assert_eq!(
            Value::Object(ServiceSpec::of(&s).unwrap().mirrored_labels()),
            json!({HEADLESS_LABEL: ""})
        );
    }
}
