//! The node-local pod network: the port tables of the pods on this node, and the Services
//! (cluster IPs balanced over ready endpoints, cluster names) the node agent programs.

use super::services::{Resolved, Service, ServiceTable};
use super::{Flow, LookupError, NetError, PodNetwork, Proto};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};

/// Which real (non-cluster) addresses pods may reach. Empty = none (the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EgressPolicy {
    allowed: Vec<(Ipv4Addr, u8)>,
}

impl EgressPolicy {
    /// Allow a CIDR, e.g. `("127.0.0.1".parse()?, 32)` for a host service a test runs.
    pub fn allow(mut self, net: Ipv4Addr, prefix: u8) -> Self {
        self.allowed.push((net, prefix.min(32)));
        self
    }

    /// Whether no real address is allowed at all (the default).
    pub fn is_closed(&self) -> bool {
        self.allowed.is_empty()
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let IpAddr::V4(ip) = ip else { return false };
        self.allowed.iter().any(|(net, prefix)| {
            let mask = if *prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
            u32::from(ip) & mask == u32::from(*net) & mask
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Port {
    /// Bind in progress: the port is taken, nothing to route to yet.
    Reserved,
    Published {
        host: SocketAddr,
        loopback_only: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Cidr {
    network: u32,
    mask: u32,
}

impl Cidr {
    fn new(ip: Ipv4Addr, prefix: u8) -> Self {
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
        Cidr { network: u32::from(ip) & mask, mask }
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask == self.network
    }
}

/// A pod on this node, as name lookups need it.
struct PodEntry {
    hostname: String,
    namespace: String,
}

#[derive(Default)]
struct State {
    /// Every pod on this node, by pod IP.
    pods: HashMap<Ipv4Addr, PodEntry>,
    services: ServiceTable,
    /// The cluster's virtual networks (pod CIDR, service CIDR).
    virtual_ranges: Vec<Cidr>,
    ports: HashMap<(Ipv4Addr, Proto, u16), Port>,
    next_ephemeral: HashMap<(Ipv4Addr, Proto), u16>,
    peers: HashMap<(Proto, SocketAddr), SocketAddr>,
    /// Pods whose published TCP ports someone follows ([`NodeNetwork::watch_tcp`]).
    tcp_watchers: HashMap<Ipv4Addr, tokio::sync::watch::Sender<()>>,
}

impl State {
    fn ports_changed(&self, pod: Ipv4Addr, proto: Proto) {
        if proto == Proto::Tcp
            && let Some(watch) = self.tcp_watchers.get(&pod)
        {
            watch.send_replace(());
        }
    }
}

/// Ephemeral ports, as Linux's default `ip_local_port_range`.
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Whether one pod may connect to another pod's port: the cluster's NetworkPolicies, which the
/// node agent keeps. `from` is the client pod's IP, or for a connection from outside the pod
/// network (a NodePort, the ingress) the client's real address. Without one, everything is
/// allowed.
pub trait ConnectPolicy: Send + Sync + 'static {
    fn allows(&self, from: Ipv4Addr, to: Ipv4Addr, proto: Proto, port: u16) -> bool;
}

/// What an HTTP component answers a request with.
pub type LocalResponse = hyper::Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>;
/// The body of a request handed to an HTTP component in-process.
pub type LocalBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, hyper::Error>;

/// An HTTP container's request handler, callable without a socket: the ingress hands a request
/// to it in-process when the endpoint it picked is served by one on this node.
pub trait LocalHttp: Send + Sync + 'static {
    fn call(
        &self,
        req: hyper::Request<LocalBody>,
    ) -> std::pin::Pin<Box<dyn Future<Output = LocalResponse> + Send>>;
}

/// Cluster DNS for the OCI containers of a pod: the node agent's DNS server, answering on
/// sockets the runtime made inside the pod's network namespace.
pub trait PodDns: Send + Sync + 'static {
    /// Answer queries on these sockets until the returned task is aborted.
    fn serve(&self, udp: tokio::net::UdpSocket, tcp: tokio::net::TcpListener) -> tokio::task::JoinHandle<()>;
}

#[derive(Default)]
pub struct NodeNetwork {
    state: Mutex<State>,
    egress: EgressPolicy,
    policy: std::sync::RwLock<Option<Arc<dyn ConnectPolicy>>>,
    /// HTTP containers' handlers, by the real address of the listener they also serve.
    local_http: std::sync::RwLock<HashMap<SocketAddr, Arc<dyn LocalHttp>>>,
    pod_dns: std::sync::OnceLock<Arc<dyn PodDns>>,
}

impl NodeNetwork {
    pub fn new(egress: EgressPolicy) -> Self {
        NodeNetwork {
            state: Mutex::default(),
            egress,
            policy: Default::default(),
            local_http: Default::default(),
            pod_dns: Default::default(),
        }
    }

    /// Who answers DNS inside OCI pods' namespaces (set once, by the node agent).
    pub fn set_pod_dns(&self, dns: Arc<dyn PodDns>) {
        let _ = self.pod_dns.set(dns);
    }

    pub(crate) fn pod_dns(&self) -> Option<Arc<dyn PodDns>> {
        self.pod_dns.get().cloned()
    }

    /// The networks a pod may address at all, as (address, prefix): the cluster's virtual
    /// ranges, then what egress allows outside loopback. Inside an OCI pod's namespace these
    /// are the only destinations with a route, and every connect to one is handed to us.
    pub(crate) fn addressable(&self) -> Vec<(Ipv4Addr, u8)> {
        let prefix = |c: &Cidr| u8::try_from(c.mask.count_ones()).expect("a mask has at most 32 ones");
        let mut ranges: Vec<(Ipv4Addr, u8)> =
            self.lock().virtual_ranges.iter().map(|c| (Ipv4Addr::from(c.network), prefix(c))).collect();
        for &(net, len) in &self.egress.allowed {
            let c = Cidr::new(net, len);
            if !Cidr::new(Ipv4Addr::LOCALHOST, 8).contains(Ipv4Addr::from(c.network)) {
                ranges.push((Ipv4Addr::from(c.network), prefix(&c)));
            }
        }
        ranges.sort();
        ranges.dedup();
        ranges
    }

    /// A client from outside the pod network as routing sees it: its real IPv4 address (so
    /// NetworkPolicy ipBlock peers and ClientIP affinity tell clients apart, as with upstream's
    /// `externalTrafficPolicy: Local`) — or 0.0.0.0 for an IPv6 client or one whose address
    /// falls in the cluster's virtual ranges (it must never pass for a pod).
    pub fn outside_client(&self, peer: SocketAddr) -> Ipv4Addr {
        let ip = match peer.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        if self.lock().virtual_ranges.iter().any(|r| r.contains(ip)) { Ipv4Addr::UNSPECIFIED } else { ip }
    }

    /// Whether names outside the cluster are looked up with the host's resolver: only when pods
    /// may reach some real addresses.
    pub fn forwards_lookups(&self) -> bool {
        !self.egress.is_closed()
    }

    /// The HTTP container listening at the real address `host` also takes requests in-process.
    pub fn serve_local(&self, host: SocketAddr, handler: Arc<dyn LocalHttp>) {
        self.local_http.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(host, handler);
    }

    /// Unregister `handler` at `host` (only that one: the address may serve another by now).
    pub fn stop_local(&self, host: SocketAddr, handler: &Arc<dyn LocalHttp>) {
        let mut local = self.local_http.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if local.get(&host).is_some_and(|current| Arc::ptr_eq(current, handler)) {
            local.remove(&host);
        }
    }

    /// The in-process handler behind a real address [`PodNetwork::route`] chose, if any.
    pub fn local_http(&self, host: SocketAddr) -> Option<Arc<dyn LocalHttp>> {
        self.local_http.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&host).cloned()
    }

    /// A pod joins the node's network with its IP, hostname and namespace.
    pub fn add_pod(&self, ip: Ipv4Addr, hostname: &str, namespace: &str) {
        let entry = PodEntry { hostname: hostname.to_string(), namespace: namespace.to_string() };
        self.lock().pods.insert(ip, entry);
    }

    /// The cluster's virtual networks (the pod and service CIDRs): an address in them is only
    /// ever a pod or a Service, never a real destination, even where egress allows its range.
    pub fn set_virtual_ranges(&self, ranges: &[(Ipv4Addr, u8)]) {
        self.lock().virtual_ranges = ranges.iter().map(|(ip, prefix)| Cidr::new(*ip, *prefix)).collect();
    }

    /// Enforce `policy` on every connect and datagram between pods from now on.
    pub fn set_policy(&self, policy: Arc<dyn ConnectPolicy>) {
        *self.policy.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(policy);
    }

    fn allowed(&self, from: Ipv4Addr, to: Ipv4Addr, proto: Proto, port: u16) -> bool {
        let policy = self.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        policy.as_ref().is_none_or(|p| p.allows(from, to, proto, port))
    }

    /// Program a Service (replacing what was known of it).
    pub fn set_service(&self, svc: Service) {
        self.lock().services.set(svc);
    }

    pub fn remove_service(&self, namespace: &str, name: &str) {
        self.lock().services.remove(namespace, name);
    }

    /// One Service, as last programmed (for the ingress and the DNS server).
    pub fn service(&self, namespace: &str, name: &str) -> Option<Arc<Service>> {
        self.lock().services.get(namespace, name)
    }

    /// A cluster name as a pod in `namespace` would resolve it (the DNS server's view).
    pub fn resolve(&self, namespace: &str, name: &str) -> Option<Resolved> {
        self.lock().services.resolve(namespace, name)
    }

    /// A pod leaves: its ports and peer names go with it.
    pub fn remove_pod(&self, ip: Ipv4Addr) {
        let mut s = self.lock();
        s.pods.remove(&ip);
        s.ports.retain(|(pod, _, _), _| *pod != ip);
        s.next_ephemeral.retain(|(pod, _), _| *pod != ip);
        s.peers.retain(|_, v| v.ip() != IpAddr::V4(ip));
        s.tcp_watchers.remove(&ip);
    }

    /// Told whenever `pod` publishes or releases a TCP port; closed when the pod leaves.
    pub(crate) fn watch_tcp(&self, pod: Ipv4Addr) -> tokio::sync::watch::Receiver<()> {
        self.lock().tcp_watchers.entry(pod).or_insert_with(|| tokio::sync::watch::channel(()).0).subscribe()
    }

    /// Every TCP port `pod` has published, with the real address behind it.
    pub fn published_tcp(&self, pod: Ipv4Addr) -> Vec<(u16, SocketAddr)> {
        let s = self.lock();
        let ports = s.ports.iter().filter(|((ip, proto, _), _)| *ip == pod && *proto == Proto::Tcp);
        ports
            .filter_map(|((_, _, port), p)| match p {
                Port::Published { host, .. } => Some((*port, *host)),
                Port::Reserved => None,
            })
            .collect()
    }

    /// Where a host-side client reaches (`pod`, `port`): used for hostPort and by tests.
    pub fn host_addr(&self, pod: Ipv4Addr, proto: Proto, port: u16) -> Option<SocketAddr> {
        match self.lock().ports.get(&(pod, proto, port)) {
            Some(Port::Published { host, .. }) => Some(*host),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps, still consistent enough to serve.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PodNetwork for NodeNetwork {
    fn reserve(&self, pod: Ipv4Addr, proto: Proto, port: u16) -> Result<u16, NetError> {
        use std::collections::hash_map::Entry;
        let mut s = self.lock();
        if port != 0 {
            return match s.ports.entry((pod, proto, port)) {
                Entry::Occupied(_) => Err(NetError::AddressInUse(port)),
                Entry::Vacant(v) => {
                    v.insert(Port::Reserved);
                    Ok(port)
                }
            };
        }
        let start = *s.next_ephemeral.get(&(pod, proto)).unwrap_or(EPHEMERAL.start());
        let span = u32::from(EPHEMERAL.end() - EPHEMERAL.start()) + 1;
        for step in 0..span {
            let offset = (u32::from(start - EPHEMERAL.start()) + step) % span;
            let candidate = EPHEMERAL.start() + u16::try_from(offset).expect("offset < span <= u16 range");
            if let Entry::Vacant(v) = s.ports.entry((pod, proto, candidate)) {
                v.insert(Port::Reserved);
                let next = if candidate == *EPHEMERAL.end() { *EPHEMERAL.start() } else { candidate + 1 };
                s.next_ephemeral.insert((pod, proto), next);
                return Ok(candidate);
            }
        }
        Err(NetError::Exhausted)
    }

    fn publish(&self, pod: Ipv4Addr, proto: Proto, port: u16, host: SocketAddr, loopback_only: bool) {
        let mut s = self.lock();
        s.ports.insert((pod, proto, port), Port::Published { host, loopback_only });
        s.ports_changed(pod, proto);
    }

    fn release(&self, pod: Ipv4Addr, proto: Proto, port: u16) {
        let mut s = self.lock();
        if let Some(Port::Published { .. }) = s.ports.remove(&(pod, proto, port)) {
            s.ports_changed(pod, proto);
        }
    }

    fn route(&self, pod: Ipv4Addr, proto: Proto, to: SocketAddr) -> Result<SocketAddr, NetError> {
        self.route_flow(pod, proto, to, None).map(|flow| flow.real)
    }

    fn route_flow(
        &self,
        pod: Ipv4Addr,
        proto: Proto,
        to: SocketAddr,
        pinned: Option<SocketAddr>,
    ) -> Result<Flow, NetError> {
        let IpAddr::V4(ip) = to.ip() else { return Err(NetError::Ipv6) };
        let mut s = self.lock();
        if s.services.is_service_ip(ip) {
            // A Service: one ready endpoint that something listens on, chosen now (or kept).
            let State { services, ports, .. } = &mut *s;
            let listening = |e: SocketAddrV4| -> Option<SocketAddr> {
                match ports.get(&(*e.ip(), proto, e.port())) {
                    Some(Port::Published { host, loopback_only: false }) => Some(*host),
                    _ => None,
                }
            };
            let live =
                |e: SocketAddrV4| listening(e).is_some() && self.allowed(pod, *e.ip(), proto, e.port());
            let kept = pinned.filter(|p| {
                services.endpoints(ip, proto, to.port()).iter().any(|e| listening(*e) == Some(*p) && live(*e))
            });
            let real = match kept {
                Some(real) => Some(real),
                None => services.pick(pod, ip, proto, to.port(), live).and_then(listening),
            };
            return real.map(|real| Flow { real, service: true }).ok_or(NetError::Refused(to));
        }
        drop(s);
        self.route_direct(pod, proto, to, ip).map(|real| Flow { real, service: false })
    }

    fn name_peer(&self, proto: Proto, host: SocketAddr, addr: SocketAddr) {
        self.lock().peers.insert((proto, host), addr);
    }

    fn forget_peer(&self, proto: Proto, host: SocketAddr) {
        self.lock().peers.remove(&(proto, host));
    }

    fn reverse(&self, proto: Proto, host: SocketAddr) -> Option<SocketAddr> {
        self.lock().peers.get(&(proto, host)).copied()
    }

    fn lookup(&self, pod: Ipv4Addr, name: &str) -> Result<Vec<IpAddr>, LookupError> {
        let name = name.trim_end_matches('.');
        if name.is_empty() || name.len() > 253 {
            return Err(LookupError::InvalidArgument(name.into()));
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        if name.eq_ignore_ascii_case("localhost") {
            return Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        }
        self.lookup_cluster(pod, name, 0)
    }

    fn egress_allows(&self, ip: IpAddr) -> bool {
        let IpAddr::V4(v4) = ip else { return false };
        let virtual_range = self.lock().virtual_ranges.iter().any(|r| r.contains(v4));
        !virtual_range && self.egress.allows(ip)
    }
}

fn in_cluster_domain(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == super::services::CLUSTER_DOMAIN
        || name.ends_with(&format!(".{}", super::services::CLUSTER_DOMAIN))
}

/// How many ExternalName aliases a lookup follows before giving up (a loop of them).
const MAX_ALIASES: usize = 8;

impl NodeNetwork {
    /// A pod or a real address (not a Service).
    fn route_direct(
        &self,
        pod: Ipv4Addr,
        proto: Proto,
        to: SocketAddr,
        ip: Ipv4Addr,
    ) -> Result<SocketAddr, NetError> {
        let s = self.lock();
        let (target, same_pod) = if ip.is_loopback() || ip.is_unspecified() || ip == pod {
            (pod, true)
        } else if s.pods.contains_key(&ip) {
            (ip, false)
        } else if s.virtual_ranges.iter().any(|r| r.contains(ip)) {
            // A pod or service address nothing here answers for (not yet programmed, or just
            // gone): refused, never passed on as a real address whatever the egress policy.
            return Err(NetError::Refused(to));
        } else if self.egress.allows(to.ip()) {
            // A real address: the node's egress policy, then the pod's NetworkPolicies (ipBlock).
            drop(s);
            return if self.allowed(pod, ip, proto, to.port()) { Ok(to) } else { Err(NetError::Denied(to)) };
        } else {
            return Err(NetError::Denied(to));
        };
        if !same_pod && !self.allowed(pod, target, proto, to.port()) {
            return Err(NetError::Denied(to));
        }
        match s.ports.get(&(target, proto, to.port())) {
            Some(Port::Published { host, loopback_only }) if same_pod || !loopback_only => Ok(*host),
            _ => Err(NetError::Refused(to)),
        }
    }

    fn lookup_cluster(&self, pod: Ipv4Addr, name: &str, aliases: usize) -> Result<Vec<IpAddr>, LookupError> {
        let unresolvable = || LookupError::NameUnresolvable(name.into());
        let resolved = {
            let s = self.lock();
            let entry = s.pods.get(&pod);
            if entry.is_some_and(|e| e.hostname.eq_ignore_ascii_case(name)) {
                return Ok(vec![IpAddr::V4(pod)]);
            }
            s.services.resolve(entry.map_or("default", |e| e.namespace.as_str()), name)
        };
        match resolved {
            Some(Resolved::Ips(ips)) if !ips.is_empty() => Ok(ips.into_iter().map(IpAddr::V4).collect()),
            // An ExternalName: follow it, out of the cluster too.
            Some(Resolved::Alias(target)) if aliases < MAX_ALIASES => {
                self.lookup_cluster(pod, &target, aliases + 1).map_err(|e| match e {
                    LookupError::Outside(_) => e,
                    _ => unresolvable(),
                })
            }
            // Not the cluster's: the host's resolver may answer, if the pod may reach anything
            // real at all. Nothing under the cluster domain ever leaves.
            None if !self.egress.is_closed() && !in_cluster_domain(name) => {
                Err(LookupError::Outside(name.into()))
            }
            _ => Err(unresolvable()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 3);

    fn host(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    #[test]
    fn pods_have_separate_port_spaces_and_reach_each_other_by_ip() {
        let n = NodeNetwork::default();
        n.add_pod(A, "a", "default");
        n.add_pod(B, "b", "default");
        assert_eq!(n.reserve(A, Proto::Tcp, 8080), Ok(8080));
        assert_eq!(n.reserve(B, Proto::Tcp, 8080), Ok(8080), "same port in another pod");
        assert_eq!(n.reserve(A, Proto::Tcp, 8080), Err(NetError::AddressInUse(8080)));
        n.publish(A, Proto::Tcp, 8080, host(40001), false);
        n.publish(B, Proto::Tcp, 8080, host(40002), false);
        let to = |ip: Ipv4Addr| SocketAddr::from((ip, 8080));
        assert_eq!(n.route(A, Proto::Tcp, to(Ipv4Addr::LOCALHOST)), Ok(host(40001)));
        assert_eq!(n.route(A, Proto::Tcp, to(A)), Ok(host(40001)));
        assert_eq!(n.route(A, Proto::Tcp, to(B)), Ok(host(40002)));
        assert_eq!(n.route(B, Proto::Tcp, to(Ipv4Addr::LOCALHOST)), Ok(host(40002)));
        assert_eq!(n.route(A, Proto::Udp, to(B)), Err(NetError::Refused(to(B))));
    }

    #[test]
    fn loopback_listeners_are_private_and_outside_addresses_need_policy() {
        let n = NodeNetwork::new(EgressPolicy::default().allow(Ipv4Addr::new(192, 0, 2, 0), 24));
        n.add_pod(A, "a", "default");
        n.add_pod(B, "b", "default");
        n.reserve(A, Proto::Tcp, 9000).unwrap();
        n.publish(A, Proto::Tcp, 9000, host(40003), true);
        assert!(n.route(A, Proto::Tcp, SocketAddr::from((Ipv4Addr::LOCALHOST, 9000))).is_ok());
        assert!(matches!(n.route(B, Proto::Tcp, SocketAddr::from((A, 9000))), Err(NetError::Refused(_))));
        let outside = SocketAddr::from((Ipv4Addr::new(192, 0, 2, 7), 80));
        assert_eq!(n.route(A, Proto::Tcp, outside), Ok(outside));
        let denied = SocketAddr::from((Ipv4Addr::new(10, 96, 0, 10), 53));
        assert_eq!(n.route(A, Proto::Tcp, denied), Err(NetError::Denied(denied)));
    }

    #[test]
    fn virtual_addresses_never_leave_even_where_egress_allows_them() {
        let n = NodeNetwork::new(EgressPolicy::default().allow(Ipv4Addr::new(10, 0, 0, 0), 8));
        n.add_pod(A, "a", "default");
        let unprogrammed = SocketAddr::from((Ipv4Addr::new(10, 96, 0, 99), 80));
        let elsewhere = SocketAddr::from((Ipv4Addr::new(10, 1, 2, 3), 80));
        assert_eq!(n.route(A, Proto::Tcp, unprogrammed), Ok(unprogrammed), "before the ranges are known");
        n.set_virtual_ranges(&[(Ipv4Addr::new(10, 244, 0, 0), 16), (Ipv4Addr::new(10, 96, 0, 0), 12)]);
        assert_eq!(n.route(A, Proto::Tcp, unprogrammed), Err(NetError::Refused(unprogrammed)));
        let gone_pod = SocketAddr::from((Ipv4Addr::new(10, 244, 9, 9), 80));
        assert_eq!(n.route(A, Proto::Tcp, gone_pod), Err(NetError::Refused(gone_pod)));
        assert_eq!(n.route(A, Proto::Tcp, elsewhere), Ok(elsewhere), "other 10.x addresses follow egress");
    }

    #[test]
    fn a_policy_decides_pod_to_pod_connects_directly_and_through_services() {
        struct OnlyFrom(Ipv4Addr);
        impl ConnectPolicy for OnlyFrom {
            fn allows(&self, from: Ipv4Addr, _to: Ipv4Addr, _proto: Proto, _port: u16) -> bool {
                from == self.0
            }
        }
        let n = NodeNetwork::default();
        n.add_pod(A, "a", "default");
        n.add_pod(B, "b", "default");
        n.reserve(B, Proto::Tcp, 80).unwrap();
        n.publish(B, Proto::Tcp, 80, host(40010), false);
        n.set_policy(Arc::new(OnlyFrom(Ipv4Addr::new(10, 244, 0, 77))));
        let to_b = SocketAddr::from((B, 80));
        assert_eq!(n.route(A, Proto::Tcp, to_b), Err(NetError::Denied(to_b)));
        assert_eq!(
            n.route(B, Proto::Tcp, SocketAddr::from((Ipv4Addr::LOCALHOST, 80))),
            Ok(host(40010)),
            "own pod"
        );
        n.set_policy(Arc::new(OnlyFrom(A)));
        assert_eq!(n.route(A, Proto::Tcp, to_b), Ok(host(40010)));
    }

    #[test]
    fn ephemeral_ports_are_unique_and_removal_frees_everything() {
        let n = NodeNetwork::default();
        n.add_pod(A, "a", "default");
        let p1 = n.reserve(A, Proto::Tcp, 0).unwrap();
        let p2 = n.reserve(A, Proto::Tcp, 0).unwrap();
        assert!(EPHEMERAL.contains(&p1) && p1 != p2);
        n.name_peer(Proto::Tcp, host(5), SocketAddr::from((A, p1)));
        n.remove_pod(A);
        assert_eq!(n.reverse(Proto::Tcp, host(5)), None);
        assert_eq!(n.reserve(A, Proto::Tcp, p1), Ok(p1));
    }

    #[test]
    fn lookup_knows_localhost_own_hostname_and_literals() {
        let n = NodeNetwork::default();
        n.add_pod(A, "web-1", "default");
        assert_eq!(n.lookup(A, "localhost"), Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]));
        assert_eq!(n.lookup(A, "web-1"), Ok(vec![IpAddr::V4(A)]));
        assert_eq!(n.lookup(A, "10.244.0.3"), Ok(vec![IpAddr::V4(B)]));
        assert!(matches!(n.lookup(A, "example.com"), Err(LookupError::NameUnresolvable(_))));
    }

    #[test]
    fn names_outside_the_cluster_go_to_the_host_resolver_only_when_egress_allows_something() {
        let open = NodeNetwork::new(EgressPolicy::default().allow(Ipv4Addr::new(192, 0, 2, 0), 24));
        open.add_pod(A, "a", "default");
        open.set_virtual_ranges(&[(Ipv4Addr::new(10, 96, 0, 0), 12)]);
        assert_eq!(open.lookup(A, "example.com"), Err(LookupError::Outside("example.com".into())));
        assert!(
            matches!(open.lookup(A, "nope.default.svc.cluster.local"), Err(LookupError::NameUnresolvable(_))),
            "cluster names never leave"
        );
        assert!(open.egress_allows(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9))));
        assert!(!open.egress_allows(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))));
        let closed = NodeNetwork::default();
        closed.add_pod(A, "a", "default");
        assert!(matches!(closed.lookup(A, "example.com"), Err(LookupError::NameUnresolvable(_))));
    }
}
