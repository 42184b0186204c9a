//! `http-hello`: a `wasi:http/proxy` component.
//!
//! - `GET /`              -> `hello from <HOSTNAME>` (the `HOSTNAME` env var, as a pod sets it)
//! - `/echo` (any method) -> the request back as text: method and path, the headers, a blank
//!   line, the body
//! - `/fetch?url=URL`     -> an outgoing `wasi:http` GET of URL: the answer's status code and body
//!   are returned as they came (`x-fetched-url` says what was fetched); 502 with the error when
//!   the fetch fails
//! - `/alloc?mib=N`       -> holds N MiB (every page touched) while answering how much it got:
//!   shows what a memory limit does to a request
//! - anything else        -> 404

use guest_support::http::{Reply, read_body};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, ResponseOutparam, Scheme,
};

wasip2::http::proxy::export!(HttpHello);

struct HttpHello;

impl wasip2::exports::http::incoming_handler::Guest for HttpHello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path_with_query = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let (path, query) = path_with_query.split_once('?').unwrap_or((&path_with_query, ""));
        let reply = match path {
            "/" => {
                let host = guest_support::env_var("HOSTNAME").unwrap_or_else(|| "unknown".to_string());
                Reply::text(200, format!("hello from {host}\n"))
            }
            "/echo" => echo(&request, &path_with_query),
            "/fetch" => match guest_support::query::param(query, "url") {
                Some(url) => fetch(&url),
                None => Reply::text(400, "usage: /fetch?url=http://host[:port]/path\n"),
            },
            "/alloc" => match guest_support::query::param(query, "mib").and_then(|n| n.parse().ok()) {
                Some(mib) => alloc(mib),
                None => Reply::text(400, "usage: /alloc?mib=N\n"),
            },
            _ => Reply::text(404, format!("not found: {path}\n")),
        };
        reply.send(response_out);
    }
}

fn alloc(mib: usize) -> Reply {
    let mut held: Vec<Vec<u8>> = Vec::new();
    for _ in 0..mib {
        let mut block = vec![0u8; 1 << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        held.push(block);
    }
    Reply::text(200, format!("allocated {} MiB\n", held.len()))
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

fn echo(request: &IncomingRequest, path_with_query: &str) -> Reply {
    let mut text = format!("{} {}\n", method_name(&request.method()), path_with_query);
    for (name, value) in request.headers().entries() {
        text.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(&value)));
    }
    text.push('\n');
    let mut reply = Reply::text(200, text);
    match request.consume() {
        Ok(body) => match read_body(body) {
            Ok(bytes) => reply.body.extend_from_slice(&bytes),
            Err(e) => return Reply::text(400, format!("cannot read the request body: {e}\n")),
        },
        Err(()) => {}
    }
    reply
}

fn fetch(url: &str) -> Reply {
    match get(url) {
        Ok((status, content_type, body)) => {
            let mut reply = Reply::new(status, &content_type, body);
            reply.headers.push(("x-fetched-url".into(), url.as_bytes().to_vec()));
            reply
        }
        Err(e) => Reply::text(502, format!("fetch {url} failed: {e}\n")),
    }
}

/// An outgoing `wasi:http` GET: the status code, content type and body.
fn get(url: &str) -> Result<(u16, String, Vec<u8>), String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err("only http:// and https:// URLs".into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    request.set_method(&Method::Get).map_err(|()| "bad method")?;
    request.set_scheme(Some(&scheme)).map_err(|()| "bad scheme")?;
    request.set_authority(Some(authority)).map_err(|()| format!("bad authority {authority:?}"))?;
    request.set_path_with_query(Some(path)).map_err(|()| format!("bad path {path:?}"))?;
    let body = request.body().map_err(|()| "request body taken")?;
    let future = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
    let response = loop {
        match future.get() {
            Some(Ok(Ok(response))) => break response,
            Some(Ok(Err(e))) => return Err(format!("{e:?}")),
            Some(Err(())) => return Err("response already taken".into()),
            None => future.subscribe().block(),
        }
    };
    let status = response.status();
    let content_type = response.headers().get("content-type").into_iter().next();
    let content_type = content_type.map(|v| String::from_utf8_lossy(&v).into_owned());
    let body = response.consume().map_err(|()| "response body taken")?;
    let bytes = read_body(body)?;
    Ok((status, content_type.unwrap_or_else(|| "application/octet-stream".into()), bytes))
}
