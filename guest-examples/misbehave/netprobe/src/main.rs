//! `netprobe` (test-only): probes the pod network and reports what happened, to test network
//! policy and Services. Exits 0 whatever the network did (2 on bad usage).
//!
//! ```text
//! netprobe HOST:PORT                              one TCP connect: `connected` or `refused: <error>`
//! netprobe udp-echo PORT NAME                     answer every datagram with `NAME <payload>`, forever
//! netprobe udp-ping HOST:PORT COUNT INTERVAL_MS   COUNT datagrams on a connected UDP socket, one
//!                                                 line each: `reply <from> <payload>` or `timeout`
//! ```
//! HOST may be an IP literal (`[::1]:80` for IPv6) or a name (resolved with ip-name-lookup).

use guest_support::udp;

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

fn usage() -> ! {
    eprintln!(
        "usage: netprobe HOST:PORT | netprobe HOST PORT | netprobe udp-echo PORT NAME | \
         netprobe udp-ping HOST:PORT COUNT INTERVAL_MS"
    );
    std::process::exit(2);
}

fn udp_echo(port: u16, name: &str) -> Result<(), String> {
    let socket = udp::open(port, None).map_err(|e| format!("bind: {}", e.name()))?;
    println!("listening on udp port {port}");
    loop {
        let Some(datagram) = socket.receive(60_000).map_err(|e| format!("receive: {}", e.name()))? else {
            continue;
        };
        let mut reply = format!("{name} ").into_bytes();
        reply.extend_from_slice(&datagram.data);
        socket.send(&reply, Some(datagram.remote_address)).map_err(|e| format!("send: {}", e.name()))?;
    }
}

fn udp_ping(host: &str, port: u16, count: u32, interval_ms: u64) -> Result<(), String> {
    let ip = guest_support::tcp::resolve(host).map_err(|e| format!("resolve {host}: {}", e.name()))?[0];
    let remote = guest_support::tcp::socket_addr(ip, port);
    let socket = udp::open(0, Some(remote)).map_err(|e| format!("connect: {}", e.name()))?;
    for i in 0..count {
        socket.send(format!("ping {i}").as_bytes(), None).map_err(|e| format!("send: {}", e.name()))?;
        match socket.receive(interval_ms.max(1)).map_err(|e| format!("receive: {}", e.name()))? {
            Some(d) => {
                println!("reply {} {}", udp::show(&d.remote_address), String::from_utf8_lossy(&d.data))
            }
            None => println!("timeout"),
        }
        wasip2::clocks::monotonic_clock::subscribe_duration(interval_ms * 1_000_000).block();
    }
    Ok(())
}

fn main() {
    guest_support::init_command();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["udp-echo", port, name] => udp_echo(port.parse().unwrap_or_else(|_| usage()), name),
        ["udp-ping", to, count, interval] => {
            let (host, port) = target(&[to.to_string()]).unwrap_or_else(|| usage());
            let count = count.parse().unwrap_or_else(|_| usage());
            udp_ping(&host, port, count, interval.parse().unwrap_or_else(|_| usage()))
        }
        _ => {
            let Some((host, port)) = target(&args) else { usage() };
            match guest_support::tcp::connect(&host, port) {
                Ok(_conn) => println!("connected"),
                Err(e) => println!("refused: {e}"),
            }
            Ok(())
        }
    };
    if let Err(e) = outcome {
        println!("failed: {e}");
    }
}
