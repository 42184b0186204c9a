//! Executing one request against the keyspace.
//!
//! A write returns the command to replicate and persist in a deterministic form (INCR becomes
//! the SET of its result), so replicas and the append-only file replay exactly what happened.

use crate::db::Db;
use crate::resp::{Command, Reply};

/// Who sent a request: replicas refuse writes from clients but apply their master's.
#[derive(Clone, Copy, PartialEq)]
pub enum Source {
    Client,
    /// The master's replication stream, or the append-only file at start.
    Replication,
}

/// What the server knows about itself, for INFO, ROLE and CONFIG GET.
pub struct ServerInfo {
    pub port: u16,
    pub uptime_s: u64,
    pub connected_clients: usize,
    pub connected_replicas: usize,
    /// `Some((host, port, link_up))` on a replica.
    pub master: Option<(String, u16, bool)>,
    pub dir: Option<String>,
}

pub struct Outcome {
    pub reply: Reply,
    /// The write to send to replicas and the append-only file, if the request changed anything.
    pub write: Option<Command>,
}

impl Outcome {
    fn read(reply: Reply) -> Self {
        Outcome { reply, write: None }
    }
}

const WRITES: &[&str] = &[
    "SET", "SETNX", "MSET", "DEL", "UNLINK", "INCR", "DECR", "INCRBY", "DECRBY", "APPEND", "FLUSHALL",
    "FLUSHDB",
];

pub fn execute(db: &mut Db, info: &ServerInfo, args: &[Vec<u8>], source: Source) -> Outcome {
    let Some(name) = args.first() else { return Outcome::read(Reply::err("ERR empty command")) };
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    if WRITES.contains(&name.as_str()) {
        if source == Source::Client && info.master.is_some() {
            return Outcome::read(Reply::err("READONLY You can't write against a read only replica."));
        }
        return write(db, &name, args);
    }
    Outcome::read(read(db, info, &name, args))
}

fn wrong_args(name: &str) -> Reply {
    Reply::err(format!("ERR wrong number of arguments for '{}' command", name.to_ascii_lowercase()))
}

fn read(db: &Db, info: &ServerInfo, name: &str, args: &[Vec<u8>]) -> Reply {
    match (name, args.len()) {
        ("PING", 1) => Reply::Simple("PONG".into()),
        ("PING", 2) | ("ECHO", 2) => Reply::bulk(args[1].clone()),
        ("GET", 2) => db.get(&args[1]).map_or(Reply::Nil, |v| Reply::bulk(v.clone())),
        ("MGET", n) if n >= 2 => Reply::Array(
            args[1..].iter().map(|k| db.get(k).map_or(Reply::Nil, |v| Reply::bulk(v.clone()))).collect(),
        ),
        ("STRLEN", 2) => Reply::Int(db.get(&args[1]).map_or(0, |v| v.len() as i64)),
        ("EXISTS", n) if n >= 2 => Reply::Int(args[1..].iter().filter(|k| db.contains(k)).count() as i64),
        ("TYPE", 2) => Reply::Simple(if db.contains(&args[1]) { "string" } else { "none" }.into()),
        ("TTL" | "PTTL", 2) => Reply::Int(if db.contains(&args[1]) { -1 } else { -2 }),
        ("KEYS", 2) => Reply::Array(db.keys(&args[1]).into_iter().map(Reply::Bulk).collect()),
        ("SCAN", n) if n >= 2 => scan(db, &args[2..]),
        ("DBSIZE", 1) => Reply::Int(db.len() as i64),
        ("INFO", _) => Reply::bulk(info_text(db, info)),
        ("ROLE", 1) => role(info),
        ("CONFIG", n) if n >= 3 => config(info, args),
        ("COMMAND", _) => command(args),
        ("SELECT", 2) if args[1] == b"0" => Reply::ok(),
        ("SELECT", 2) => Reply::err("ERR DB index is out of range"),
        ("CLIENT", _) | ("READONLY", _) | ("READWRITE", _) | ("REPLCONF", _) => Reply::ok(),
        ("TIME", 1) => {
            let now = wasip2::clocks::wall_clock::now();
            Reply::Array(vec![
                Reply::bulk(now.seconds.to_string()),
                Reply::bulk((now.nanoseconds / 1000).to_string()),
            ])
        }
        (
            "PING" | "ECHO" | "GET" | "MGET" | "STRLEN" | "EXISTS" | "TYPE" | "TTL" | "PTTL" | "KEYS"
            | "SCAN" | "DBSIZE" | "ROLE" | "CONFIG" | "SELECT" | "TIME",
            _,
        ) => wrong_args(name),
        _ => {
            let first = args.get(1).map(|a| format!("'{}' ", String::from_utf8_lossy(a))).unwrap_or_default();
            Reply::err(format!(
                "ERR unknown command '{}', with args beginning with: {first}",
                String::from_utf8_lossy(&args[0])
            ))
        }
    }
}

fn write(db: &mut Db, name: &str, args: &[Vec<u8>]) -> Outcome {
    let changed = |reply: Reply| Outcome { reply, write: Some(args.to_vec()) };
    match (name, args.len()) {
        ("SET", n) if n >= 3 => set(db, args),
        ("SETNX", 3) if db.contains(&args[1]) => Outcome::read(Reply::Int(0)),
        ("SETNX", 3) => {
            db.set(args[1].clone(), args[2].clone());
            Outcome { reply: Reply::Int(1), write: Some(set_command(&args[1], &args[2])) }
        }
        ("MSET", n) if n >= 3 && n % 2 == 1 => {
            for pair in args[1..].chunks(2) {
                db.set(pair[0].clone(), pair[1].clone());
            }
            changed(Reply::ok())
        }
        ("DEL" | "UNLINK", n) if n >= 2 => {
            let removed = args[1..].iter().filter(|k| db.remove(k)).count();
            if removed == 0 {
                return Outcome::read(Reply::Int(0));
            }
            changed(Reply::Int(removed as i64))
        }
        ("INCR", 2) => add(db, &args[1], b"1"),
        ("DECR", 2) => add(db, &args[1], b"-1"),
        ("INCRBY", 3) => add(db, &args[1], &args[2]),
        ("DECRBY", 3) => match parse_int(&args[2]).and_then(i64::checked_neg) {
            Some(n) => add(db, &args[1], n.to_string().as_bytes()),
            None => Outcome::read(not_an_integer()),
        },
        ("APPEND", 3) => {
            let mut value = db.get(&args[1]).cloned().unwrap_or_default();
            value.extend_from_slice(&args[2]);
            let len = value.len() as i64;
            db.set(args[1].clone(), value.clone());
            Outcome { reply: Reply::Int(len), write: Some(set_command(&args[1], &value)) }
        }
        ("FLUSHALL" | "FLUSHDB", _) => {
            db.clear();
            Outcome { reply: Reply::ok(), write: Some(vec![b"FLUSHALL".to_vec()]) }
        }
        _ => Outcome::read(wrong_args(name)),
    }
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT|PXAT|KEEPTTL]`: expiry options are accepted
/// and ignored (this store keeps no TTLs).
fn set(db: &mut Db, args: &[Vec<u8>]) -> Outcome {
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        match option.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GET" => get = true,
            b"KEEPTTL" => {}
            b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                if options.next().and_then(|v| parse_int(v)).is_none() {
                    return Outcome::read(not_an_integer());
                }
            }
            _ => return Outcome::read(Reply::err("ERR syntax error")),
        }
    }
    let old = db.get(&args[1]).cloned();
    let ok = get.then(|| old.clone().map_or(Reply::Nil, Reply::Bulk)).unwrap_or_else(Reply::ok);
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return Outcome::read(if get { ok } else { Reply::Nil });
    }
    db.set(args[1].clone(), args[2].clone());
    Outcome { reply: ok, write: Some(set_command(&args[1], &args[2])) }
}

fn set_command(key: &[u8], value: &[u8]) -> Command {
    vec![b"SET".to_vec(), key.to_vec(), value.to_vec()]
}

fn parse_int(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn not_an_integer() -> Reply {
    Reply::err("ERR value is not an integer or out of range")
}

fn add(db: &mut Db, key: &[u8], delta: &[u8]) -> Outcome {
    let current = match db.get(key) {
        Some(value) => parse_int(value),
        None => Some(0),
    };
    let Some(result) = current.zip(parse_int(delta)).and_then(|(a, b)| a.checked_add(b)) else {
        return Outcome::read(not_an_integer());
    };
    let value = result.to_string().into_bytes();
    db.set(key.to_vec(), value.clone());
    Outcome { reply: Reply::Int(result), write: Some(set_command(key, &value)) }
}

/// `SCAN cursor [MATCH pattern] [COUNT n]`: everything in one batch, cursor back to 0.
fn scan(db: &Db, options: &[Vec<u8>]) -> Reply {
    let mut pattern: &[u8] = b"*";
    for pair in options.chunks(2) {
        if pair.len() == 2 && pair[0].eq_ignore_ascii_case(b"MATCH") {
            pattern = &pair[1];
        }
    }
    let keys = db.keys(pattern).into_iter().map(Reply::Bulk).collect();
    Reply::Array(vec![Reply::bulk("0"), Reply::Array(keys)])
}

fn role(info: &ServerInfo) -> Reply {
    match &info.master {
        None => Reply::Array(vec![Reply::bulk("master"), Reply::Int(0), Reply::Array(vec![])]),
        Some((host, port, up)) => Reply::Array(vec![
            Reply::bulk("slave"),
            Reply::bulk(host.clone()),
            Reply::Int(i64::from(*port)),
            Reply::bulk(if *up { "connected" } else { "connect" }),
            Reply::Int(0),
        ]),
    }
}

/// `CONFIG GET name...` answers the few settings clients ask about (redis-benchmark asks for
/// `save` and `appendonly`); `CONFIG SET`/`RESETSTAT` are accepted and ignored.
fn config(info: &ServerInfo, args: &[Vec<u8>]) -> Reply {
    if !args[1].eq_ignore_ascii_case(b"GET") {
        return Reply::ok();
    }
    let settings: [(&str, String); 6] = [
        ("save", String::new()),
        ("appendonly", if info.dir.is_some() { "yes" } else { "no" }.into()),
        ("dir", info.dir.clone().unwrap_or_else(|| "/".into())),
        ("port", info.port.to_string()),
        ("databases", "1".into()),
        ("maxmemory", "0".into()),
    ];
    let mut out = Vec::new();
    for pattern in &args[2..] {
        for (name, value) in &settings {
            if crate::db::glob_match(&pattern.to_ascii_lowercase(), name.as_bytes()) {
                out.push(Reply::bulk(*name));
                out.push(Reply::bulk(value.clone()));
            }
        }
    }
    Reply::Array(out)
}

/// `COMMAND [DOCS|COUNT|INFO ...]`: redis-cli asks for `COMMAND DOCS` to draw its hints; an
/// empty answer makes it go without them.
fn command(args: &[Vec<u8>]) -> Reply {
    match args.get(1).map(|a| a.to_ascii_uppercase()) {
        Some(sub) if sub == b"COUNT" => Reply::Int(0),
        _ => Reply::Array(vec![]),
    }
}

fn info_text(db: &Db, info: &ServerInfo) -> String {
    let mut text = format!(
        "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nimplementation:wasmkube-kv\r\n\
         os:wasi\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n# Clients\r\nconnected_clients:{}\r\n\r\n\
         # Persistence\r\naof_enabled:{}\r\n\r\n# Replication\r\n",
        info.port,
        info.uptime_s,
        info.connected_clients,
        u8::from(info.dir.is_some()),
    );
    match &info.master {
        None => text.push_str(&format!("role:master\r\nconnected_slaves:{}\r\n", info.connected_replicas)),
        Some((host, port, up)) => text.push_str(&format!(
            "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\n\
             connected_slaves:{}\r\n",
            if *up { "up" } else { "down" },
            info.connected_replicas
        )),
    }
    text.push_str(&format!("\r\n# Keyspace\r\ndb0:keys={},expires=0,avg_ttl=0\r\n", db.len()));
    text
}
