//! `membomb` (test-only): allocates memory 1 MiB at a time (touching every page) until an
//! allocation fails, printing progress every 16 MiB and, at the end, how much it got. Exits 0
//! when the allocator reported the failure (a host memory limit that makes `memory.grow` fail);
//! a host that traps instead ends it mid-way, after the last progress line.
//!
//! `membomb [MAX_MIB]` stops at MAX_MIB (default: no limit but wasm32's 4 GiB).

const MIB: usize = 1024 * 1024;

fn main() {
    guest_support::init_command();
    let max_mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(usize::MAX);
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        if blocks.len() >= max_mib {
            println!("membomb: reached the requested {max_mib} MiB without failure");
            return;
        }
        let mut block = Vec::new();
        if block.try_reserve_exact(MIB).is_err() || blocks.try_reserve(1).is_err() {
            println!("membomb: allocation failed after {} MiB", blocks.len());
            return;
        }
        // Touch every page so the memory is really committed by the host.
        block.resize(MIB, 0);
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        blocks.push(block);
        if blocks.len() % 16 == 0 {
            println!("membomb: allocated {} MiB", blocks.len());
        }
    }
}
