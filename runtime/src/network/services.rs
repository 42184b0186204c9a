//! Services in the pod network — kube-proxy's job, done at the socket calls: a connect to a
//! Service's virtual cluster IP picks one ready endpoint at that moment, and cluster names
//! resolve without a DNS round trip, as CoreDNS answers them: `svc.ns.svc.cluster.local`,
//! `a-b-c-d.ns.pod.cluster.local`, and for headless Services each ready endpoint as
//! `hostname.svc.ns.svc.cluster.local` (a StatefulSet's pods) or `a-b-c-d.svc.ns.svc...`;
//! shorter names go through the pod's search path (`ns.svc.cluster.local`, `svc.cluster.local`,
//! `cluster.local`). Nothing here is ever a real address: a chosen endpoint is a pod IP
//! and port, which the node's port table turns into the loopback socket behind it.

use super::Proto;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many affinity entries are kept before expired ones are swept.
const STICKY_SWEEP: usize = 4096;

/// The cluster's DNS domain.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// How a Service is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAddress {
    /// A virtual IP, balanced over the ready endpoints.
    ClusterIp(Ipv4Addr),
    /// `clusterIP: None`: the name resolves to the ready endpoints' pod IPs.
    Headless,
    /// `type: ExternalName`: the name stands for another name.
    ExternalName(String),
}

/// One Service port and the endpoints ready to serve it (pod IP and target port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: String,
    pub proto: Proto,
    pub port: u16,
    pub endpoints: Vec<SocketAddrV4>,
}

/// A Service as the pod network uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub address: ServiceAddress,
    pub ports: Vec<ServicePort>,
    /// `sessionAffinity: ClientIP` with its timeout: a client pod keeps its endpoint while
    /// that stays ready and the client used it within the timeout.
    pub client_affinity: Option<Duration>,
    /// Ready endpoints that publish a hostname (a pod whose `subdomain` names this Service).
    pub hostnames: Vec<(String, Ipv4Addr)>,
}

impl Service {
    /// Every distinct pod IP behind the service (a headless service's A records).
    pub fn endpoint_ips(&self) -> Vec<Ipv4Addr> {
        let by_port = self.ports.iter().flat_map(|p| p.endpoints.iter().map(|e| *e.ip()));
        let mut ips: Vec<Ipv4Addr> = by_port.chain(self.hostnames.iter().map(|(_, ip)| *ip)).collect();
        ips.sort();
        ips.dedup();
        ips
    }
}

#[derive(Default)]
pub(crate) struct ServiceTable {
    by_ip: HashMap<Ipv4Addr, Arc<Service>>,
    by_name: HashMap<(String, String), Arc<Service>>,
    /// Round-robin position per service port.
    turn: HashMap<(Ipv4Addr, Proto, u16), usize>,
    /// (client, service IP, port) -> endpoint, when the client last went there and the
    /// affinity's timeout, for ClientIP affinity. Expired entries are swept as it grows (outside
    /// clients through a NodePort or the ingress are keys too).
    sticky: HashMap<(Ipv4Addr, Ipv4Addr, u16), (SocketAddrV4, Instant, Duration)>,
    /// The size at which `sticky` is next swept (doubling with what survives: amortised O(1)).
    next_sweep: usize,
}

impl ServiceTable {
    pub(crate) fn set(&mut self, svc: Service) {
        // New endpoints for the same address keep the rotation and the sticky choices (a
        // chosen endpoint that went away is not chosen again: `pick` checks).
        let key = (svc.namespace.clone(), svc.name.clone());
        let same_address = self.by_name.get(&key).is_some_and(|old| old.address == svc.address);
        if same_address {
            self.by_name.remove(&key);
        } else {
            self.remove(&svc.namespace, &svc.name);
        }
        let svc = Arc::new(svc);
        if let ServiceAddress::ClusterIp(ip) = svc.address {
            self.by_ip.insert(ip, svc.clone());
        }
        self.by_name.insert((svc.namespace.clone(), svc.name.clone()), svc);
    }

    pub(crate) fn remove(&mut self, namespace: &str, name: &str) {
        if let Some(old) = self.by_name.remove(&(namespace.to_string(), name.to_string()))
            && let ServiceAddress::ClusterIp(ip) = old.address
        {
            self.by_ip.remove(&ip);
            self.turn.retain(|(sip, _, _), _| *sip != ip);
            self.sticky.retain(|(_, sip, _), _| *sip != ip);
        }
    }

    pub(crate) fn is_service_ip(&self, ip: Ipv4Addr) -> bool {
        self.by_ip.contains_key(&ip)
    }

    /// The endpoints of a Service port (ready ones, as last programmed).
    pub(crate) fn endpoints(&self, ip: Ipv4Addr, proto: Proto, port: u16) -> &[SocketAddrV4] {
        let svc = self.by_ip.get(&ip);
        let sp = svc.and_then(|s| s.ports.iter().find(|p| p.proto == proto && p.port == port));
        sp.map_or(&[], |p| p.endpoints.as_slice())
    }

    /// The endpoint a connect from `client` to `ip:port` goes to, among those `reachable`
    /// says something listens on; `None` when no endpoint can take it.
    pub(crate) fn pick(
        &mut self,
        client: Ipv4Addr,
        ip: Ipv4Addr,
        proto: Proto,
        port: u16,
        reachable: impl Fn(SocketAddrV4) -> bool,
    ) -> Option<SocketAddrV4> {
        let svc = self.by_ip.get(&ip)?.clone();
        let sp = svc.ports.iter().find(|p| p.proto == proto && p.port == port)?;
        let live: Vec<SocketAddrV4> = sp.endpoints.iter().copied().filter(|e| reachable(*e)).collect();
        if live.is_empty() {
            return None;
        }
        let sticky_key = (client, ip, port);
        let now = Instant::now();
        if let Some(timeout) = svc.client_affinity
            && let Some((e, used, _)) = self.sticky.get_mut(&sticky_key)
            && live.contains(e)
            && now.duration_since(*used) <= timeout
        {
            *used = now;
            return Some(*e);
        }
        let turn = self.turn.entry((ip, proto, port)).or_insert(0);
        let chosen = live[*turn % live.len()];
        *turn = turn.wrapping_add(1);
        if let Some(timeout) = svc.client_affinity {
            if self.sticky.len() >= self.next_sweep.max(STICKY_SWEEP) {
                self.sticky.retain(|_, (_, used, timeout)| now.duration_since(*used) <= *timeout);
                self.next_sweep = 2 * self.sticky.len();
            }
            self.sticky.insert(sticky_key, (chosen, now, timeout));
        }
        Some(chosen)
    }

    /// Resolve `name` for a pod in `namespace` as cluster DNS would, search path included.
    /// `None` when the name is not the cluster's.
    pub(crate) fn resolve(&self, namespace: &str, name: &str) -> Option<Resolved> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let domain: Vec<&str> = CLUSTER_DOMAIN.split('.').collect();
        if let Some(n) = labels.len().checked_sub(domain.len())
            && labels[n..] == domain[..]
        {
            return self.absolute(&labels[..n]);
        }
        // The kubelet's search path, tried in order (its ndots:5 puts a short name through
        // the search path before it is tried as is, and as is it is not the cluster's).
        let searched: [&[&str]; 3] = [&[namespace, "svc"], &["svc"], &[]];
        searched.iter().find_map(|suffix| self.absolute(&[&labels[..], suffix].concat()))
    }

    /// A name under the cluster domain, given as its labels before `cluster.local`.
    fn absolute(&self, labels: &[&str]) -> Option<Resolved> {
        match labels {
            // `a-b-c-d.ns.pod`
            [ip, _ns, "pod"] => dashed(ip).map(|ip| Resolved::Ips(vec![ip])),
            [svc, ns, "svc"] => self.service_record(ns, svc),
            // One endpoint of a headless Service: by the hostname it publishes, or dashed.
            [host, svc, ns, "svc"] => {
                let svc = self.by_name.get(&(ns.to_string(), svc.to_string()))?;
                if svc.address != ServiceAddress::Headless {
                    return None;
                }
                let named = svc.hostnames.iter().filter(|(h, _)| h == host).map(|(_, ip)| *ip);
                let ips: Vec<Ipv4Addr> = match dashed(host) {
                    Some(ip) => svc.endpoint_ips().into_iter().filter(|e| *e == ip).collect(),
                    None => named.collect(),
                };
                (!ips.is_empty()).then_some(Resolved::Ips(ips))
            }
            _ => None,
        }
    }

    fn service_record(&self, namespace: &str, name: &str) -> Option<Resolved> {
        let svc = self.by_name.get(&(namespace.to_string(), name.to_string()))?;
        Some(match &svc.address {
            ServiceAddress::ClusterIp(ip) => Resolved::Ips(vec![*ip]),
            ServiceAddress::Headless => Resolved::Ips(svc.endpoint_ips()),
            ServiceAddress::ExternalName(target) => Resolved::Alias(target.clone()),
        })
    }

    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<Arc<Service>> {
        self.by_name.get(&(namespace.to_string(), name.to_string())).cloned()
    }
}

/// `10-244-0-5` as the address it spells.
fn dashed(label: &str) -> Option<Ipv4Addr> {
    label.replace('-', ".").parse().ok()
}

/// What a cluster name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Ips(Vec<Ipv4Addr>),
    /// A CNAME (an ExternalName service).
    Alias(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, address: ServiceAddress, endpoints: &[&str]) -> Service {
        Service {
            namespace: "default".into(),
            name: name.into(),
            address,
            ports: vec![ServicePort {
                name: "http".into(),
                proto: Proto::Tcp,
                port: 80,
                endpoints: endpoints.iter().map(|e| e.parse().unwrap()).collect(),
            }],
            client_affinity: None,
            hostnames: Vec::new(),
        }
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 9);

    #[test]
    fn connects_rotate_over_reachable_endpoints_and_affinity_sticks() {
        let mut t = ServiceTable::default();
        t.set(svc("web", ServiceAddress::ClusterIp(VIP), &["10.244.0.2:8080", "10.244.0.3:8080"]));
        let all = |_| true;
        let a = t.pick(CLIENT, VIP, Proto::Tcp, 80, all).unwrap();
        let b = t.pick(CLIENT, VIP, Proto::Tcp, 80, all).unwrap();
        assert_ne!(a, b, "round robin");
        assert_eq!(t.pick(CLIENT, VIP, Proto::Udp, 80, all), None, "no such port");
        let only_b = |e: SocketAddrV4| e == b;
        assert_eq!(t.pick(CLIENT, VIP, Proto::Tcp, 80, only_b), Some(b), "unreachable endpoints are skipped");
        assert_eq!(t.pick(CLIENT, VIP, Proto::Tcp, 80, |_| false), None);
        let mut sticky = svc("web", ServiceAddress::ClusterIp(VIP), &["10.244.0.2:8080", "10.244.0.3:8080"]);
        sticky.client_affinity = Some(Duration::from_secs(3600));
        t.set(sticky.clone());
        let first = t.pick(CLIENT, VIP, Proto::Tcp, 80, all).unwrap();
        for _ in 0..5 {
            assert_eq!(t.pick(CLIENT, VIP, Proto::Tcp, 80, all), Some(first));
        }
        // Idle past the timeout: chosen afresh (round robin moves on).
        sticky.client_affinity = Some(Duration::ZERO);
        t.set(sticky.clone());
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(t.pick(CLIENT, VIP, Proto::Tcp, 80, all), Some(first), "the affinity expired");
        sticky.client_affinity = Some(Duration::from_secs(3600));
        t.set(sticky);
        let first = t.pick(CLIENT, VIP, Proto::Tcp, 80, all).unwrap();
        let other = |e: SocketAddrV4| e != first;
        assert_ne!(t.pick(CLIENT, VIP, Proto::Tcp, 80, other), Some(first), "a gone endpoint is not kept");
        t.remove("default", "web");
        assert!(!t.is_service_ip(VIP));
    }

    #[test]
    fn names_resolve_through_the_search_path() {
        let mut t = ServiceTable::default();
        t.set(svc("web", ServiceAddress::ClusterIp(VIP), &[]));
        t.set(svc("db", ServiceAddress::Headless, &["10.244.0.5:5432", "10.244.0.4:5432"]));
        t.set(svc("ext", ServiceAddress::ExternalName("example.org".into()), &[]));
        let ips = |v: &[Ipv4Addr]| Some(Resolved::Ips(v.to_vec()));
        for name in [
            "web",
            "web.default",
            "web.default.svc",
            "web.default.svc.cluster.local",
            "WEB.default.svc.cluster.local.",
        ] {
            assert_eq!(t.resolve("default", name), ips(&[VIP]), "{name}");
        }
        assert_eq!(t.resolve("other", "web"), None, "the search path is the pod's own namespace");
        assert_eq!(t.resolve("other", "web.default"), ips(&[VIP]));
        assert_eq!(
            t.resolve("default", "db"),
            ips(&[Ipv4Addr::new(10, 244, 0, 4), Ipv4Addr::new(10, 244, 0, 5)])
        );
        assert_eq!(t.resolve("default", "ext"), Some(Resolved::Alias("example.org".into())));
        assert_eq!(
            t.resolve("x", "10-244-0-7.default.pod.cluster.local"),
            ips(&[Ipv4Addr::new(10, 244, 0, 7)])
        );
        assert_eq!(t.resolve("default", "example.org"), None);
    }

    #[test]
    fn a_headless_services_endpoints_have_names_of_their_own() {
        let mut t = ServiceTable::default();
        let mut nginx = svc("nginx", ServiceAddress::Headless, &["10.244.0.5:80", "10.244.0.6:80"]);
        nginx.hostnames = vec![("web-0".into(), Ipv4Addr::new(10, 244, 0, 5))];
        t.set(nginx);
        t.set(svc("web", ServiceAddress::ClusterIp(VIP), &["10.244.0.7:80"]));
        let ip = |last: u8| Some(Resolved::Ips(vec![Ipv4Addr::new(10, 244, 0, last)]));
        for name in ["web-0.nginx.default.svc.cluster.local", "web-0.nginx.default.svc", "web-0.nginx"] {
            assert_eq!(t.resolve("default", name), ip(5), "{name}");
        }
        assert_eq!(t.resolve("other", "web-0.nginx"), None, "through the pod's own namespace only");
        assert_eq!(t.resolve("other", "web-0.nginx.default"), ip(5), "hostname.svc.ns via svc.cluster.local");
        assert_eq!(t.resolve("default", "10-244-0-6.nginx.default.svc.cluster.local"), ip(6));
        assert_eq!(
            t.resolve("default", "10-244-0-9.nginx.default.svc.cluster.local"),
            None,
            "not an endpoint"
        );
        assert_eq!(t.resolve("default", "web-1.nginx"), None);
        assert_eq!(
            t.resolve("default", "10-244-0-7.web"),
            None,
            "a cluster IP service has no endpoint names"
        );
    }
}
