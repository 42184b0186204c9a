//! The one `Linker` every pod's components are instantiated against.
//!
//! WASI 0.2 interfaces are added one by one rather than through
//! `wasmtime_wasi::p2::add_to_linker_async`, because that would link upstream's `wasi:sockets`
//! straight onto the host's real network. Sockets belong to the pod network (virtual pod IPs,
//! one port space per pod), linked in exactly one place: [`add_pod_network`].

use crate::host::Host;
use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime::{Engine, Result};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
use wasmtime_wasi::random::WasiRandom;

/// Selects the `ResourceTable` as the implementation of `wasi:io`.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

pub fn build(engine: &Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    add_wasi_io(&mut linker)?;
    add_wasi_without_sockets(&mut linker)?;
    add_pod_network(&mut linker)?;
    add_wasi_http(&mut linker)?;
    Ok(linker)
}

fn add_wasi_io(l: &mut Linker<Host>) -> Result<()> {
    io::error::add_to_linker::<Host, HasIo>(l, |h| h.ctx().table)?;
    io::poll::add_to_linker::<Host, HasIo>(l, |h| h.ctx().table)?;
    io::streams::add_to_linker::<Host, HasIo>(l, |h| h.ctx().table)?;
    Ok(())
}

/// Every `wasi:cli/imports` interface of WASI 0.2 except `wasi:sockets/*`.
fn add_wasi_without_sockets(l: &mut Linker<Host>) -> Result<()> {
    clocks::wall_clock::add_to_linker::<Host, WasiClocks>(l, Host::clocks)?;
    clocks::monotonic_clock::add_to_linker::<Host, WasiClocks>(l, Host::clocks)?;
    filesystem::types::add_to_linker::<Host, WasiFilesystem>(l, Host::filesystem)?;
    filesystem::preopens::add_to_linker::<Host, WasiFilesystem>(l, Host::filesystem)?;
    random::random::add_to_linker::<Host, WasiRandom>(l, |h| h.ctx().ctx.random())?;
    random::insecure::add_to_linker::<Host, WasiRandom>(l, |h| h.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<Host, WasiRandom>(l, |h| h.ctx().ctx.random())?;
    cli::exit::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::environment::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::stdin::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::stdout::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::stderr::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::terminal_input::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::terminal_output::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::terminal_stdin::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::terminal_stdout::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    cli::terminal_stderr::add_to_linker::<Host, WasiCli>(l, Host::cli)?;
    Ok(())
}

/// The pod network's `wasi:sockets` (tcp, udp, ip-name-lookup, network, instance-network,
/// *-create-socket): our host implementation over virtual pod IPs and the pod's port space.
fn add_pod_network(linker: &mut Linker<Host>) -> Result<()> {
    crate::network::add_to_linker(linker, Host::sockets)
}

/// `wasi:http/types` and `wasi:http/outgoing-handler`; outgoing requests go through
/// [`crate::host::PodHttpHooks`].
fn add_wasi_http(l: &mut Linker<Host>) -> Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)
}
