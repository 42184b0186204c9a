//! A pod as the backend of a Service: whether it belongs in the endpoints at all, its
//! addresses, the ports a Service reaches it on, and what of it the endpoints reflect.

use super::{Family, ServicePort, ServiceSpec, TargetPort};
use crate::pods::{is_ready, is_terminal, node_name};
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use wasmkube_api::meta;

/// Upstream `ShouldPodBeInEndpoints`: neither finished nor without an address, and not
/// terminating unless terminating pods are wanted (EndpointSlices always want them, Endpoints
/// only with `publishNotReadyAddresses`).
pub(crate) fn should_be_in_endpoints(pod: &Value, include_terminating: bool) -> bool {
    !is_terminal(pod) && !pod_ips(pod).is_empty() && (include_terminating || !meta::is_deleting(pod))
}

/// The pod's IPs: `status.podIPs`, or `status.podIP` alone where the list is missing (the
/// API keeps the two in step, as upstream's conversion does, but a writer may set only one).
pub(crate) fn pod_ips(pod: &Value) -> Vec<&str> {
    let listed: Vec<&str> = pod
        .pointer("/status/podIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("ip").and_then(Value::as_str))
        .filter(|ip| !ip.is_empty())
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    meta::str_at(pod, &["status", "podIP"]).filter(|ip| !ip.is_empty()).into_iter().collect()
}

/// The pod's addresses of `family`, in canonical text (upstream re-stringifies parsed IPs, so
/// an irregular spelling never makes two endpoints of one address).
pub(crate) fn addresses(pod: &Value, family: Family) -> Vec<String> {
    pod_ips(pod)
        .into_iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .filter(|ip| Family::of(&ip.to_string()) == Some(family))
        .map(|ip| ip.to_string())
        .collect()
}

/// Upstream `FindPort`: a numeric target is used as is; a name is looked up among the ports
/// of the pod's containers (and sidecars) with the same protocol. `None`: the pod lacks it.
pub(crate) fn find_port(pod: &Value, port: &ServicePort) -> Option<i64> {
    let name = match &port.target {
        TargetPort::Number(n) => return Some(*n),
        TargetPort::Name(name) => name,
    };
    let sidecars = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"));
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten();
    containers
        .chain(sidecars)
        .filter_map(|c| c.get("ports").and_then(Value::as_array))
        .flatten()
        .find(|p| {
            p.get("name").and_then(Value::as_str) == Some(name.as_str())
                && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == port.protocol
        })
        .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
}

/// A resolved port: what a Service port is on one pod (`EndpointPort` of either kind).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EndpointPort {
    pub name: String,
    pub port: i64,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

impl EndpointPort {
    /// The Service port `sp` on `pod`, if the pod has it.
    pub fn resolve(pod: &Value, sp: &ServicePort) -> Option<EndpointPort> {
        Some(EndpointPort {
            name: sp.name.clone(),
            port: find_port(pod, sp)?,
            protocol: sp.protocol.clone(),
            app_protocol: sp.app_protocol.clone(),
        })
    }

    /// A port as an EndpointSlice stores it (the API defaults name and protocol as here).
    pub fn from_slice_json(p: &Value) -> EndpointPort {
        let text = |k: &str| p.get(k).and_then(Value::as_str);
        EndpointPort {
            name: text("name").unwrap_or("").to_string(),
            port: p.get("port").and_then(Value::as_i64).unwrap_or(0),
            protocol: text("protocol").unwrap_or("TCP").to_string(),
            app_protocol: text("appProtocol").map(String::from),
        }
    }

    /// The core/v1 form: an empty name is left out (`omitempty`).
    pub fn to_endpoints_json(&self) -> Value {
        let mut v = json!({"port": self.port, "protocol": self.protocol});
        if !self.name.is_empty() {
            v["name"] = json!(self.name);
        }
        if let Some(app) = &self.app_protocol {
            v["appProtocol"] = json!(app);
        }
        v
    }

    /// The discovery/v1 form: the name is always there, empty for an unnamed port.
    pub fn to_slice_json(&self) -> Value {
        let mut v = json!({"name": self.name, "port": self.port, "protocol": self.protocol});
        if let Some(app) = &self.app_protocol {
            v["appProtocol"] = json!(app);
        }
        v
    }
}

/// Upstream `ShouldSetHostname`: a pod publishes its `hostname` through the Service named by
/// its `subdomain` (the DNS records of headless Services and StatefulSets).
pub(crate) fn hostname<'a>(pod: &'a Value, spec: &ServiceSpec) -> Option<&'a str> {
    let host = meta::str_at(pod, &["spec", "hostname"]).filter(|h| !h.is_empty())?;
    let same = meta::str_at(pod, &["spec", "subdomain"]) == Some(spec.name())
        && meta::namespace(pod) == spec.namespace();
    same.then_some(host)
}

/// The `targetRef` both kinds give an address.
pub(crate) fn target_ref(pod: &Value) -> Value {
    json!({
        "kind": "Pod",
        "namespace": meta::namespace(pod),
        "name": meta::name(pod),
        "uid": meta::uid(pod),
    })
}

/// What of a pod its endpoints reflect: when none of it changes, no Service needs a look.
#[derive(PartialEq)]
pub(crate) struct View<'a> {
    labels: Option<&'a Map<String, Value>>,
    hostname: Option<&'a str>,
    subdomain: Option<&'a str>,
    node: &'a str,
    ips: Vec<&'a str>,
    ready: bool,
    deleting: bool,
    terminal: bool,
    /// Named target ports resolve through these.
    containers: Option<&'a Value>,
    init_containers: Option<&'a Value>,
}

impl<'a> View<'a> {
    pub fn of(pod: &'a Value) -> View<'a> {
        View {
            labels: meta::labels(pod),
            hostname: meta::str_at(pod, &["spec", "hostname"]),
            subdomain: meta::str_at(pod, &["spec", "subdomain"]),
            node: node_name(pod),
            ips: pod_ips(pod),
            ready: is_ready(pod),
            deleting: meta::is_deleting(pod),
            terminal: is_terminal(pod),
            containers: pod.pointer("/spec/containers"),
            init_containers: pod.pointer("/spec/initContainers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(target: TargetPort, protocol: &str) -> ServicePort {
        ServicePort { name: String::new(), protocol: protocol.into(), port: 80, target, app_protocol: None }
    }

    #[test]
    fn named_ports_resolve_per_pod_and_protocol() {
        let pod = json!({"spec": {
            "containers": [{"name": "a", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                                   {"name": "http", "containerPort": 8080}]}],
            "initContainers": [{"name": "side", "restartPolicy": "Always",
                                "ports": [{"name": "metrics", "containerPort": 9090}]},
                               {"name": "init", "ports": [{"name": "setup", "containerPort": 7070}]}]}});
        assert_eq!(find_port(&pod, &port(TargetPort::Name("http".into()), "TCP")), Some(8080));
        assert_eq!(find_port(&pod, &port(TargetPort::Name("dns".into()), "UDP")), Some(53));
        assert_eq!(find_port(&pod, &port(TargetPort::Name("dns".into()), "TCP")), None);
        assert_eq!(find_port(&pod, &port(TargetPort::Name("metrics".into()), "TCP")), Some(9090));
        assert_eq!(find_port(&pod, &port(TargetPort::Name("setup".into()), "TCP")), None);
        assert_eq!(find_port(&pod, &port(TargetPort::Number(81), "TCP")), Some(81));
    }

    #[test]
    fn addresses_come_from_pod_ips_or_pod_ip() {
        let dual =
            json!({"status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00:0::1"}]}});
        assert_eq!(addresses(&dual, Family::V4), vec!["10.0.0.1"]);
        assert_eq!(addresses(&dual, Family::V6), vec!["fd00::1"]);
        let single = json!({"status": {"podIP": "10.0.0.2"}});
        assert_eq!(addresses(&single, Family::V4), vec!["10.0.0.2"]);
        assert!(!should_be_in_endpoints(&json!({"status": {"phase": "Running"}}), true));
        let done = json!({"status": {"phase": "Succeeded", "podIP": "10.0.0.3"}});
        assert!(!should_be_in_endpoints(&done, true));
        let going = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {"podIP": "10.0.0.4"}});
        assert!(should_be_in_endpoints(&going, true));
        assert!(!should_be_in_endpoints(&going, false));
    }
}
