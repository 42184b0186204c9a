//! Code shared by the example guests. Layout:
//! - [`tcp`]: blocking TCP client/server helpers over `wasi:sockets` (std::net does not exist on
//!   wasm32-wasip1), used by kv, guestbook and netprobe;
//! - [`udp`]: blocking UDP helpers (netprobe's echo server and pinger);
//! - [`query`]: URL query-string decoding, and [`http`]: responses and bodies, for the
//!   `wasi:http/proxy` examples (http-hello, guestbook);
//! - [`init_command`]: what every `wasi:cli/command` guest calls first.

pub mod http;
pub mod query;
pub mod tcp;
pub mod udp;

/// Runs the module's C constructors (wasi-libc's table of preopened directories among them).
/// **Call it first thing in `main` of every `wasi:cli/command` guest.**
///
/// Why: Debian's wasi-libc (2022) ships a `crt1-command.o` whose `_start` does not call
/// `__wasm_call_ctors`, so wasm-ld wraps *every* export of a command module in a
/// constructors+destructors call, `cabi_realloc` included. The host calls `cabi_realloc` while
/// lowering a list result (`wasi:io/poll.poll`, a stream read...), the constructors then ask the
/// preview1 adapter for the preopens, and the component traps with "cannot leave component
/// instance" as soon as a directory is mounted. Referencing `__wasm_call_ctors` here makes
/// wasm-ld leave the exports alone; we then run the constructors ourselves, once.
pub fn init_command() {
    use core::sync::atomic::{AtomicBool, Ordering};
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    static DONE: AtomicBool = AtomicBool::new(false);
    if !DONE.swap(true, Ordering::SeqCst) {
        // SAFETY: the linker-synthesised constructor list, run exactly once before anything
        // uses libc state, as newer wasi-libc's `_start` does.
        unsafe { __wasm_call_ctors() }
    }
}

/// An environment variable read straight from `wasi:cli/environment`.
///
/// The HTTP guests must use this instead of `std::env::var`: the preview1 *proxy* adapter
/// answers every preview1 `environ_get` with an empty environment (the `wasi:http/proxy` world
/// has no `wasi:cli/environment`), so std sees none. Calling the interface directly adds that
/// import to the component, and a host that links `wasi:cli` (as wasmkube does for pods) fills it.
pub fn env_var(name: &str) -> Option<String> {
    wasip2::cli::environment::get_environment()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
