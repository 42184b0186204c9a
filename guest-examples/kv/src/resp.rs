//! RESP2, the Redis wire protocol: parsing requests (arrays of bulk strings, or inline
//! commands as typed into telnet) and encoding replies.

/// One request: its arguments, the command name first.
pub type Command = Vec<Vec<u8>>;

/// The result of trying to take one request off the front of a buffer.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// Not all of it has arrived yet.
    Incomplete,
    /// A request and how many bytes it took (an empty request is a blank line: skip it).
    Request(Command, usize),
    /// The bytes are not RESP: answer the error and close the connection.
    Invalid(String),
}

const MAX_BULK: usize = 512 * 1024 * 1024;

pub fn parse(buf: &[u8]) -> Parsed {
    match buf.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_array(buf),
        Some(_) => parse_inline(buf),
    }
}

/// The line starting at `at` (without its CRLF) and the position after it.
fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[at..end], end + 2))
}

fn number(bytes: &[u8]) -> Option<i64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn parse_array(buf: &[u8]) -> Parsed {
    let Some((header, mut at)) = line(buf, 0) else { return Parsed::Incomplete };
    let Some(count) = number(&header[1..]) else {
        return Parsed::Invalid("Protocol error: invalid multibulk length".into());
    };
    let mut args = Vec::with_capacity(count.clamp(0, 1024) as usize);
    for _ in 0..count.max(0) {
        let Some((len_line, start)) = line(buf, at) else { return Parsed::Incomplete };
        if len_line.first() != Some(&b'$') {
            let got = String::from_utf8_lossy(&len_line[..len_line.len().min(1)]).into_owned();
            return Parsed::Invalid(format!("Protocol error: expected '$', got '{got}'"));
        }
        let len = match number(&len_line[1..]) {
            Some(n) if n >= 0 && (n as usize) <= MAX_BULK => n as usize,
            _ => return Parsed::Invalid("Protocol error: invalid bulk length".into()),
        };
        if buf.len() < start + len + 2 {
            return Parsed::Incomplete;
        }
        if &buf[start + len..start + len + 2] != b"\r\n" {
            return Parsed::Invalid("Protocol error: bulk not followed by CRLF".into());
        }
        args.push(buf[start..start + len].to_vec());
        at = start + len + 2;
    }
    Parsed::Request(args, at)
}

/// `SET key "two words"\r\n`: whitespace-separated, double quotes group, `\n` ends the line.
fn parse_inline(buf: &[u8]) -> Parsed {
    let Some(end) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > 64 * 1024 {
            Parsed::Invalid("Protocol error: too big inline request".into())
        } else {
            Parsed::Incomplete
        };
    };
    let text = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
    let mut args = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut quoted = false;
    for &b in text {
        match (b, quoted) {
            (b'"', false) if current.is_none() => {
                quoted = true;
                current = Some(Vec::new());
            }
            (b'"', true) => {
                quoted = false;
                args.extend(current.take());
            }
            (b' ' | b'\t', false) => args.extend(current.take()),
            (b, _) => current.get_or_insert_with(Vec::new).push(b),
        }
    }
    if quoted {
        return Parsed::Invalid("Protocol error: unbalanced quotes in request".into());
    }
    args.extend(current);
    Parsed::Request(args, end + 1)
}

/// A reply, encoded with [`Reply::encode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

impl Reply {
    pub fn ok() -> Self {
        Reply::Simple("OK".into())
    }

    pub fn err(message: impl Into<String>) -> Self {
        Reply::Error(message.into())
    }

    pub fn bulk(bytes: impl Into<Vec<u8>>) -> Self {
        Reply::Bulk(bytes.into())
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => push_line(out, b'+', s.as_bytes()),
            Reply::Error(s) => push_line(out, b'-', s.as_bytes()),
            Reply::Int(n) => push_line(out, b':', n.to_string().as_bytes()),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::Bulk(bytes) => {
                push_line(out, b'$', bytes.len().to_string().as_bytes());
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Array(items) => {
                push_line(out, b'*', items.len().to_string().as_bytes());
                items.iter().for_each(|item| item.encode(out));
            }
        }
    }
}

fn push_line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    // A simple string or error cannot carry line breaks.
    out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// A request encoded as RESP (what the replication stream and the append-only file carry).
pub fn encode_command(args: &[Vec<u8>], out: &mut Vec<u8>) {
    Reply::Array(args.iter().cloned().map(Reply::Bulk).collect()).encode(out);
}
