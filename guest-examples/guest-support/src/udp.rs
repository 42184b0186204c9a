//! Blocking UDP helpers over `wasi:sockets` (netprobe's echo server and pinger).

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
use wasip2::sockets::udp::{
    IncomingDatagram, IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket,
};
use wasip2::sockets::udp_create_socket::create_udp_socket;

/// A bound UDP socket and its streams. Field order is drop order: the streams are children of
/// the socket and must go first.
pub struct Udp {
    pub incoming: IncomingDatagramStream,
    pub outgoing: OutgoingDatagramStream,
    pub socket: UdpSocket,
}

/// Binds `0.0.0.0:port` (0: any port) and opens the streams: "connected" to `remote` if given.
pub fn open(port: u16, remote: Option<IpSocketAddress>) -> Result<Udp, ErrorCode> {
    let socket = create_udp_socket(IpAddressFamily::Ipv4)?;
    let any = IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address: (0, 0, 0, 0) });
    socket.start_bind(&instance_network(), any)?;
    loop {
        match socket.finish_bind() {
            Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
            result => break result?,
        }
    }
    let (incoming, outgoing) = socket.stream(remote)?;
    Ok(Udp { incoming, outgoing, socket })
}

impl Udp {
    /// Sends one datagram (to the connected remote when `to` is None).
    pub fn send(&self, data: &[u8], to: Option<IpSocketAddress>) -> Result<(), ErrorCode> {
        while self.outgoing.check_send()? == 0 {
            self.outgoing.subscribe().block();
        }
        self.outgoing.send(&[OutgoingDatagram { data: data.to_vec(), remote_address: to }])?;
        Ok(())
    }

    /// The next datagram, or None when none came within `timeout_ms`.
    pub fn receive(&self, timeout_ms: u64) -> Result<Option<IncomingDatagram>, ErrorCode> {
        let deadline = wasip2::clocks::monotonic_clock::subscribe_duration(timeout_ms * 1_000_000);
        loop {
            if let Some(datagram) = self.incoming.receive(1)?.pop() {
                return Ok(Some(datagram));
            }
            let readable = self.incoming.subscribe();
            if !wasip2::io::poll::poll(&[&readable, &deadline]).contains(&0) {
                return Ok(None);
            }
        }
    }
}

/// `a.b.c.d:port` (IPv6 in brackets).
pub fn show(addr: &IpSocketAddress) -> String {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            format!("{x}.{y}.{z}.{w}:{}", a.port)
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            let ip = core::net::Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7);
            format!("[{ip}]:{}", a.port)
        }
    }
}
