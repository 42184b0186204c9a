//! `wasi:sockets/ip-name-lookup` answered by the pod network from cluster state. A name that is
//! not the cluster's goes to the host's resolver only when the pod network says so
//! ([`LookupError::Outside`]: the pod may reach some real addresses), and only the answers the
//! egress policy allows come back — a pod learns nothing of addresses it may not reach.

use super::view::PodSockets;
use super::{LookupError, PodNetwork};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::{DynPollable, Pollable, SocketResult, subscribe};
use wasmtime_wasi::runtime::AbortOnDropJoinHandle;

/// How long the host's resolver may take over a name outside the cluster.
const HOST_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Host lookups in flight at once, node-wide: each holds a blocking thread (getaddrinfo) that
/// a timeout does not free, and the blocking pool is shared with file I/O and compilation.
static HOST_LOOKUPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// Our answer to a lookup: from cluster state at once, or from the host's resolver later.
///
/// wasmtime-wasi's own `ResolveAddressStream` cannot be built outside it, so the table holds
/// this type under the same resource handle (the table checks the type on every access).
enum Resolved {
    Ready(std::vec::IntoIter<IpAddr>),
    Pending(AbortOnDropJoinHandle<Result<Vec<IpAddr>, ErrorCode>>),
    Failed(ErrorCode),
}

#[wasmtime_wasi::async_trait]
impl Pollable for Resolved {
    async fn ready(&mut self) {
        if let Resolved::Pending(lookup) = self {
            *self = match lookup.await {
                Ok(ips) => Resolved::Ready(ips.into_iter()),
                Err(code) => Resolved::Failed(code),
            };
        }
    }
}

/// A name outside the cluster, by the host's resolver (IPv4 only, as the pod network is),
/// keeping the addresses pods may reach. Also what the node's DNS server forwards with.
pub async fn host_lookup(net: Arc<dyn PodNetwork>, name: String) -> Result<Vec<IpAddr>, ErrorCode> {
    let Ok(_slot) = HOST_LOOKUPS.try_acquire() else { return Err(ErrorCode::TemporaryResolverFailure) };
    let found = tokio::time::timeout(HOST_LOOKUP_TIMEOUT, tokio::net::lookup_host((name.as_str(), 0)))
        .await
        .map_err(|_| ErrorCode::TemporaryResolverFailure)?
        .map_err(|_| ErrorCode::NameUnresolvable)?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for ip in found.map(|a| a.ip()).filter(|ip| ip.is_ipv4() && net.egress_allows(*ip)) {
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.is_empty() { Err(ErrorCode::NameUnresolvable) } else { Ok(ips) }
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
        let resolved = match self.pod.net().lookup(self.pod.ip(), &name) {
            Ok(addrs) => Resolved::Ready(addrs.into_iter()),
            Err(LookupError::Outside(name)) => {
                Resolved::Pending(wasmtime_wasi::runtime::spawn(host_lookup(self.pod.shared_net(), name)))
            }
            Err(LookupError::NameUnresolvable(_)) => return Err(ErrorCode::NameUnresolvable.into()),
            Err(LookupError::InvalidArgument(_)) => return Err(ErrorCode::InvalidArgument.into()),
        };
        let stream = self.inner.table.push(resolved)?;
        Ok(Resource::new_own(stream.rep()))
    }
}

impl HostResolveAddressStream for PodSockets<'_> {
    fn resolve_next_address(
        &mut self,
        this: Resource<ResolveAddressStream>,
    ) -> SocketResult<Option<IpAddress>> {
        match self.inner.table.get_mut(&ours(&this))? {
            Resolved::Ready(ips) => Ok(ips.next().map(Into::into)),
            Resolved::Pending(lookup) => {
                use futures::FutureExt;
                match lookup.now_or_never() {
                    None => Err(ErrorCode::WouldBlock.into()),
                    Some(Ok(ips)) => {
                        let mut ips = ips.into_iter();
                        let first = ips.next();
                        *self.inner.table.get_mut(&ours(&this))? = Resolved::Ready(ips);
                        Ok(first.map(Into::into))
                    }
                    Some(Err(code)) => {
                        *self.inner.table.get_mut(&ours(&this))? = Resolved::Failed(code);
                        Err(code.into())
                    }
                }
            }
            Resolved::Failed(code) => Err((*code).into()),
        }
    }

    fn subscribe(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<Resource<DynPollable>> {
        subscribe(self.inner.table, ours(&this))
    }

    fn drop(&mut self, this: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        self.inner.table.delete(Resource::<Resolved>::new_own(this.rep()))?;
        Ok(())
    }
}
