//! Building and sending `wasi:http` responses, and reading bodies, for the proxy-world guests.

use std::io::{Read as _, Write as _};

use wasip2::http::types::{Fields, IncomingBody, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// A complete response: status, headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let headers = vec![("content-type".to_string(), content_type.as_bytes().to_vec())];
        Reply { status, headers, body: body.into() }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Reply::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// Sends the response. A client that went away is not the guest's error: writing just stops.
    pub fn send(self, out: ResponseOutparam) {
        let headers = Fields::from_list(&self.headers).unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(self.status);
        let body = response.body().expect("a new response's body is taken once");
        ResponseOutparam::set(out, Ok(response));
        {
            let mut stream = body.write().expect("a new body's stream is taken once");
            let _ = stream.write_all(&self.body).and_then(|()| std::io::Write::flush(&mut stream));
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// Reads an incoming body (request or response) to its end.
pub fn read_body(body: IncomingBody) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    {
        let mut stream = body.stream().map_err(|()| "body stream already taken".to_string())?;
        stream.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    }
    drop(IncomingBody::finish(body));
    Ok(bytes)
}
