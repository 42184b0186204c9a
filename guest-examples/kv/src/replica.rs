//! `--replicaof HOST PORT`: the replica's link to its master.
//!
//! Protocol (ours, not Redis's PSYNC): the replica connects and sends `KVSYNC`; the master
//! answers with its whole dataset as commands (`FLUSHALL`, then `SET key value` per key) and then
//! streams every write it executes, in the same RESP form. The replica applies them as they
//! come. When the link drops (or cannot be made) the replica retries every second and resyncs in
//! full. Everything is non-blocking so that the replica keeps serving reads meanwhile.

use guest_support::tcp::{self, Conn};
use wasip2::io::poll::Pollable;
use wasip2::io::streams::StreamError;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::{ResolveAddressStream, resolve_addresses};
use wasip2::sockets::network::{ErrorCode, IpAddress};
use wasip2::sockets::tcp::TcpSocket;

use crate::resp::{Command, Parsed, encode_command, parse};

const RETRY_NS: u64 = 1_000_000_000;

/// Field order in each variant is drop order: a pollable before the resource it watches.
enum State {
    Waiting { timer: Pollable },
    Resolving { pollable: Pollable, stream: ResolveAddressStream, found: Vec<IpAddress> },
    Connecting { pollable: Pollable, socket: TcpSocket, rest: Vec<IpAddress> },
    Connected { pollable: Pollable, conn: Conn, inbuf: Vec<u8> },
}

pub struct Link {
    pub host: String,
    pub port: u16,
    state: Option<State>,
}

impl Link {
    pub fn start(host: String, port: u16) -> Self {
        let mut link = Link { host, port, state: None };
        link.state = Some(link.begin());
        link
    }

    pub fn is_up(&self) -> bool {
        matches!(self.state, Some(State::Connected { .. }))
    }

    /// What the server's poll loop waits on for this link.
    pub fn pollable(&self) -> &Pollable {
        match self.state.as_ref().expect("link state is always set between steps") {
            State::Waiting { timer } => timer,
            State::Resolving { pollable, .. }
            | State::Connecting { pollable, .. }
            | State::Connected { pollable, .. } => pollable,
        }
    }

    /// Advances the link after its pollable fired; returns the master's writes to apply.
    pub fn on_ready(&mut self) -> Vec<Command> {
        let mut received = Vec::new();
        let state = self.state.take().expect("link state is always set between steps");
        let next = match state {
            State::Waiting { .. } => self.begin(),
            State::Resolving { pollable, stream, found } => {
                drop(pollable);
                self.resolving(stream, found)
            }
            State::Connecting { pollable, socket, rest } => {
                drop(pollable);
                self.connecting(socket, rest)
            }
            State::Connected { pollable, conn, inbuf } => {
                drop(pollable);
                self.connected(conn, inbuf, &mut received)
            }
        };
        self.state = Some(next);
        received
    }

    fn begin(&self) -> State {
        if let Some(ip) = tcp::parse_ip(&self.host) {
            return self.connect_next(vec![ip]);
        }
        match resolve_addresses(&instance_network(), &self.host) {
            Ok(stream) => State::Resolving { pollable: stream.subscribe(), stream, found: Vec::new() },
            Err(e) => self.retry(&format!("cannot resolve {}: {}", self.host, e.name())),
        }
    }

    fn retry(&self, why: &str) -> State {
        eprintln!("kv: no link to master {}:{} ({why}); retrying in 1 s", self.host, self.port);
        State::Waiting { timer: wasip2::clocks::monotonic_clock::subscribe_duration(RETRY_NS) }
    }

    fn resolving(&self, stream: ResolveAddressStream, mut found: Vec<IpAddress>) -> State {
        loop {
            match stream.resolve_next_address() {
                Ok(Some(ip)) => found.push(ip),
                Ok(None) if found.is_empty() => return self.retry(&format!("{} has no address", self.host)),
                Ok(None) => {
                    found.sort_by_key(|ip| matches!(ip, IpAddress::Ipv6(_)));
                    found.reverse(); // connect_next pops from the end
                    return self.connect_next(found);
                }
                Err(ErrorCode::WouldBlock) => {
                    return State::Resolving { pollable: stream.subscribe(), stream, found };
                }
                Err(e) => return self.retry(&format!("cannot resolve {}: {}", self.host, e.name())),
            }
        }
    }

    fn connect_next(&self, mut rest: Vec<IpAddress>) -> State {
        let Some(ip) = rest.pop() else { return self.retry("no address accepted the connection") };
        match tcp::start_connect(tcp::socket_addr(ip, self.port)) {
            Ok(socket) => State::Connecting { pollable: socket.subscribe(), socket, rest },
            Err(e) => self.retry(e.name()),
        }
    }

    fn connecting(&self, socket: TcpSocket, rest: Vec<IpAddress>) -> State {
        match tcp::finish_connect(socket) {
            Ok(Ok(conn)) => self.synchronise(conn),
            Ok(Err(socket)) => State::Connecting { pollable: socket.subscribe(), socket, rest },
            Err(e) if rest.is_empty() => self.retry(e.name()),
            Err(_) => self.connect_next(rest),
        }
    }

    fn synchronise(&self, conn: Conn) -> State {
        let _ = conn.socket.set_keep_alive_enabled(true);
        let mut request = Vec::new();
        encode_command(&[b"KVSYNC".to_vec()], &mut request);
        if let Err(e) = tcp::write_all(&conn.output, &request) {
            return self.retry(&format!("cannot send KVSYNC: {e:?}"));
        }
        eprintln!("kv: connected to master {}:{}, full sync requested", self.host, self.port);
        State::Connected { pollable: conn.input.subscribe(), conn, inbuf: Vec::new() }
    }

    fn connected(&self, conn: Conn, mut inbuf: Vec<u8>, received: &mut Vec<Command>) -> State {
        match conn.input.read(64 * 1024) {
            Ok(bytes) => inbuf.extend_from_slice(&bytes),
            Err(StreamError::Closed) => return self.retry("the master closed the link"),
            Err(StreamError::LastOperationFailed(e)) => return self.retry(&e.to_debug_string()),
        }
        let mut used = 0;
        loop {
            match parse(&inbuf[used..]) {
                Parsed::Request(args, n) => {
                    used += n;
                    if !args.is_empty() {
                        received.push(args);
                    }
                }
                Parsed::Incomplete => break,
                Parsed::Invalid(e) => return self.retry(&format!("bad replication stream: {e}")),
            }
        }
        inbuf.drain(..used);
        State::Connected { pollable: conn.input.subscribe(), conn, inbuf }
    }
}
