//! `wasi:sockets/tcp` for pods: translate, then let wasmtime-wasi do the real work.

use super::Proto::Tcp;
use super::view::{PodSockets, refused};
use std::net::{Ipv4Addr, SocketAddr};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::tcp::{self, HostTcpSocket, ShutdownType};
use wasmtime_wasi::p2::bindings::sockets::tcp_create_socket;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, SocketResult, TcpSocket};

/// The real address every pod socket binds to: loopback, port chosen by the kernel.
const REAL_BIND: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

fn again(this: &Resource<TcpSocket>) -> Resource<TcpSocket> {
    Resource::new_borrow(this.rep())
}

impl PodSockets<'_> {
    /// Bind the real socket to loopback and learn the port the kernel gave it.
    async fn real_bind(
        &mut self,
        this: &Resource<TcpSocket>,
        network: Resource<Network>,
    ) -> SocketResult<SocketAddr> {
        HostTcpSocket::start_bind(&mut self.inner, again(this), network, REAL_BIND.into()).await?;
        HostTcpSocket::finish_bind(&mut self.inner, again(this))?;
        Ok(HostTcpSocket::local_address(&mut self.inner, again(this))?.into())
    }
}

impl tcp::Host for PodSockets<'_> {}

impl tcp_create_socket::Host for PodSockets<'_> {
    fn create_tcp_socket(&mut self, family: IpAddressFamily) -> SocketResult<Resource<TcpSocket>> {
        if family == IpAddressFamily::Ipv6 {
            return Err(ErrorCode::NotSupported.into());
        }
        tcp_create_socket::Host::create_tcp_socket(&mut self.inner, family)
    }
}

impl HostTcpSocket for PodSockets<'_> {
    async fn start_bind(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> SocketResult<()> {
        let wanted: SocketAddr = local.into();
        let loopback_only = self.pod.bindable(wanted).map_err(refused)?;
        let ip = self.pod.ip();
        let port = self.pod.net().reserve(ip, Tcp, wanted.port()).map_err(refused)?;
        let real = match self.real_bind(&this, network).await {
            Ok(real) => real,
            Err(e) => {
                self.pod.net().release(ip, Tcp, port);
                return Err(e);
            }
        };
        self.pod.net().publish(ip, Tcp, port, real, loopback_only);
        let meta = self.pod.meta(Tcp, this.rep());
        meta.local = Some(SocketAddr::new(wanted.ip(), port));
        meta.port = Some(port);
        Ok(())
    }

    /// `start_bind` already finished the real bind; the guest's finish is always ready.
    fn finish_bind(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        match self.pod.get(Tcp, this.rep()).and_then(|m| m.port) {
            Some(_) => Ok(()),
            None => Err(ErrorCode::NotInProgress.into()),
        }
    }

    fn start_connect(
        &mut self,
        this: Resource<TcpSocket>,
        network: Resource<Network>,
        remote: IpSocketAddress,
    ) -> SocketResult<()> {
        let wanted: SocketAddr = remote.into();
        let ip = self.pod.ip();
        let real = self.pod.net().route(ip, Tcp, wanted).map_err(refused)?;
        HostTcpSocket::start_connect(&mut self.inner, again(&this), network, real.into())?;
        self.pod.meta(Tcp, this.rep()).remote = Some(wanted);
        Ok(())
    }

    fn finish_connect(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let streams = HostTcpSocket::finish_connect(&mut self.inner, again(&this))?;
        // Name the connection's real local address after this pod, so the peer that accepts it
        // sees podIP:port as the caller (its own virtual port number, unique on the node).
        let real: SocketAddr = HostTcpSocket::local_address(&mut self.inner, again(&this))?.into();
        let virtual_local = SocketAddr::new(self.pod.ip().into(), real.port());
        self.pod.net().name_peer(Tcp, real, virtual_local);
        let meta = self.pod.meta(Tcp, this.rep());
        meta.local = Some(virtual_local);
        meta.named = Some(real);
        Ok(streams)
    }

    async fn start_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        HostTcpSocket::start_listen(&mut self.inner, this).await
    }

    fn finish_listen(&mut self, this: Resource<TcpSocket>) -> SocketResult<()> {
        HostTcpSocket::finish_listen(&mut self.inner, this)
    }

    fn accept(
        &mut self,
        this: Resource<TcpSocket>,
    ) -> SocketResult<(Resource<TcpSocket>, Resource<DynInputStream>, Resource<DynOutputStream>)> {
        let (sock, input, output) = HostTcpSocket::accept(&mut self.inner, again(&this))?;
        let peer: SocketAddr = HostTcpSocket::remote_address(&mut self.inner, again(&sock))?.into();
        // A caller from a pod was named when it connected; anything else (a host client of a
        // hostPort, or a race with the caller's own bookkeeping) keeps its real address.
        let remote = self.pod.net().reverse(Tcp, peer).unwrap_or(peer);
        // A listener on 0.0.0.0 answers as the pod IP.
        let pod_ip = self.pod.ip();
        let local = self.pod.get(Tcp, this.rep()).and_then(|m| m.local);
        let meta = self.pod.meta(Tcp, sock.rep());
        meta.local =
            local.map(|l| if l.ip().is_unspecified() { SocketAddr::new(pod_ip.into(), l.port()) } else { l });
        meta.remote = Some(remote);
        Ok((sock, input, output))
    }

    fn local_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        HostTcpSocket::local_address(&mut self.inner, again(&this))?;
        let local = self.pod.get(Tcp, this.rep()).and_then(|m| m.local);
        local.map(Into::into).ok_or_else(|| ErrorCode::InvalidState.into())
    }

    fn remote_address(&mut self, this: Resource<TcpSocket>) -> SocketResult<IpSocketAddress> {
        HostTcpSocket::remote_address(&mut self.inner, again(&this))?;
        let remote = self.pod.get(Tcp, this.rep()).and_then(|m| m.remote);
        remote.map(Into::into).ok_or_else(|| ErrorCode::InvalidState.into())
    }

    fn is_listening(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<bool> {
        HostTcpSocket::is_listening(&mut self.inner, this)
    }

    fn address_family(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<IpAddressFamily> {
        HostTcpSocket::address_family(&mut self.inner, this)
    }

    fn set_listen_backlog_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_listen_backlog_size(&mut self.inner, this, value)
    }

    fn keep_alive_enabled(&mut self, this: Resource<TcpSocket>) -> SocketResult<bool> {
        HostTcpSocket::keep_alive_enabled(&mut self.inner, this)
    }

    fn set_keep_alive_enabled(&mut self, this: Resource<TcpSocket>, value: bool) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_enabled(&mut self.inner, this, value)
    }

    fn keep_alive_idle_time(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::keep_alive_idle_time(&mut self.inner, this)
    }

    fn set_keep_alive_idle_time(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_idle_time(&mut self.inner, this, value)
    }

    fn keep_alive_interval(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::keep_alive_interval(&mut self.inner, this)
    }

    fn set_keep_alive_interval(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_interval(&mut self.inner, this, value)
    }

    fn keep_alive_count(&mut self, this: Resource<TcpSocket>) -> SocketResult<u32> {
        HostTcpSocket::keep_alive_count(&mut self.inner, this)
    }

    fn set_keep_alive_count(&mut self, this: Resource<TcpSocket>, value: u32) -> SocketResult<()> {
        HostTcpSocket::set_keep_alive_count(&mut self.inner, this, value)
    }

    fn hop_limit(&mut self, this: Resource<TcpSocket>) -> SocketResult<u8> {
        HostTcpSocket::hop_limit(&mut self.inner, this)
    }

    fn set_hop_limit(&mut self, this: Resource<TcpSocket>, value: u8) -> SocketResult<()> {
        HostTcpSocket::set_hop_limit(&mut self.inner, this, value)
    }

    fn receive_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::receive_buffer_size(&mut self.inner, this)
    }

    fn set_receive_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_receive_buffer_size(&mut self.inner, this, value)
    }

    fn send_buffer_size(&mut self, this: Resource<TcpSocket>) -> SocketResult<u64> {
        HostTcpSocket::send_buffer_size(&mut self.inner, this)
    }

    fn set_send_buffer_size(&mut self, this: Resource<TcpSocket>, value: u64) -> SocketResult<()> {
        HostTcpSocket::set_send_buffer_size(&mut self.inner, this, value)
    }

    fn subscribe(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<Resource<DynPollable>> {
        HostTcpSocket::subscribe(&mut self.inner, this)
    }

    fn shutdown(&mut self, this: Resource<TcpSocket>, how: ShutdownType) -> SocketResult<()> {
        HostTcpSocket::shutdown(&mut self.inner, this, how)
    }

    fn drop(&mut self, this: Resource<TcpSocket>) -> wasmtime::Result<()> {
        self.pod.forget(Tcp, this.rep());
        HostTcpSocket::drop(&mut self.inner, this)
    }
}
