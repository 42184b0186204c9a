//! Services on this node (kube-proxy's job): follow Services and EndpointSlices through the
//! shared feed and program the pod network with each Service's cluster IP (or headless /
//! ExternalName record) and its ready endpoints; open a real listener on the node's address for
//! every NodePort. A connect to a cluster IP is then balanced inside the `wasi:sockets` layer
//! (`wasmkube_runtime::network::services`): no route, no packet to a 10.x address, anywhere.

use crate::NodeAgent;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use wasmkube_api::meta;
use wasmkube_runtime::network::{Proto, Service, ServiceAddress, ServicePort, forward_node_port};

type Key = (String, String);

/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub(crate) async fn run(agent: NodeAgent) {
    let mut proxy = Proxy::default();
    loop {
        if let Err(e) = proxy.follow(&agent).await {
            tracing::warn!(error = %e, "service watch ended; relisting");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[derive(Default)]
struct Proxy {
    services: HashMap<Key, Arc<Value>>,
    /// (namespace, service name) -> slice name -> slice
    slices: HashMap<Key, BTreeMap<String, Arc<Value>>>,
    /// What the pod network was last given, to program only changes.
    programmed: HashMap<Key, Service>,
    /// nodePort -> (its Service, where it leads, the listener's task)
    node_ports: HashMap<u16, (Key, tokio::sync::watch::Sender<SocketAddrV4>, JoinHandle<()>)>,
}

impl Proxy {
    async fn follow(&mut self, agent: &NodeAgent) -> Result<(), wasmkube_api::ApiError> {
        use futures::StreamExt;
        let (objects, mut events) = agent.inner.api.list_watch_everything().await?;
        self.services.clear();
        self.slices.clear();
        for (def, obj) in &objects {
            self.take(def.storage, obj, false);
        }
        let keys: Vec<Key> =
            self.services.keys().chain(self.slices.keys()).chain(self.programmed.keys()).cloned().collect();
        for key in keys {
            self.sync(agent, &key);
        }
        while let Some(ev) = events.next().await {
            let ev = ev?;
            if let Some(key) = self.take(ev.def.storage, &ev.object, ev.deleted) {
                self.sync(agent, &key);
            }
        }
        Ok(())
    }

    /// Note a change; returns the Service it concerns.
    fn take(&mut self, storage: &str, obj: &Arc<Value>, deleted: bool) -> Option<Key> {
        let ns = meta::namespace(obj).to_string();
        match storage {
            "services" => {
                let key = (ns, meta::name(obj).to_string());
                if deleted {
                    self.services.remove(&key);
                } else {
                    self.services.insert(key.clone(), obj.clone());
                }
                Some(key)
            }
            "discovery.k8s.io/endpointslices" => {
                let service = meta::labels(obj)?.get(SERVICE_NAME_LABEL)?.as_str()?.to_string();
                let key = (ns, service);
                let slices = self.slices.entry(key.clone()).or_default();
                if deleted {
                    slices.remove(meta::name(obj));
                } else {
                    slices.insert(meta::name(obj).to_string(), obj.clone());
                }
                Some(key)
            }
            _ => None,
        }
    }

    /// Bring the pod network and the NodePort listeners in line with one Service.
    fn sync(&mut self, agent: &NodeAgent, key: &Key) {
        let net = agent.inner.runtime.network();
        let wanted = self.services.get(key).and_then(|svc| translate(svc, self.slices.get(key)));
        match wanted {
            Some(svc) if self.programmed.get(key) != Some(&svc) => {
                net.set_service(svc.clone());
                self.programmed.insert(key.clone(), svc);
            }
            Some(_) => {}
            None => {
                if self.programmed.remove(key).is_some() {
                    net.remove_service(&key.0, &key.1);
                }
            }
        }
        if self.slices.get(key).is_some_and(BTreeMap::is_empty) {
            self.slices.remove(key);
        }
        self.sync_node_ports(agent, key);
    }

    /// Listeners for this Service's NodePorts: opened when they appear, closed when they go; a
    /// kept node port whose Service port changed keeps its listener and only changes target.
    fn sync_node_ports(&mut self, agent: &NodeAgent, key: &Key) {
        let wanted: Vec<(u16, SocketAddrV4)> =
            self.services.get(key).map(|s| node_ports(s)).unwrap_or_default();
        self.node_ports.retain(|port, (owner, target, task)| {
            if owner != key {
                return true;
            }
            match wanted.iter().find(|(p, _)| p == port) {
                Some((_, to)) => {
                    target.send_if_modified(|t| std::mem::replace(t, *to) != *to);
                    true
                }
                None => {
                    task.abort();
                    false
                }
            }
        });
        for (port, target) in wanted {
            if self.node_ports.contains_key(&port) {
                continue;
            }
            let addr = std::net::SocketAddr::from((agent.inner.config.address, port));
            let bound = std::net::TcpListener::bind(addr).and_then(|l| {
                l.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(l)
            });
            match bound {
                Ok(listener) => {
                    tracing::info!(%addr, namespace = %key.0, service = %key.1, "NodePort open");
                    let net = agent.inner.runtime.network().clone();
                    let (tx, rx) = tokio::sync::watch::channel(target);
                    let task = tokio::spawn(forward_node_port(listener, net, rx));
                    self.node_ports.insert(port, (key.clone(), tx, task));
                }
                // Tried again whenever this Service or its endpoints change.
                Err(e) => tracing::warn!(%addr, error = %e, "cannot open a NodePort"),
            }
        }
    }
}

/// A Service and its EndpointSlices as the pod network uses them; `None` for a Service that has
/// no address yet (or one the pod network cannot carry).
fn translate(svc: &Value, slices: Option<&BTreeMap<String, Arc<Value>>>) -> Option<Service> {
    let spec = svc.get("spec")?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let address = match (text(spec, "type").as_str(), text(spec, "clusterIP").as_str()) {
        ("ExternalName", _) => ServiceAddress::ExternalName(text(spec, "externalName")),
        (_, "None") => ServiceAddress::Headless,
        (_, ip) => ServiceAddress::ClusterIp(ip.parse().ok()?),
    };
    let ports = spec
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let proto = protocol(p)?;
            let name = text(p, "name");
            let port = u16::try_from(p.get("port")?.as_u64()?).ok()?;
            let endpoints = ready_endpoints(slices, &name, proto);
            Some(ServicePort { name, proto, port, endpoints })
        })
        .collect();
    Some(Service {
        namespace: meta::namespace(svc).to_string(),
        name: meta::name(svc).to_string(),
        address,
        ports,
        client_affinity: (text(spec, "sessionAffinity") == "ClientIP").then(|| {
            // Upstream's default: three hours.
            let timeout =
                spec.pointer("/sessionAffinityConfig/clientIP/timeoutSeconds").and_then(Value::as_u64);
            std::time::Duration::from_secs(timeout.unwrap_or(10_800))
        }),
        hostnames: endpoint_hostnames(slices),
    })
}

fn protocol(port: &Value) -> Option<Proto> {
    match port.get("protocol").and_then(Value::as_str).unwrap_or("TCP") {
        "TCP" => Some(Proto::Tcp),
        "UDP" => Some(Proto::Udp),
        _ => None, // SCTP has no place in the wasi:sockets layer
    }
}

/// Ready endpoints that publish a hostname, with their addresses.
fn endpoint_hostnames(slices: Option<&BTreeMap<String, Arc<Value>>>) -> Vec<(String, Ipv4Addr)> {
    let mut out: Vec<(String, Ipv4Addr)> = slices
        .into_iter()
        .flat_map(BTreeMap::values)
        .flat_map(|slice| ready(slice))
        .filter_map(|e| {
            let host = e.get("hostname")?.as_str()?;
            Some(addresses(e).map(move |ip| (host.to_string(), ip)))
        })
        .flatten()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A slice's ready endpoints (an unset `ready` means ready, as the API documents).
fn ready(slice: &Value) -> impl Iterator<Item = &Value> {
    let endpoints = slice.get("endpoints").and_then(Value::as_array).into_iter().flatten();
    endpoints.filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false))
}

fn addresses(endpoint: &Value) -> impl Iterator<Item = Ipv4Addr> + '_ {
    let ips = endpoint.get("addresses").and_then(Value::as_array).into_iter().flatten();
    ips.filter_map(|a| a.as_str()?.parse::<Ipv4Addr>().ok())
}

/// The ready endpoints of the slices' port named `name`: pod IP and that port's number.
fn ready_endpoints(
    slices: Option<&BTreeMap<String, Arc<Value>>>,
    name: &str,
    proto: Proto,
) -> Vec<SocketAddrV4> {
    let mut out = Vec::new();
    for slice in slices.into_iter().flat_map(BTreeMap::values) {
        let port = slice
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| {
                p.get("name").and_then(Value::as_str).unwrap_or("") == name && protocol(p) == Some(proto)
            })
            .and_then(|p| u16::try_from(p.get("port")?.as_u64()?).ok());
        let Some(port) = port else { continue };
        out.extend(ready(slice).flat_map(addresses).map(|ip| SocketAddrV4::new(ip, port)));
    }
    out.sort();
    out.dedup();
    out
}

/// (nodePort, cluster IP and port) for each TCP port of a NodePort or LoadBalancer Service.
fn node_ports(svc: &Value) -> Vec<(u16, SocketAddrV4)> {
    let Some(spec) = svc.get("spec") else { return Vec::new() };
    if !matches!(spec.get("type").and_then(Value::as_str), Some("NodePort" | "LoadBalancer")) {
        return Vec::new();
    }
    let Some(ip) = spec.get("clusterIP").and_then(Value::as_str).and_then(|s| s.parse::<Ipv4Addr>().ok())
    else {
        return Vec::new();
    };
    spec.get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| protocol(p) == Some(Proto::Tcp))
        .filter_map(|p| {
            let node_port = u16::try_from(p.get("nodePort")?.as_u64()?).ok()?;
            let port = u16::try_from(p.get("port")?.as_u64()?).ok()?;
            Some((node_port, SocketAddrV4::new(ip, port)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_service_and_its_slices_become_a_balanced_cluster_ip() {
        let svc = json!({"metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "sessionAffinity": "ClientIP",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
                          {"name": "dns", "port": 53, "protocol": "UDP"}]}});
        let slice = json!({"metadata": {"name": "web-abc", "namespace": "default"},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.0.5"], "conditions": {"ready": true}},
                {"addresses": ["10.244.0.6"], "conditions": {"ready": false, "terminating": true}},
                {"addresses": ["10.244.0.7"]}]});
        let slices: BTreeMap<String, Arc<Value>> = [("web-abc".to_string(), Arc::new(slice))].into();
        let s = translate(&svc, Some(&slices)).unwrap();
        assert_eq!(s.address, ServiceAddress::ClusterIp(Ipv4Addr::new(10, 96, 0, 20)));
        assert_eq!(s.client_affinity, Some(std::time::Duration::from_secs(10_800)));
        let http = &s.ports[0];
        assert_eq!((http.port, http.proto), (80, Proto::Tcp));
        let want: Vec<SocketAddrV4> =
            vec!["10.244.0.5:8080".parse().unwrap(), "10.244.0.7:8080".parse().unwrap()];
        assert_eq!(http.endpoints, want, "not-ready endpoints are left out");
        assert!(s.ports[1].endpoints.is_empty(), "no slice port for dns");
        assert_eq!(node_ports(&svc), vec![(30080, "10.96.0.20:80".parse().unwrap())]);
        let headless = json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": []}});
        assert_eq!(translate(&headless, None).unwrap().address, ServiceAddress::Headless);
        let pending = json!({"metadata": {"name": "x"}, "spec": {"ports": []}});
        assert!(translate(&pending, None).is_none(), "no cluster IP yet");
    }
}
