//! Link every `wasi:sockets` interface to the pod network's wrapper view.

use super::view::{HasPodSockets, PodSockets};
use wasmtime::component::Linker;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets as s;
use wasmtime_wasi::p2::bindings::sockets::instance_network;
use wasmtime_wasi::p2::bindings::sockets::network::{self, ErrorCode, Network};

/// Add `wasi:sockets/{tcp, tcp-create-socket, udp, udp-create-socket, network,
/// instance-network, ip-name-lookup}` for stores whose state gives a [`PodSockets`].
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> PodSockets<'_>,
) -> wasmtime::Result<()> {
    s::tcp::add_to_linker::<T, HasPodSockets>(linker, get)?;
    s::tcp_create_socket::add_to_linker::<T, HasPodSockets>(linker, get)?;
    s::udp::add_to_linker::<T, HasPodSockets>(linker, get)?;
    s::udp_create_socket::add_to_linker::<T, HasPodSockets>(linker, get)?;
    s::instance_network::add_to_linker::<T, HasPodSockets>(linker, get)?;
    s::network::add_to_linker::<T, HasPodSockets>(linker, &Default::default(), get)?;
    s::ip_name_lookup::add_to_linker::<T, HasPodSockets>(linker, get)?;
    Ok(())
}

impl network::Host for PodSockets<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        network::Host::convert_error_code(&mut self.inner, error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<wasmtime_wasi::p2::bindings::io::error::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        network::Host::network_error_code(&mut self.inner, err)
    }
}

impl network::HostNetwork for PodSockets<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.inner, this)
    }
}

impl instance_network::Host for PodSockets<'_> {
    fn instance_network(&mut self) -> wasmtime::Result<Resource<Network>> {
        instance_network::Host::instance_network(&mut self.inner)
    }
}
