//! `wasi:sockets/ip-name-lookup` answered by the pod network, never by the host's resolver
//! (unless a [`super::PodNetwork`] implementation chooses to forward).

use super::LookupError;
use super::view::PodSockets;
use std::net::IpAddr;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::{DynPollable, Pollable, SocketResult, subscribe};

/// Our answer to a lookup: resolved synchronously from cluster state, so always ready.
///
/// wasmtime-wasi's own `ResolveAddressStream` cannot be built outside it, so the table holds
/// this type under the same resource handle (the table checks the type on every access).
struct Resolved(std::vec::IntoIter<IpAddr>);

#[wasmtime_wasi::async_trait]
impl Pollable for Resolved {
    async fn ready(&mut self) {}
}

fn ours(r: &Resource<ResolveAddressStream>) -> Resource<Resolved> {
    Resource::new_borrow(r.rep())
}

impl Host for PodSockets<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> SocketResult<Resource<ResolveAddressStream>> {
        // The network handle is the capability to look names up; check it is a real one.
        self.inner.table.get(&network)?;
        let addrs = self.pod.net().lookup(self.pod.ip(), &name).map_err(|e| match e {
            LookupError::NameUnresolvable(_) => ErrorCode::NameUnresolvable,
            LookupError::InvalidArgument(_) => ErrorCode::InvalidArgument,
        })?;
        let stream = self.inner.table.push(Resolved(addrs.into_iter()))?;
        Ok(Resource::new_own(stream.rep()))
    }
}

impl HostResolveAddressStream for PodSockets<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> SocketResult<Option<IpAddress>> {
        let stream = self.inner.table.get_mut(&ours(&this))?;
        Ok(stream.0.next().map(Into::into))
    }

    fn subscribe(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.inner.table, ours(&this))
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.inner.table.delete(Resource::<Resolved>::new_own(this.rep()))?;
        Ok(())
    }
}
