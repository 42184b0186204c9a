//! Per-Store pod network state and the view the `wasi:sockets` host traits are implemented on.

use super::{NetError, PodNetwork, Proto};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtx, WasiSocketsCtxView};

/// What we know of one guest socket: its virtual addresses and what to give back on drop.
#[derive(Debug, Default, Clone)]
pub(crate) struct SocketMeta {
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// A port reserved in the pod's port space.
    pub port: Option<u16>,
    /// The real local address this socket was named under, for the peer to see.
    pub named: Option<SocketAddr>,
    /// UDP: the socket's streams are "connected" to `remote` (the real socket never is).
    pub emulated: bool,
    /// UDP: the real address each virtual destination's flow goes to (a Service's is pinned to
    /// its endpoint while that lives); replies from it are reported as from the destination.
    pub flows: HashMap<SocketAddr, SocketAddr>,
}

/// One component instance's view of its pod's network (one per Store).
pub struct PodNet {
    ip: Ipv4Addr,
    net: Arc<dyn PodNetwork>,
    sockets: HashMap<(Proto, u32), SocketMeta>,
    /// A UDP datagram stream's socket (stream handle -> socket handle).
    datagram_streams: HashMap<u32, u32>,
}

impl PodNet {
    pub fn new(ip: Ipv4Addr, net: Arc<dyn PodNetwork>) -> Self {
        PodNet { ip, net, sockets: HashMap::new(), datagram_streams: HashMap::new() }
    }

    /// Note the UDP socket behind a datagram stream.
    pub(crate) fn add_datagram_stream(&mut self, stream: u32, socket: u32) {
        self.datagram_streams.insert(stream, socket);
    }

    pub(crate) fn drop_datagram_stream(&mut self, stream: u32) {
        self.datagram_streams.remove(&stream);
    }

    /// The UDP socket a datagram stream belongs to.
    pub(crate) fn datagram_socket(&mut self, stream: u32) -> Option<&mut SocketMeta> {
        let socket = *self.datagram_streams.get(&stream)?;
        self.sockets.get_mut(&(Proto::Udp, socket))
    }

    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    pub(crate) fn net(&self) -> &dyn PodNetwork {
        &*self.net
    }

    /// The network itself, for work that outlives the call (a lookup by the host's resolver).
    pub(crate) fn shared_net(&self) -> Arc<dyn PodNetwork> {
        self.net.clone()
    }

    pub(crate) fn meta(&mut self, proto: Proto, rep: u32) -> &mut SocketMeta {
        self.sockets.entry((proto, rep)).or_default()
    }

    pub(crate) fn get(&self, proto: Proto, rep: u32) -> Option<&SocketMeta> {
        self.sockets.get(&(proto, rep))
    }

    /// Forget a socket, giving back its port and peer name.
    pub(crate) fn forget(&mut self, proto: Proto, rep: u32) {
        if let Some(meta) = self.sockets.remove(&(proto, rep)) {
            self.release(proto, &meta);
        }
    }

    fn release(&self, proto: Proto, meta: &SocketMeta) {
        if let Some(port) = meta.port {
            self.net.release(self.ip, proto, port);
        }
        if let Some(host) = meta.named {
            self.net.forget_peer(proto, host);
        }
    }

    /// The virtual form of an address a guest gave for `bind`: which port, and whether only
    /// the pod itself may reach it.
    pub(crate) fn bindable(&self, addr: SocketAddr) -> Result<bool, NetError> {
        match addr.ip() {
            std::net::IpAddr::V4(ip) if ip.is_loopback() => Ok(true),
            std::net::IpAddr::V4(ip) if ip.is_unspecified() || ip == self.ip => Ok(false),
            std::net::IpAddr::V4(ip) => Err(NetError::NotBindable(ip.into())),
            std::net::IpAddr::V6(_) => Err(NetError::Ipv6),
        }
    }
}

impl Drop for PodNet {
    /// The Store is gone, and with it every socket: give back whatever was not dropped.
    fn drop(&mut self) {
        for ((proto, _), meta) in std::mem::take(&mut self.sockets) {
            self.release(proto, &meta);
        }
    }
}

/// The wrapper view: wasmtime-wasi's sockets context (which does the real I/O on loopback) and
/// the pod's network state (which translates addresses).
pub struct PodSockets<'a> {
    pub(crate) inner: WasiSocketsCtxView<'a>,
    pub(crate) pod: &'a mut PodNet,
}

impl<'a> PodSockets<'a> {
    pub fn new(ctx: &'a mut WasiSocketsCtx, table: &'a mut ResourceTable, pod: &'a mut PodNet) -> Self {
        PodSockets { inner: WasiSocketsCtxView { ctx, table }, pod }
    }
}

/// The `HasData` marker for linking `wasi:sockets` to [`PodSockets`].
pub struct HasPodSockets;

impl HasData for HasPodSockets {
    type Data<'a> = PodSockets<'a>;
}

/// Set up the wrapped wasmtime-wasi context: TCP and UDP on, its own name lookup off (ours
/// answers), and an address check that admits only loopback and egress-allowed addresses
/// outside the cluster's virtual ranges — the last line of defence that keeps virtual cluster
/// addresses off the wire, whatever egress allows.
pub fn configure(builder: &mut WasiCtxBuilder, net: Arc<dyn PodNetwork>) {
    builder.allow_tcp(true).allow_udp(true).allow_ip_name_lookup(false);
    builder.socket_addr_check(move |addr, used| {
        // wasmtime-wasi checks the implicit bind before a connect as `0.0.0.0:0`; a wildcard
        // bind sends nothing, so it is fine for binds, never as a destination.
        let wildcard_bind =
            addr.ip().is_unspecified() && matches!(used, SocketAddrUse::TcpBind | SocketAddrUse::UdpBind);
        let ok = wildcard_bind || addr.ip().is_loopback() || net.egress_allows(addr.ip());
        Box::pin(async move { ok })
    });
}

pub(crate) fn refused(e: NetError) -> SocketError {
    tracing::debug!(error = %e, "pod network refused");
    e.code().into()
}
