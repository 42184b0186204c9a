//! `log-shipper`: the sidecar example. Tails a file in a shared volume and "ships" each new
//! line by printing it prefixed with `[shipped] ` (a real shipper would send it somewhere).
//!
//! ```text
//! log-shipper --follow PATH [--interval-ms MS] [--idle-exit SECONDS]
//! log-shipper --once PATH
//! ```
//! `--follow` starts at the beginning of the file (waiting for it to appear), then polls every
//! MS milliseconds (default 200) with a `wasi:clocks/monotonic-clock` sleep. A file that shrinks
//! was truncated or rotated: shipping starts again from its beginning. `--idle-exit N` exits 0
//! once nothing new arrived for N seconds (lets a demo pod finish); `--once` ships what is there
//! and exits.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};

const USAGE: &str = "usage: log-shipper --follow PATH [--interval-ms MS] [--idle-exit SECONDS] | --once PATH";

struct Config {
    path: String,
    follow: bool,
    interval_ms: u64,
    idle_exit_s: Option<u64>,
}

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut config = Config { path: String::new(), follow: true, interval_ms: 200, idle_exit_s: None };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a number"));
        match flag.as_str() {
            "--follow" => config.path = value()?,
            "--once" => (config.path, config.follow) = (value()?, false),
            "--interval-ms" => config.interval_ms = number(value()?)?.max(1),
            "--idle-exit" => config.idle_exit_s = Some(number(value()?)?),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if config.path.is_empty() {
        return Err(USAGE.into());
    }
    Ok(config)
}

fn main() {
    guest_support::init_command();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = parse_args(&args).unwrap_or_else(|e| {
        eprintln!("log-shipper: {e}");
        std::process::exit(2)
    });
    if let Err(e) = ship(&config) {
        eprintln!("log-shipper: {e}");
        std::process::exit(1);
    }
}

fn ship(config: &Config) -> Result<(), String> {
    let mut offset = 0u64;
    let mut partial = Vec::new();
    let mut idle_ms = 0u64;
    let mut waiting_logged = false;
    loop {
        match read_new(&config.path, &mut offset, &mut partial) {
            Ok(0) => idle_ms += config.interval_ms,
            Ok(_) => idle_ms = 0,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.follow => {
                if !waiting_logged {
                    eprintln!("log-shipper: waiting for {} to appear", config.path);
                    waiting_logged = true;
                }
                idle_ms += config.interval_ms;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", config.path)),
        }
        let idle_limit = config.idle_exit_s.map(|s| s * 1000);
        if !config.follow || idle_limit.is_some_and(|limit| idle_ms >= limit) {
            if !partial.is_empty() {
                print_line(&std::mem::take(&mut partial));
            }
            return Ok(());
        }
        wasip2::clocks::monotonic_clock::subscribe_duration(config.interval_ms * 1_000_000).block();
    }
}

/// Prints the complete lines added since `offset`; returns how many bytes were new.
fn read_new(path: &str, offset: &mut u64, partial: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len < *offset {
        eprintln!("log-shipper: {path} shrank (truncated or rotated); starting over");
        *offset = 0;
        partial.clear();
    }
    file.seek(SeekFrom::Start(*offset))?;
    let mut new = Vec::new();
    file.read_to_end(&mut new)?;
    *offset += new.len() as u64;
    partial.extend_from_slice(&new);
    while let Some(end) = partial.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = partial.drain(..=end).collect();
        print_line(&line[..line.len() - 1]);
    }
    Ok(new.len())
}

fn print_line(line: &[u8]) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut out = std::io::stdout().lock();
    let _ =
        out.write_all(b"[shipped] ").and_then(|()| out.write_all(line)).and_then(|()| out.write_all(b"\n"));
    let _ = out.flush();
}
