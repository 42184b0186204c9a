//! The pod network namespace, in the WASI layer (the pause container's job, without one).
//!
//! Every pod has one pod IP and one port space shared by all its components. Guests see only
//! virtual addresses: their pod IP, 127.0.0.1, other pods' IPs, Services' cluster IPs and
//! cluster names. The host never configures those addresses anywhere: every socket a guest opens is a
//! real socket on the host's loopback, and this module translates at the `wasi:sockets` calls:
//!
//! - `bind(podIP|0.0.0.0|127.0.0.1 : P)` reserves P in the pod's port space and binds the real
//!   socket to `127.0.0.1:0`; the pair (pod, P) -> real address is published to the node.
//! - `connect(V)` asks the node where V really is ([`PodNetwork::route`]): a sibling's listener
//!   (127.0.0.1:P or podIP:P), another pod's listener (otherPodIP:P), or a real address the pod's
//!   egress policy allows; everything else is refused.
//! - `local-address`, `remote-address`, `accept` and UDP `receive` report virtual addresses.
//!
//! The real socket work (non-blocking I/O, streams, pollables) is wasmtime-wasi's own: our
//! host types wrap its `WasiSocketsCtxView` and delegate after translating ([`tcp`], [`udp`]).
//! As a second line of defence the wrapped context's address check admits only loopback and
//! egress-allowed addresses, so a translation bug can never send a packet to a virtual address.
//!
//! # Layout
//! - [`node`]: [`NodeNetwork`], the node-local [`PodNetwork`]: port tables of the pods on this
//!   node, peer names for reverse mapping, egress policy, name lookup.
//! - [`services`]: Services — a connect to a cluster IP picks a ready endpoint then and there
//!   (round robin, or sticky per client pod with ClientIP affinity); cluster names resolve.
//! - [`view`]: per-Store state ([`PodNet`]) and the wrapper view ([`PodSockets`]).
//! - [`tcp`], [`udp`], [`lookup`]: the `wasi:sockets` host traits over the wrapper.
//! - [`add_to_linker`]: links all `wasi:sockets` interfaces to the wrapper.
//! - [`forward_host_port`], [`forward_node_port`]: a hostPort (into a pod's port) and a
//!   NodePort (into a Service), forwarding host connections into the pod network.
//! - [`LocalHttp`]: an HTTP container's handler registered next to its listener, so the
//!   ingress can hand a request over in-process instead of through the socket.

pub(crate) mod host_port;
mod http;
mod linker;
mod lookup;
pub mod node;
pub mod services;
mod tcp;
mod udp;
pub mod view;

pub use host_port::{forward_host_port, forward_node_port};
pub use http::PodHttpHooks;
pub use linker::add_to_linker;
pub use lookup::host_lookup;
pub use node::{ConnectPolicy, EgressPolicy, LocalBody, LocalHttp, LocalResponse, NodeNetwork, PodDns};
pub use services::{Resolved, Service, ServiceAddress, ServicePort};
pub use view::{PodNet, PodSockets};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
/// Why a name lookup failed, as `wasi:sockets` says it ([`host_lookup`]'s error).
pub use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode as LookupCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

/// Where one datagram of a flow goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// The real address to send to.
    pub real: SocketAddr,
    /// Whether the destination was a Service (replies from `real` are the Service's).
    pub service: bool,
}

/// Why the pod network refused something; each maps to the `wasi:sockets` error a guest sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("{0} is already in use in this pod")]
    AddressInUse(u16),
    #[error("{0} is not an address of this pod")]
    NotBindable(IpAddr),
    #[error("connection to {0} refused: nothing listens there")]
    Refused(SocketAddr),
    #[error("{0} is outside the cluster and the pod's egress policy does not allow it")]
    Denied(SocketAddr),
    #[error("the pod has no free ephemeral port")]
    Exhausted,
    #[error("IPv6 is not part of the pod network")]
    Ipv6,
}

impl NetError {
    pub fn code(&self) -> ErrorCode {
        match self {
            NetError::AddressInUse(_) | NetError::Exhausted => ErrorCode::AddressInUse,
            NetError::NotBindable(_) => ErrorCode::AddressNotBindable,
            NetError::Refused(_) => ErrorCode::ConnectionRefused,
            NetError::Denied(_) => ErrorCode::AccessDenied,
            NetError::Ipv6 => ErrorCode::NotSupported,
        }
    }
}

/// Name lookup failures, as `wasi:sockets/ip-name-lookup` reports them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("{0}: no such host in the cluster")]
    NameUnresolvable(String),
    #[error("{0}: not a valid host name")]
    InvalidArgument(String),
    /// Not a cluster name, and the pod may reach some real addresses: the host's resolver may
    /// answer it (with only the addresses [`PodNetwork::egress_allows`]).
    #[error("{0}: not a cluster name")]
    Outside(String),
}

/// What the pod network needs from the node. The node agent implements it; [`NodeNetwork`] is
/// the node-local implementation (pods on this node by pod IP). Services and cluster DNS plug
/// in here later. Pods are identified by their pod IP, which is unique in the cluster.
pub trait PodNetwork: Send + Sync + 'static {
    /// Reserve `port` (0 = any free ephemeral port) in `pod`'s port space; returns the port.
    fn reserve(&self, pod: Ipv4Addr, proto: Proto, port: u16) -> Result<u16, NetError>;
    /// The real socket behind (`pod`, `port`) is bound at `host`. `loopback_only` when the
    /// guest bound 127.0.0.1 (then only the pod's own components may reach it).
    fn publish(&self, pod: Ipv4Addr, proto: Proto, port: u16, host: SocketAddr, loopback_only: bool);
    /// Give `port` back (the socket was dropped).
    fn release(&self, pod: Ipv4Addr, proto: Proto, port: u16);
    /// Where a connection or datagram from `pod` to the virtual address `to` really goes.
    fn route(&self, pod: Ipv4Addr, proto: Proto, to: SocketAddr) -> Result<SocketAddr, NetError>;
    /// [`PodNetwork::route`] for the next datagram of a flow: a Service keeps the endpoint the
    /// flow was `pinned` to (its real address) while that is still one of its live endpoints,
    /// as conntrack keeps a UDP flow, and picks anew once it is gone.
    fn route_flow(
        &self,
        pod: Ipv4Addr,
        proto: Proto,
        to: SocketAddr,
        pinned: Option<SocketAddr>,
    ) -> Result<Flow, NetError>;
    /// The real address `host` belongs to virtual `addr` (so an accepting pod sees who called).
    fn name_peer(&self, proto: Proto, host: SocketAddr, addr: SocketAddr);
    fn forget_peer(&self, proto: Proto, host: SocketAddr);
    /// The virtual address behind a real peer address, if it is a pod's.
    fn reverse(&self, proto: Proto, host: SocketAddr) -> Option<SocketAddr>;
    /// Resolve a host name for `pod`.
    fn lookup(&self, pod: Ipv4Addr, name: &str) -> Result<Vec<IpAddr>, LookupError>;
    /// Whether a real (non-cluster) address is one pods may reach at all.
    fn egress_allows(&self, ip: IpAddr) -> bool;
}
