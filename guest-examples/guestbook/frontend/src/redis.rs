//! Just enough of a Redis client: one connection per call, `SET`/`GET` over RESP.

use guest_support::tcp::{self, Conn};

/// Where a redis service is.
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

fn from_env(prefix: &str, default_host: &str) -> Endpoint {
    let env = |suffix: &str| guest_support::env_var(&format!("{prefix}_SERVICE_{suffix}"));
    if guest_support::env_var("GET_HOSTS_FROM").is_some_and(|v| v == "env") {
        let port = env("PORT").and_then(|p| p.parse().ok()).unwrap_or(6379);
        if let Some(host) = env("HOST") {
            return Endpoint { host, port };
        }
    }
    Endpoint { host: default_host.to_string(), port: 6379 }
}

pub fn master() -> Endpoint {
    from_env("REDIS_MASTER", "redis-master")
}

pub fn replica() -> Endpoint {
    from_env("REDIS_SLAVE", "redis-slave")
}

pub fn set(at: &Endpoint, key: &str, value: &str) -> Result<(), String> {
    match call(at, &["SET", key, value])? {
        Reply::Status(_) => Ok(()),
        other => Err(format!("SET on {}: unexpected answer {other:?}", at.host)),
    }
}

pub fn get(at: &Endpoint, key: &str) -> Result<String, String> {
    match call(at, &["GET", key])? {
        Reply::Bulk(Some(value)) => Ok(String::from_utf8_lossy(&value).into_owned()),
        Reply::Bulk(None) => Ok(String::new()),
        other => Err(format!("GET on {}: unexpected answer {other:?}", at.host)),
    }
}

/// Reads from the replica service, or from the master when the replica cannot be reached.
pub fn get_from_replica(key: &str) -> Result<String, String> {
    get(&replica(), key).or_else(|e| {
        eprintln!("guestbook: {e}; reading from the master instead");
        get(&master(), key)
    })
}

#[derive(Debug)]
#[allow(dead_code, reason = "the payloads are shown through Debug in error messages")]
enum Reply {
    Status(String),
    Bulk(Option<Vec<u8>>),
    Other(String),
}

fn call(at: &Endpoint, args: &[&str]) -> Result<Reply, String> {
    let conn = tcp::connect(&at.host, at.port)?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    tcp::write_all(&conn.output, &request).map_err(|e| format!("send to {}: {e:?}", at.host))?;
    read_reply(&conn).map_err(|e| format!("{}:{}: {e}", at.host, at.port))
}

/// Reads one reply: `+status`, `-error`, `:int` or `$bulk`.
fn read_reply(conn: &Conn) -> Result<Reply, String> {
    let mut buf = Vec::new();
    loop {
        if let Some(reply) = parse_reply(&buf)? {
            return Ok(reply);
        }
        let more = tcp::read_some(&conn.input)?;
        if more.is_empty() {
            return Err("connection closed before a full reply".into());
        }
        buf.extend_from_slice(&more);
    }
}

fn parse_reply(buf: &[u8]) -> Result<Option<Reply>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
    let line = String::from_utf8_lossy(&buf[1..end]).into_owned();
    match buf[0] {
        b'+' => Ok(Some(Reply::Status(line))),
        b'-' => Err(format!("redis error: {line}")),
        b':' => Ok(Some(Reply::Other(line))),
        b'$' => {
            let len: i64 = line.parse().map_err(|_| format!("bad bulk length {line:?}"))?;
            if len < 0 {
                return Ok(Some(Reply::Bulk(None)));
            }
            let start = end + 2;
            let stop = start + len as usize;
            if buf.len() < stop + 2 {
                return Ok(None);
            }
            Ok(Some(Reply::Bulk(Some(buf[start..stop].to_vec()))))
        }
        other => Err(format!("unexpected reply type {:?}", other as char)),
    }
}
