//! `wasi:sockets/udp` for pods: the same translation as TCP, per datagram.
//!
//! Datagrams to a Service are a flow, as conntrack sees them: pinned to the endpoint first
//! chosen while that stays live, moved to another once it is gone (never stuck on a dead pod),
//! and replies from the endpoint are reported as coming from the Service's address. The real
//! socket is never connected (a "connected" stream is kept here: its remote, and only datagrams
//! from it are received), so a flow can move, and the real socket never gives its port up the
//! way a disconnect would.

use super::Proto::Udp;
use super::view::{PodSockets, SocketMeta, refused};
use std::net::{Ipv4Addr, SocketAddr};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::udp::{
    self, HostIncomingDatagramStream, HostOutgoingDatagramStream, HostUdpSocket, IncomingDatagram,
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream,
};
use wasmtime_wasi::p2::bindings::sockets::udp_create_socket;
use wasmtime_wasi::p2::{DynPollable, SocketResult, UdpSocket};

const REAL_BIND: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Service flows one socket keeps pinned at most (a guest sending to ever more Services).
const MAX_FLOWS: usize = 256;

fn again(this: &Resource<UdpSocket>) -> Resource<UdpSocket> {
    Resource::new_borrow(this.rep())
}

impl PodSockets<'_> {
    /// Reserve the virtual port, bind the real socket on loopback, publish, and name it so
    /// receivers see `podIP:port` as the sender.
    async fn bind_udp(
        &mut self,
        this: &Resource<UdpSocket>,
        network: Resource<Network>,
        wanted: SocketAddr,
    ) -> SocketResult<()> {
        let loopback_only = self.pod.bindable(wanted).map_err(refused)?;
        let ip = self.pod.ip();
        let port = self.pod.net().reserve(ip, Udp, wanted.port()).map_err(refused)?;
        let bound = async {
            HostUdpSocket::start_bind(&mut self.inner, again(this), network, REAL_BIND.into()).await?;
            HostUdpSocket::finish_bind(&mut self.inner, again(this))?;
            SocketResult::Ok(SocketAddr::from(HostUdpSocket::local_address(&mut self.inner, again(this))?))
        };
        let real = match bound.await {
            Ok(real) => real,
            Err(e) => {
                self.pod.net().release(ip, Udp, port);
                return Err(e);
            }
        };
        self.pod.net().publish(ip, Udp, port, real, loopback_only);
        self.pod.net().name_peer(Udp, real, SocketAddr::new(ip.into(), port));
        let meta = self.pod.meta(Udp, this.rep());
        meta.local = Some(SocketAddr::new(wanted.ip(), port));
        meta.port = Some(port);
        meta.named = Some(real);
        Ok(())
    }
}

impl udp::Host for PodSockets<'_> {}

impl udp_create_socket::Host for PodSockets<'_> {
    async fn create_udp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<UdpSocket>> {
        if family == IpAddressFamily::Ipv6 {
            return Err(ErrorCode::NotSupported.into());
        }
        udp_create_socket::Host::create_udp_socket(&mut self.inner, family).await
    }
}

impl HostUdpSocket for PodSockets<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<UdpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> SocketResult<()> {
        self.bind_udp(&this, network, local.into()).await
    }

    fn finish_bind(&mut self, this: Resource<UdpSocket>) -> SocketResult<()> {
        match self.pod.get(Udp, this.rep()).and_then(|m| m.port) {
            Some(_) => Ok(()),
            None => Err(ErrorCode::NotInProgress.into()),
        }
    }

    async fn stream(
        &mut self,
        this: Resource<UdpSocket>,
        remote: Option<IpSocketAddress>,
    ) -> SocketResult<(Resource<IncomingDatagramStream>, Resource<OutgoingDatagramStream>)> {
        let wanted = remote.map(SocketAddr::from);
        let flow = match wanted {
            Some(to) => Some((to, self.pod.net().route_flow(self.pod.ip(), Udp, to, None).map_err(refused)?)),
            None => None,
        };
        let (incoming, outgoing) = HostUdpSocket::stream(&mut self.inner, again(&this), None).await?;
        self.pod.add_datagram_stream(incoming.rep(), this.rep());
        self.pod.add_datagram_stream(outgoing.rep(), this.rep());
        let meta = self.pod.meta(Udp, this.rep());
        meta.remote = wanted;
        meta.flows.clear();
        meta.emulated = wanted.is_some();
        if let Some((to, f)) = flow {
            meta.flows.insert(to, f.real);
        }
        Ok((incoming, outgoing))
    }

    fn local_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        HostUdpSocket::local_address(&mut self.inner, again(&this))?;
        let local = self.pod.get(Udp, this.rep()).and_then(|m| m.local);
        local.map(Into::into).ok_or_else(|| ErrorCode::InvalidState.into())
    }

    fn remote_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        if !self.pod.get(Udp, this.rep()).is_some_and(|m| m.emulated) {
            HostUdpSocket::remote_address(&mut self.inner, again(&this))?;
        }
        let remote = self.pod.get(Udp, this.rep()).and_then(|m| m.remote);
        remote.map(Into::into).ok_or_else(|| ErrorCode::InvalidState.into())
    }

    fn address_family(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<IpAddressFamily> {
        HostUdpSocket::address_family(&mut self.inner, this)
    }

    fn unicast_hop_limit(&mut self, this: Resource<UdpSocket>) -> SocketResult<u8> {
        HostUdpSocket::unicast_hop_limit(&mut self.inner, this)
    }

    fn set_unicast_hop_limit(&mut self, this: Resource<UdpSocket>, value: u8) -> SocketResult<()> {
        HostUdpSocket::set_unicast_hop_limit(&mut self.inner, this, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<UdpSocket>) -> SocketResult<u64> {
        HostUdpSocket::receive_buffer_size(&mut self.inner, this)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        HostUdpSocket::set_receive_buffer_size(&mut self.inner, this, value)
    }

    fn send_buffer_size(&mut self, this: Resource<UdpSocket>) -> SocketResult<u64> {
        HostUdpSocket::send_buffer_size(&mut self.inner, this)
    }

    fn set_send_buffer_size(&mut self, this: Resource<UdpSocket>, value: u64) -> SocketResult<()> {
        HostUdpSocket::set_send_buffer_size(&mut self.inner, this, value)
    }

    fn subscribe(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        HostUdpSocket::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<UdpSocket>) -> wasmtime::Result<()> {
        self.pod.forget(Udp, this.rep());
        HostUdpSocket::drop(&mut self.inner, this)
    }
}

impl HostIncomingDatagramStream for PodSockets<'_> {
    /// Senders appear under their virtual address: the Service a flow went to, or the pod.
    /// A stream connected to a Service takes only what its flow's endpoint sends.
    fn receive(
        &mut self,
        this: Resource<IncomingDatagramStream>,
        max: u64,
    ) -> SocketResult<Vec<IncomingDatagram>> {
        let stream = this.rep();
        let mut datagrams = HostIncomingDatagramStream::receive(&mut self.inner, this, max)?;
        let net = self.pod.shared_net();
        let meta = self.pod.datagram_socket(stream).map(|m| &*m);
        // The connected remote's flow first: two Services may share an endpoint.
        let from_service = |real: SocketAddr| {
            let meta = meta?;
            let connected = meta.remote.filter(|r| meta.flows.get(r) == Some(&real));
            connected
                .or_else(|| meta.flows.iter().find(|(_, endpoint)| **endpoint == real).map(|(svc, _)| *svc))
        };
        for d in &mut datagrams {
            let real = SocketAddr::from(d.remote_address);
            if let Some(virtual_addr) = from_service(real).or_else(|| net.reverse(Udp, real)) {
                d.remote_address = virtual_addr.into();
            }
        }
        if let Some(m) = meta.filter(|m| m.emulated) {
            datagrams.retain(|d| Some(SocketAddr::from(d.remote_address)) == m.remote);
        }
        Ok(datagrams)
    }

    fn subscribe(
        &mut self,
        this: Resource<IncomingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostIncomingDatagramStream::subscribe(&mut self.inner, this)
    }

    fn drop(&mut self, this: Resource<IncomingDatagramStream>) -> wasmtime::Result<()> {
        self.pod.drop_datagram_stream(this.rep());
        HostIncomingDatagramStream::drop(&mut self.inner, this)
    }
}

impl HostOutgoingDatagramStream for PodSockets<'_> {
    fn check_send(&mut self, this: Resource<OutgoingDatagramStream>) -> SocketResult<u64> {
        HostOutgoingDatagramStream::check_send(&mut self.inner, this)
    }

    /// Each datagram's destination is routed like a connect (a Service's flow kept on its
    /// endpoint while that lives); one refused destination fails the call before anything is
    /// sent.
    fn send(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> SocketResult<u64> {
        let pod = self.pod.ip();
        let net = self.pod.shared_net();
        let mut unknown = SocketMeta::default();
        let meta = match self.pod.datagram_socket(this.rep()) {
            Some(meta) => meta,
            None => &mut unknown,
        };
        let mut routed = Vec::with_capacity(datagrams.len());
        let mut flows = Vec::new();
        for mut d in datagrams {
            let to = match (d.remote_address.map(SocketAddr::from), meta.remote.filter(|_| meta.emulated)) {
                (Some(to), Some(connected)) if to != connected => {
                    return Err(ErrorCode::InvalidArgument.into());
                }
                (Some(to), _) => to,
                (None, Some(connected)) => connected,
                // Not connected and no destination: the layer below says what is wrong.
                (None, None) => {
                    routed.push(d);
                    continue;
                }
            };
            let flow = net.route_flow(pod, Udp, to, meta.flows.get(&to).copied()).map_err(refused)?;
            flows.push((to, flow.real));
            d.remote_address = Some(flow.real.into());
            routed.push(d);
        }
        let sent = HostOutgoingDatagramStream::send(&mut self.inner, this, routed)?;
        // Only what was sent pins a flow.
        for (to, real) in flows {
            if meta.flows.len() >= MAX_FLOWS && !meta.flows.contains_key(&to) {
                let evict = meta.flows.keys().copied().find(|k| Some(*k) != meta.remote);
                if let Some(evict) = evict {
                    meta.flows.remove(&evict);
                }
            }
            meta.flows.insert(to, real);
        }
        Ok(sent)
    }

    fn subscribe(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostOutgoingDatagramStream::subscribe(&mut self.inner, this)
    }

    async fn drop(&mut self, this: Resource<OutgoingDatagramStream>) -> wasmtime::Result<()> {
        self.pod.drop_datagram_stream(this.rep());
        HostOutgoingDatagramStream::drop(&mut self.inner, this).await
    }
}
