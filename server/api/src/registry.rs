//! Every resource the API server serves.
//!
//! **Architecture Invariant:** this table is the single source of truth for discovery, routing,
//! OpenAPI, storage keys and typed decoding. Adding a resource is one line here.

use crate::decode::{Normalize, typed};
use k8s_openapi::api as k;

/// A subresource with its own handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
    Binding,
    Eviction,
    Log,
    Finalize,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
            Subresource::Binding => "binding",
            Subresource::Eviction => "eviction",
            Subresource::Log => "log",
            Subresource::Finalize => "finalize",
        }
    }

    /// (group, version, kind) of the object this subresource takes and returns; `None` for the
    /// parent's own kind.
    pub fn response_kind(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Subresource::Scale => Some(("autoscaling", "v1", "Scale")),
            Subresource::Binding => Some(("", "v1", "Binding")),
            Subresource::Eviction => Some(("policy", "v1", "Eviction")),
            Subresource::Log => Some(("", "v1", "Pod")),
            Subresource::Status | Subresource::Finalize => None,
        }
    }

    pub fn verbs(self) -> &'static [&'static str] {
        match self {
            Subresource::Status | Subresource::Scale => &["get", "patch", "update"],
            Subresource::Binding | Subresource::Eviction => &["create"],
            Subresource::Log => &["get"],
            Subresource::Finalize => &["update"],
        }
    }
}

/// One served (group, version, resource).
#[derive(Debug)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// The storage key prefix. Two served versions of one resource share it.
    pub storage: &'static str,
    /// Decode-and-re-encode through the typed struct (drops unknown fields, checks types).
    pub normalize: Normalize,
}

pub const VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has(&self, sub: Subresource) -> bool {
        self.subresources.contains(&sub)
    }

    /// The base URL path of the collection, for selfLink-like messages.
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            "/api/v1".to_string()
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

use Subresource::{Binding, Eviction, Finalize, Log, Scale, Status};

macro_rules! r {
    ($g:literal, $v:literal, $plural:literal, $singular:literal, $kind:literal, $ns:literal,
     [$($short:literal),*], [$($cat:literal),*], [$($sub:ident),*], $storage:literal, $ty:ty) => {
        ResourceDef {
            group: $g, version: $v, plural: $plural, singular: $singular, kind: $kind,
            namespaced: $ns, short_names: &[$($short),*], categories: &[$($cat),*],
            subresources: &[$($sub),*], storage: $storage, normalize: typed::<$ty>,
        }
    };
}

/// Every resource, in discovery order.
pub static RESOURCES: &[ResourceDef] = &[
    r!(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        ["ns"],
        [],
        [Status, Finalize],
        "namespaces",
        k::core::v1::Namespace
    ),
    r!("", "v1", "nodes", "node", "Node", false, ["no"], [], [Status], "nodes", k::core::v1::Node),
    r!(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        true,
        ["po"],
        ["all"],
        [Status, Binding, Eviction, Log],
        "pods",
        k::core::v1::Pod
    ),
    r!(
        "",
        "v1",
        "podtemplates",
        "podtemplate",
        "PodTemplate",
        true,
        [],
        [],
        [],
        "podtemplates",
        k::core::v1::PodTemplate
    ),
    r!(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        ["svc"],
        ["all"],
        [Status],
        "services",
        k::core::v1::Service
    ),
    r!(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        ["ep"],
        [],
        [],
        "endpoints",
        k::core::v1::Endpoints
    ),
    r!(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        ["cm"],
        [],
        [],
        "configmaps",
        k::core::v1::ConfigMap
    ),
    r!("", "v1", "secrets", "secret", "Secret", true, [], [], [], "secrets", k::core::v1::Secret),
    r!(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        ["sa"],
        [],
        [],
        "serviceaccounts",
        k::core::v1::ServiceAccount
    ),
    r!("", "v1", "events", "event", "Event", true, ["ev"], [], [], "events", k::core::v1::Event),
    r!(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        ["pv"],
        [],
        [Status],
        "persistentvolumes",
        k::core::v1::PersistentVolume
    ),
    r!(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        ["pvc"],
        [],
        [Status],
        "persistentvolumeclaims",
        k::core::v1::PersistentVolumeClaim
    ),
    r!(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        ["quota"],
        [],
        [Status],
        "resourcequotas",
        k::core::v1::ResourceQuota
    ),
    r!(
        "",
        "v1",
        "limitranges",
        "limitrange",
        "LimitRange",
        true,
        ["limits"],
        [],
        [],
        "limitranges",
        k::core::v1::LimitRange
    ),
    r!(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
        ["rc"],
        ["all"],
        [Status, Scale],
        "replicationcontrollers",
        k::core::v1::ReplicationController
    ),
    r!(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        ["deploy"],
        ["all"],
        [Status, Scale],
        "apps/deployments",
        k::apps::v1::Deployment
    ),
    r!(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        ["rs"],
        ["all"],
        [Status, Scale],
        "apps/replicasets",
        k::apps::v1::ReplicaSet
    ),
    r!(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        ["sts"],
        ["all"],
        [Status, Scale],
        "apps/statefulsets",
        k::apps::v1::StatefulSet
    ),
    r!(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        ["ds"],
        ["all"],
        [Status],
        "apps/daemonsets",
        k::apps::v1::DaemonSet
    ),
    r!(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        [],
        [],
        [],
        "apps/controllerrevisions",
        k::apps::v1::ControllerRevision
    ),
    r!("batch", "v1", "jobs", "job", "Job", true, [], ["all"], [Status], "batch/jobs", k::batch::v1::Job),
    r!(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        ["cj"],
        ["all"],
        [Status],
        "batch/cronjobs",
        k::batch::v1::CronJob
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        ["ing"],
        [],
        [Status],
        "networking.k8s.io/ingresses",
        k::networking::v1::Ingress
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "ingressclass",
        "IngressClass",
        false,
        [],
        [],
        [],
        "networking.k8s.io/ingressclasses",
        k::networking::v1::IngressClass
    ),
    r!(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        ["netpol"],
        [],
        [],
        "networking.k8s.io/networkpolicies",
        k::networking::v1::NetworkPolicy
    ),
    r!(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        true,
        [],
        [],
        [],
        "discovery.k8s.io/endpointslices",
        k::discovery::v1::EndpointSlice
    ),
    r!(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        ["hpa"],
        ["all"],
        [Status],
        "autoscaling/horizontalpodautoscalers",
        k::autoscaling::v2::HorizontalPodAutoscaler
    ),
    r!(
        "autoscaling",
        "v1",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        ["hpa"],
        ["all"],
        [Status],
        "autoscaling/horizontalpodautoscalers",
        k::autoscaling::v1::HorizontalPodAutoscaler
    ),
    r!(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        true,
        [],
        [],
        [],
        "coordination.k8s.io/leases",
        k::coordination::v1::Lease
    ),
    r!(
        "node.k8s.io",
        "v1",
        "runtimeclasses",
        "runtimeclass",
        "RuntimeClass",
        false,
        [],
        [],
        [],
        "node.k8s.io/runtimeclasses",
        k::node::v1::RuntimeClass
    ),
    r!(
        "events.k8s.io",
        "v1",
        "events",
        "event",
        "Event",
        true,
        ["ev"],
        [],
        [],
        "events",
        k::events::v1::Event
    ),
];

/// The versions served for each group, preferred first, in discovery order.
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for r in RESOURCES {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => out.push((r.group, vec![r.version])),
        }
    }
    out
}

/// The resources of one group/version.
pub fn resources_of(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceDef> {
    RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    resources_of(group, version).find(|r| r.plural == plural)
}

/// The preferred (first-listed) definition for a storage prefix: what controllers write.
pub fn by_storage(storage: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.storage == storage)
}

/// The served definition for a kind, preferring the group's first version.
pub fn by_kind(group: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES.iter().find(|r| r.group == group && r.kind == kind)
}

/// Every storage prefix once (for namespace deletion and the garbage collector).
pub fn storage_prefixes() -> Vec<&'static ResourceDef> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for r in RESOURCES {
        if !seen.contains(&r.storage) {
            seen.push(r.storage);
            out.push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_prefixes_are_unique_per_resource_and_shared_across_versions() {
        let hpa: Vec<_> = RESOURCES.iter().filter(|r| r.plural == "horizontalpodautoscalers").collect();
        assert_eq!(hpa.len(), 2);
        assert_eq!(hpa[0].storage, hpa[1].storage);
        assert_eq!(by_storage("autoscaling/horizontalpodautoscalers").unwrap().version, "v2");
        assert_eq!(storage_prefixes().len(), RESOURCES.len() - 2);
    }

    #[test]
    fn groups_list_core_first_and_autoscaling_v2_preferred() {
        let g = groups();
        assert_eq!(g[0].0, "");
        assert_eq!(g.iter().find(|(n, _)| *n == "autoscaling").unwrap().1, vec!["v2", "v1"]);
    }
}
