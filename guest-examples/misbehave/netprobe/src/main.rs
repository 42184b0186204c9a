//! `netprobe` (test-only): tries one TCP connection and reports the outcome, to test network
//! policy. Prints `connected` or `refused: <error>`; exits 0 either way (2 on bad usage).
//!
//! ```text
//! netprobe HOST:PORT        or        netprobe HOST PORT
//! ```
//! HOST may be an IP literal (`[::1]:80` for IPv6) or a name (resolved with ip-name-lookup).

fn target(args: &[String]) -> Option<(String, u16)> {
    match args {
        [host, port] => Some((host.clone(), port.parse().ok()?)),
        [both] => {
            let (host, port) = both.rsplit_once(':')?;
            Some((host.trim_start_matches('[').trim_end_matches(']').to_string(), port.parse().ok()?))
        }
        _ => None,
    }
}

fn main() {
    guest_support::init_command();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((host, port)) = target(&args) else {
        eprintln!("usage: netprobe HOST:PORT | netprobe HOST PORT");
        std::process::exit(2);
    };
    match guest_support::tcp::connect(&host, port) {
        Ok(_conn) => println!("connected"),
        Err(e) => println!("refused: {e}"),
    }
}
