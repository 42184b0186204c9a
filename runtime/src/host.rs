//! The host state of one `Store`: one struct that implements every view trait, as wasmtime's
//! own crates expect (`WasiView::ctx() -> WasiCtxView { ctx, table }`).

use crate::limits::{CpuMeter, StoreLimiter};
use crate::network::{PodHttpHooks, PodNet, PodSockets};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How many resources (streams, descriptors, pollables, requests...) one instance may hold.
/// A guest that leaks handles gets an error instead of growing host memory without bound.
pub const MAX_RESOURCES: usize = 16 * 1024;

/// Per-instance host state.
pub struct Host {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: PodHttpHooks,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: StoreLimiter,
    pub(crate) cpu: CpuMeter,
    /// This instance's view of its pod's network (sockets it opened, their virtual addresses).
    pub(crate) pod_net: PodNet,
}

impl Host {
    pub(crate) fn new(
        wasi: WasiCtx,
        limiter: StoreLimiter,
        cpu: CpuMeter,
        pod_net: PodNet,
        hooks: PodHttpHooks,
    ) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        Host { wasi, http: WasiHttpCtx::new(), hooks, table, limiter, cpu, pod_net }
    }

    /// The `wasi:sockets` view: wasmtime-wasi's sockets context wrapped by the pod network.
    pub(crate) fn sockets(&mut self) -> PodSockets<'_> {
        PodSockets::new(self.wasi.sockets(), &mut self.table, &mut self.pod_net)
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}
