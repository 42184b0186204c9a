//! hostPort and NodePort: real listeners on the host that forward each connection into the pod
//! network — a hostPort to whatever the pod listens on at that container port (an HTTP
//! component or a guest socket), a NodePort to one ready endpoint of its Service. Both are
//! routed for the client's real address, so NetworkPolicy applies to them as to pods.

use super::{NetError, NodeNetwork, PodNetwork, Proto};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// How long a connection waits for the pod to start listening (a pod that is still starting).
const WAIT_FOR_LISTENER: Duration = Duration::from_secs(10);

/// Forward connections accepted on `listener` to (`pod`, `port`) until the listener fails or
/// the task is dropped.
pub async fn forward_host_port(listener: TcpListener, net: Arc<NodeNetwork>, pod: Ipv4Addr, port: u16) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "hostPort listener failed");
                return;
            }
        };
        let net = net.clone();
        tokio::spawn(async move {
            if let Err(e) = forward_one(client, peer, &net, pod, port).await {
                tracing::debug!(%peer, %pod, port, error = %e, "hostPort connection ended");
            }
        });
    }
}

async fn forward_one(
    client: TcpStream,
    peer: SocketAddr,
    net: &NodeNetwork,
    pod: Ipv4Addr,
    port: u16,
) -> std::io::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_LISTENER;
    let from = net.outside_client(peer);
    let target = loop {
        match net.route(from, Proto::Tcp, SocketAddr::from((pod, port))) {
            Ok(addr) => break addr,
            Err(NetError::Refused(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, e.to_string())),
        }
    };
    splice(client, target).await
}

pub(crate) async fn splice(mut client: TcpStream, target: SocketAddr) -> std::io::Result<()> {
    let mut upstream = TcpStream::connect(target).await?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await.map(drop)
}

/// A NodePort: forward connections accepted on `listener` to the Service at `service` (its
/// cluster IP and port, which may change while the listener stays), choosing an endpoint per
/// connection as a guest's connect does, for the client's real address. A connection with no ready endpoint behind the Service
/// is closed at once (refused).
pub async fn forward_node_port(
    listener: TcpListener,
    net: Arc<NodeNetwork>,
    service: tokio::sync::watch::Receiver<SocketAddrV4>,
) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "NodePort listener failed");
                return;
            }
        };
        let service = *service.borrow();
        let target = net.route(net.outside_client(peer), Proto::Tcp, SocketAddr::V4(service));
        tokio::spawn(async move {
            let result = match target {
                Ok(target) => splice(client, target).await,
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            if let Err(e) = result {
                tracing::debug!(%peer, %service, error = %e, "NodePort connection ended");
            }
        });
    }
}
