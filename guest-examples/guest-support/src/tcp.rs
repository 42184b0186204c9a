//! Blocking TCP helpers over `wasi:sockets` (std::net does not exist on wasm32-wasip1).
//!
//! Everything here blocks the (single) guest thread on a `wasi:io` pollable; a guest that must
//! serve other work meanwhile (kv's replication link) drives the non-blocking calls itself.

use core::net::{IpAddr, Ipv4Addr};

use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// An open TCP connection. Field order is drop order: the streams are children of the socket
/// and must go first.
pub struct Conn {
    pub input: InputStream,
    pub output: OutputStream,
    pub socket: TcpSocket,
}

/// A literal IP address, if `host` is one (no lookup needed).
pub fn parse_ip(host: &str) -> Option<IpAddress> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            Some(IpAddress::Ipv4((a, b, c, d)))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(IpAddress::Ipv6((s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])))
        }
    }
}

/// Resolves `host` to its addresses: a literal directly, a name through `wasi:sockets/ip-name-lookup`.
pub fn resolve(host: &str) -> Result<Vec<IpAddress>, ErrorCode> {
    if let Some(ip) = parse_ip(host) {
        return Ok(vec![ip]);
    }
    let network = instance_network();
    let stream = resolve_addresses(&network, host)?;
    let mut found = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(ip)) => found.push(ip),
            Ok(None) => break,
            Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
            Err(e) => return Err(e),
        }
    }
    if found.is_empty() {
        return Err(ErrorCode::NameUnresolvable);
    }
    // IPv4 first: cluster services and most test servers are IPv4.
    found.sort_by_key(|ip| matches!(ip, IpAddress::Ipv6(_)));
    Ok(found)
}

/// The socket address for `ip:port`.
pub fn socket_addr(ip: IpAddress, port: u16) -> IpSocketAddress {
    match ip {
        IpAddress::Ipv4(address) => IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        IpAddress::Ipv6(address) => {
            IpSocketAddress::Ipv6(Ipv6SocketAddress { port, address, flow_info: 0, scope_id: 0 })
        }
    }
}

/// Human-readable `ip:port`.
pub fn format_addr(addr: &IpSocketAddress) -> String {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            format!("{}:{}", Ipv4Addr::new(x, y, z, w), a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            let ip = core::net::Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
            format!("[{ip}]:{}", a.port)
        }
    }
}

fn family(addr: &IpSocketAddress) -> IpAddressFamily {
    match addr {
        IpSocketAddress::Ipv4(_) => IpAddressFamily::Ipv4,
        IpSocketAddress::Ipv6(_) => IpAddressFamily::Ipv6,
    }
}

/// Starts a non-blocking connect; finish it with [`finish_connect`] once `socket.subscribe()` is ready.
pub fn start_connect(addr: IpSocketAddress) -> Result<TcpSocket, ErrorCode> {
    let socket = create_tcp_socket(family(&addr))?;
    socket.start_connect(&instance_network(), addr)?;
    Ok(socket)
}

/// Completes a connect started by [`start_connect`]; `Ok(None)` while still in progress.
pub fn finish_connect(socket: TcpSocket) -> Result<Result<Conn, TcpSocket>, ErrorCode> {
    match socket.finish_connect() {
        Ok((input, output)) => Ok(Ok(Conn { input, output, socket })),
        Err(ErrorCode::WouldBlock) => Ok(Err(socket)),
        Err(e) => Err(e),
    }
}

/// Connects to one address, blocking until the connection is up or refused.
pub fn connect_addr(addr: IpSocketAddress) -> Result<Conn, ErrorCode> {
    let mut socket = start_connect(addr)?;
    loop {
        socket.subscribe().block();
        match finish_connect(socket)? {
            Ok(conn) => return Ok(conn),
            Err(pending) => socket = pending,
        }
    }
}

/// Resolves `host` and connects to the first of its addresses that accepts.
pub fn connect(host: &str, port: u16) -> Result<Conn, String> {
    let ips = resolve(host).map_err(|e| format!("resolve {host}: {}", e.name()))?;
    let mut last = String::new();
    for ip in ips {
        let addr = socket_addr(ip, port);
        match connect_addr(addr) {
            Ok(conn) => return Ok(conn),
            Err(e) => last = format!("connect {host} ({}): {}", format_addr(&addr), e.name()),
        }
    }
    Err(last)
}

/// A listening socket on `0.0.0.0:port`, accepting without blocking (`accept` answers
/// `would-block` until `subscribe()` is ready).
pub fn listen(port: u16) -> Result<TcpSocket, ErrorCode> {
    let socket = create_tcp_socket(IpAddressFamily::Ipv4)?;
    let any = socket_addr(IpAddress::Ipv4((0, 0, 0, 0)), port);
    socket.start_bind(&instance_network(), any)?;
    socket.subscribe().block();
    socket.finish_bind()?;
    socket.start_listen()?;
    socket.subscribe().block();
    socket.finish_listen()?;
    Ok(socket)
}

/// Writes all of `data`, blocking (at most 4096 bytes per call, as wasi:io allows).
pub fn write_all(output: &OutputStream, data: &[u8]) -> Result<(), StreamError> {
    for chunk in data.chunks(4096) {
        output.blocking_write_and_flush(chunk)?;
    }
    Ok(())
}

/// Reads whatever is available, blocking until at least one byte (or end of stream: `Ok(empty)`).
pub fn read_some(input: &InputStream) -> Result<Vec<u8>, String> {
    match input.blocking_read(64 * 1024) {
        Ok(bytes) => Ok(bytes),
        Err(StreamError::Closed) => Ok(Vec::new()),
        Err(StreamError::LastOperationFailed(e)) => Err(e.to_debug_string()),
    }
}
