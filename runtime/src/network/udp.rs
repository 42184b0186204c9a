//! `wasi:sockets/udp` for pods: the same translation as TCP, per datagram.

use super::Proto::Udp;
use super::view::{PodSockets, refused};
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
        let real = match wanted {
            Some(to) => Some(self.pod.net().route(self.pod.ip(), Udp, to).map_err(refused)?),
            None => None,
        };
        let streams = HostUdpSocket::stream(&mut self.inner, again(&this), real.map(Into::into)).await?;
        self.pod.meta(Udp, this.rep()).remote = wanted;
        Ok(streams)
    }

    fn local_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        HostUdpSocket::local_address(&mut self.inner, again(&this))?;
        let local = self.pod.get(Udp, this.rep()).and_then(|m| m.local);
        local.map(Into::into).ok_or_else(|| ErrorCode::InvalidState.into())
    }

    fn remote_address(&mut self, this: Resource<UdpSocket>) -> SocketResult<IpSocketAddress> {
        HostUdpSocket::remote_address(&mut self.inner, again(&this))?;
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
    /// Senders from pods appear under their virtual address.
    fn receive(
        &mut self,
        this: Resource<IncomingDatagramStream>,
        max: u64,
    ) -> SocketResult<Vec<IncomingDatagram>> {
        let mut datagrams = HostIncomingDatagramStream::receive(&mut self.inner, this, max)?;
        for d in &mut datagrams {
            let real = SocketAddr::from(d.remote_address);
            if let Some(virtual_addr) = self.pod.net().reverse(Udp, real) {
                d.remote_address = virtual_addr.into();
            }
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
        HostIncomingDatagramStream::drop(&mut self.inner, this)
    }
}

impl HostOutgoingDatagramStream for PodSockets<'_> {
    fn check_send(&mut self, this: Resource<OutgoingDatagramStream>) -> SocketResult<u64> {
        HostOutgoingDatagramStream::check_send(&mut self.inner, this)
    }

    /// Each datagram's destination is routed like a connect; one refused destination fails the
    /// call before anything is sent.
    fn send(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> SocketResult<u64> {
        let pod = self.pod.ip();
        let mut routed = Vec::with_capacity(datagrams.len());
        for mut d in datagrams {
            if let Some(to) = d.remote_address {
                let real = self.pod.net().route(pod, Udp, to.into()).map_err(refused)?;
                d.remote_address = Some(real.into());
            }
            routed.push(d);
        }
        HostOutgoingDatagramStream::send(&mut self.inner, this, routed)
    }

    fn subscribe(
        &mut self,
        this: Resource<OutgoingDatagramStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostOutgoingDatagramStream::subscribe(&mut self.inner, this)
    }

    async fn drop(&mut self, this: Resource<OutgoingDatagramStream>) -> wasmtime::Result<()> {
        HostOutgoingDatagramStream::drop(&mut self.inner, this).await
    }
}
