//! `kv`: a small Redis-compatible key-value server as a `wasi:cli/command` component, serving
//! TCP over `wasi:sockets`. Layout:
//! - `main.rs`: arguments (like redis-server's) and start-up;
//! - [`server`]: the single-threaded poll loop over clients, listener and replication link;
//! - [`commands`]: what each command does; [`db`]: the keyspace; [`resp`]: the wire protocol;
//! - [`replica`]: `--replicaof`, following a master; [`aof`]: `--dir`, persistence.
//!
//! ```text
//! kv [--port N] [--replicaof HOST PORT] [--dir PATH]
//! ```
//! Listens on 0.0.0.0:N (default 6379). Harmless redis-server options (`--appendonly`,
//! `--protected-mode`, `--save`, `--bind`, `--loglevel`) are accepted and ignored with a note.

mod aof;
mod commands;
mod db;
mod replica;
mod resp;
mod server;

use commands::{ServerInfo, Source};

struct Config {
    port: u16,
    replicaof: Option<(String, u16)>,
    dir: Option<String>,
}

const IGNORED_OPTIONS: &[&str] = &["--appendonly", "--protected-mode", "--save", "--bind", "--loglevel"];

fn parse_args(args: &[String]) -> Result<Config, String> {
    let mut config = Config { port: 6379, replicaof: None, dir: None };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => config.port = value()?.parse().map_err(|_| "--port needs a number 0-65535")?,
            "--dir" => config.dir = Some(value()?),
            "--replicaof" | "--slaveof" => {
                // Both `--replicaof HOST PORT` and redis-server's `--replicaof "HOST PORT"`.
                let first = value()?;
                let (host, port) = match first.split_once(' ') {
                    Some((host, port)) => (host.to_string(), port.to_string()),
                    None => (first, value()?),
                };
                let port = port.trim().parse().map_err(|_| format!("bad master port {port:?}"))?;
                if !host.eq_ignore_ascii_case("no") {
                    config.replicaof = Some((host, port));
                }
            }
            ignored if IGNORED_OPTIONS.contains(&ignored) => {
                let v = value()?;
                eprintln!("kv: ignoring {ignored} {v}");
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

fn main() {
    guest_support::init_command();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = parse_args(&args)
        .unwrap_or_else(|e| fail(&format!("{e}\nusage: kv [--port N] [--replicaof HOST PORT] [--dir PATH]")));
    let listener = guest_support::tcp::listen(config.port)
        .unwrap_or_else(|e| fail(&format!("cannot listen on 0.0.0.0:{}: {e:?}", config.port)));
    let mut server = server::Server::new(listener, config.port);
    if let Some(dir) = &config.dir {
        let (aof, writes) = aof::Aof::open(dir).unwrap_or_else(|e| fail(&e));
        let info = ServerInfo {
            port: config.port,
            uptime_s: 0,
            connected_clients: 0,
            connected_replicas: 0,
            master: None,
            dir: None,
        };
        for write in &writes {
            commands::execute(&mut server.db, &info, write, Source::Replication);
        }
        println!("kv: loaded {} keys from {dir}/appendonly.aof ({} writes)", server.db.len(), writes.len());
        server.aof = Some(aof);
        server.dir = Some(dir.clone());
    }
    let role = match &config.replicaof {
        Some((host, port)) => {
            server.link = Some(replica::Link::start(host.clone(), *port));
            format!("replica of {host}:{port}")
        }
        None => "master".to_string(),
    };
    println!("kv: listening on 0.0.0.0:{} as {role}", config.port);
    server.run()
}

fn fail(message: &str) -> ! {
    eprintln!("kv: {message}");
    wasip2::cli::exit::exit_with_code(1);
    unreachable!("exit-with-code returned")
}
