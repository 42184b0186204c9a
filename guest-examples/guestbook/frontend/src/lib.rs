//! `guestbook`: the classic Kubernetes guestbook frontend as a `wasi:http/proxy` component,
//! speaking the upstream PHP frontend's protocol:
//!
//! - `GET /guestbook.php?cmd=set&key=K&value=V` -> `SET K V` on the master, `{"message": "Updated"}`
//! - `GET /guestbook.php?cmd=get&key=K`         -> `GET K` from a replica, `{"data": "V"}`
//!   (`""` for a missing key)
//! - `GET /` (or `/index.html`)                 -> the page, whose script uses the two above
//!
//! Like upstream, all entries live in one string value (`messages`), comma-joined by the page.
//! Where redis is (`GET_HOSTS_FROM`, default `dns`): `dns` uses the service names
//! `redis-master:6379` and `redis-slave:6379` (resolved with `wasi:sockets/ip-name-lookup`; reads
//! fall back to the master when the replica service cannot be resolved or reached); `env` uses
//! `REDIS_MASTER_SERVICE_HOST`/`_PORT` and `REDIS_SLAVE_SERVICE_HOST`/`_PORT`, as Kubernetes sets
//! them. Each request opens its own TCP connection (`wasi:sockets/tcp`) and speaks RESP.

mod redis;

use guest_support::http::Reply;
use guest_support::query;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

wasip2::http::proxy::export!(Guestbook);

struct Guestbook;

const PAGE: &str = include_str!("index.html");

impl wasip2::exports::http::incoming_handler::Guest for Guestbook {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let (path, query) = path_with_query.split_once('?').unwrap_or((&path_with_query, ""));
        let reply = match path {
            "/" | "/index.html" => Reply::new(200, "text/html; charset=utf-8", PAGE),
            "/guestbook.php" => guestbook_php(query),
            _ => Reply::text(404, format!("not found: {path}\n")),
        };
        reply.send(response_out);
    }
}

fn guestbook_php(query: &str) -> Reply {
    let key = query::param(query, "key").unwrap_or_default();
    let result = match query::param(query, "cmd").as_deref() {
        Some("set") => {
            let value = query::param(query, "value").unwrap_or_default();
            redis::set(&redis::master(), &key, &value).map(|()| "{\"message\": \"Updated\"}".to_string())
        }
        Some("get") => redis::get_from_replica(&key).map(|v| format!("{{\"data\": {}}}", json_string(&v))),
        _ => return json(400, "{\"error\": \"cmd must be set or get\"}".into()),
    };
    match result {
        Ok(body) => json(200, body),
        Err(e) => {
            eprintln!("guestbook: {e}");
            json(500, format!("{{\"error\": {}}}", json_string(&e)))
        }
    }
}

fn json(status: u16, body: String) -> Reply {
    Reply::new(status, "application/json", body)
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
