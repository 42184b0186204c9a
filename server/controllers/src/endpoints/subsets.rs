//! The content of an Endpoints object: one entry per (pod, port), packed into subsets of
//! addresses that offer the same ports (upstream `RepackSubsets`), and truncated at
//! [`MAX_CAPACITY`] addresses.

use super::ServiceSpec;
use super::backend::{EndpointPort, addresses, hostname, should_be_in_endpoints, target_ref};
use crate::pods::{is_ready, node_name};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use wasmkube_api::meta;

/// Upstream `maxCapacity`: an Endpoints object holds at most this many addresses.
pub(crate) const MAX_CAPACITY: usize = 1000;

/// The annotation marking an Endpoints object whose addresses were truncated.
pub(crate) const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";

/// An address is identified as upstream does: by IP and the pod's uid.
type AddressId = (String, String);

/// One address offering one port (`None`: a headless Service without ports).
struct Entry {
    id: AddressId,
    address: Value,
    ready: bool,
    port: Option<EndpointPort>,
}

/// One subset: its addresses sorted by IP and uid, its ports sorted.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Subset {
    pub ready: Vec<Value>,
    pub not_ready: Vec<Value>,
    pub ports: Vec<EndpointPort>,
}

impl Subset {
    /// The core/v1 form, empty lists left out (`omitempty`).
    pub fn to_json(&self) -> Value {
        let mut v = json!({});
        if !self.ready.is_empty() {
            v["addresses"] = json!(self.ready);
        }
        if !self.not_ready.is_empty() {
            v["notReadyAddresses"] = json!(self.not_ready);
        }
        if !self.ports.is_empty() {
            v["ports"] = Value::Array(self.ports.iter().map(EndpointPort::to_endpoints_json).collect());
        }
        v
    }
}

/// The subsets of `spec`'s Endpoints, given the pods it selects.
pub(crate) fn compute(spec: &ServiceSpec, pods: &[&Value]) -> Vec<Subset> {
    repack(entries(spec, pods))
}

/// Every (address, port) pair, before packing (upstream's per-pod `addEndpointSubset`).
/// Terminating pods are left out unless the Service publishes not-ready addresses, in which
/// case every pod counts as ready.
fn entries(spec: &ServiceSpec, pods: &[&Value]) -> Vec<Entry> {
    let mut out = Vec::new();
    for pod in pods {
        if !should_be_in_endpoints(pod, spec.publish_not_ready) {
            continue;
        }
        let Some((id, address)) = address(spec, pod) else {
            continue; // no address of the Service's family
        };
        let ready = spec.publish_not_ready || is_ready(pod);
        if spec.ports.is_empty() {
            // Only a headless Service may do without ports; it lists its pods all the same.
            if spec.cluster_ip() == "None" {
                out.push(Entry { id, address, ready, port: None });
            }
            continue;
        }
        for sp in &spec.ports {
            // A pod lacking a named target port is not an endpoint of that port.
            if let Some(port) = EndpointPort::resolve(pod, sp) {
                out.push(Entry { id: id.clone(), address: address.clone(), ready, port: Some(port) });
            }
        }
    }
    out
}

/// The pod's `EndpointAddress` for this Service, if it has an IP of the Service's family.
fn address(spec: &ServiceSpec, pod: &Value) -> Option<(AddressId, Value)> {
    let ip = addresses(pod, spec.primary_family(pod)).into_iter().next()?;
    let mut a = json!({"ip": ip, "targetRef": target_ref(pod)});
    let node = node_name(pod);
    if !node.is_empty() {
        a["nodeName"] = json!(node);
    }
    if let Some(h) = hostname(pod, spec) {
        a["hostname"] = json!(h);
    }
    Some(((ip, meta::uid(pod).to_string()), a))
}

/// Upstream `RepackSubsets`: map each port to the addresses offering it (an address not ready
/// for one port is not ready for it at all), then group the ports whose address sets are
/// identical into one subset each.
fn repack(entries: Vec<Entry>) -> Vec<Subset> {
    let mut addresses: HashMap<AddressId, Value> = HashMap::new();
    let mut by_port: BTreeMap<Option<EndpointPort>, BTreeMap<AddressId, bool>> = BTreeMap::new();
    for e in entries {
        let ready = by_port.entry(e.port).or_default().entry(e.id.clone()).or_insert(e.ready);
        *ready &= e.ready;
        addresses.entry(e.id).or_insert(e.address);
    }
    let mut groups: BTreeMap<Vec<(AddressId, bool)>, Vec<EndpointPort>> = BTreeMap::new();
    for (port, set) in by_port {
        groups.entry(set.into_iter().collect()).or_default().extend(port);
    }
    groups
        .into_iter()
        .map(|(set, ports)| {
            let mut subset = Subset { ports, ..Subset::default() };
            for (id, ready) in set {
                let Some(a) = addresses.get(&id) else { continue };
                let list = if ready { &mut subset.ready } else { &mut subset.not_ready };
                list.push(a.clone());
            }
            subset
        })
        .collect()
}

/// Upstream `truncateEndpoints`: keep at most `max` addresses, ready ones first, each subset
/// keeping its proportional share (rounded up, the last ones getting what is left). Returns
/// whether anything was dropped.
pub(crate) fn truncate(subsets: &mut [Subset], max: usize) -> bool {
    let total_ready: usize = subsets.iter().map(|s| s.ready.len()).sum();
    let total_not_ready: usize = subsets.iter().map(|s| s.not_ready.len()).sum();
    if total_ready + total_not_ready <= max {
        return false;
    }
    let truncate_ready = total_ready > max;
    let (budget, total) =
        if truncate_ready { (max, total_ready) } else { (max - total_ready, total_not_ready) };
    let mut left = budget;
    for s in subsets.iter_mut() {
        let list = if truncate_ready { &mut s.ready } else { &mut s.not_ready };
        let share = (list.len() * budget).div_ceil(total).min(left);
        list.truncate(share);
        left -= list.len();
        if truncate_ready {
            s.not_ready.clear();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, n: i64) -> EndpointPort {
        EndpointPort { name: name.into(), port: n, protocol: "TCP".into(), app_protocol: None }
    }

    fn entry(ip: &str, ready: bool, port: Option<EndpointPort>) -> Entry {
        let id = (ip.to_string(), format!("uid-{ip}"));
        Entry { id, address: json!({"ip": ip}), ready, port }
    }

    #[test]
    fn addresses_with_the_same_ports_share_a_subset() {
        let subsets = repack(vec![
            entry("10.0.0.2", true, Some(port("http", 80))),
            entry("10.0.0.2", true, Some(port("admin", 81))),
            entry("10.0.0.1", true, Some(port("http", 80))),
            entry("10.0.0.1", true, Some(port("admin", 81))),
            entry("10.0.0.3", false, Some(port("http", 80))),
        ]);
        let json: Vec<Value> = subsets.iter().map(Subset::to_json).collect();
        assert_eq!(
            json,
            vec![
                json!({"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                       "ports": [{"name": "admin", "port": 81, "protocol": "TCP"}]}),
                json!({"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                       "notReadyAddresses": [{"ip": "10.0.0.3"}],
                       "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}),
            ]
        );
    }

    #[test]
    fn not_ready_wins_for_one_port_and_portless_addresses_survive() {
        let subsets = repack(vec![entry("10.0.0.1", true, None), entry("10.0.0.1", false, None)]);
        assert_eq!(subsets.len(), 1);
        assert_eq!(subsets[0].to_json(), json!({"notReadyAddresses": [{"ip": "10.0.0.1"}]}));
        assert!(repack(Vec::new()).is_empty());
    }

    #[test]
    fn truncation_keeps_ready_addresses_first_and_proportionally() {
        let addrs =
            |n: usize| (0..n).map(|i| json!({"ip": format!("10.0.{}.{}", i / 250, i % 250)})).collect();
        let mut subsets = vec![
            Subset { ready: addrs(600), not_ready: addrs(100), ports: vec![port("a", 1)] },
            Subset { ready: addrs(300), not_ready: addrs(300), ports: vec![port("b", 2)] },
        ];
        assert!(truncate(&mut subsets, MAX_CAPACITY));
        assert_eq!((subsets[0].ready.len(), subsets[0].not_ready.len()), (600, 25));
        assert_eq!((subsets[1].ready.len(), subsets[1].not_ready.len()), (300, 75));
        let mut ready_only = vec![
            Subset { ready: addrs(900), not_ready: addrs(10), ports: vec![] },
            Subset { ready: addrs(300), not_ready: vec![], ports: vec![] },
        ];
        assert!(truncate(&mut ready_only, MAX_CAPACITY));
        assert_eq!((ready_only[0].ready.len(), ready_only[0].not_ready.len()), (750, 0));
        assert_eq!(ready_only[1].ready.len(), 250);
        let mut small = vec![Subset { ready: addrs(3), ..Subset::default() }];
        assert!(!truncate(&mut small, MAX_CAPACITY));
    }
}
