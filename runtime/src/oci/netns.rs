//! The network namespace the OCI containers of one pod share, owned by the runtime: created
//! with the pod's first OCI container (`ip netns add`, loopback up, nothing else — no route
//! out, no address of the host), deleted with the pod. It is joined to the pod network at the
//! loopback, both ways:
//! - a container port published in the pod network is a host listener whose connections are
//!   spliced to `127.0.0.1:PORT` inside the namespace ([`NetNs::connect`]);
//! - what the pod's wasm containers listen on appears inside the namespace at
//!   `127.0.0.1:PORT`, a listener there forwarding to the real socket ([`NetNs::mirror`]), so
//!   an OCI container reaches its wasm siblings on localhost as they reach it.

use crate::network::NodeNetwork;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct NetNs {
    name: String,
    /// Ports the OCI containers serve themselves (published from inside): never mirrored in.
    own: Mutex<HashSet<u16>>,
    mirroring: std::sync::OnceLock<()>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("running ip (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// How often the wasm containers' listeners are compared with what is mirrored.
const MIRROR_EVERY: Duration = Duration::from_millis(100);

impl NetNs {
    /// A fresh namespace named `name` (a leftover of that name, from a crash, is replaced).
    pub(crate) fn create(name: &str) -> Result<NetNs, String> {
        if std::path::Path::new("/run/netns").join(name).exists() {
            let _ = ip(&["netns", "delete", name]);
        }
        ip(&["netns", "add", name])?;
        let ns = NetNs { name: name.to_string(), own: Mutex::default(), mirroring: Default::default() };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Where runc joins it.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Run `f` on a thread inside the namespace (blocking): sockets made there stay in it.
    fn inside<T: Send>(&self, f: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
        let path = self.path();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let ns = std::fs::File::open(&path)?;
                    rustix::thread::move_into_link_name_space(
                        ns.as_fd(),
                        Some(rustix::thread::LinkNameSpaceType::Network),
                    )?;
                    f()
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a thread in the pod's namespace panicked")))
        })
    }

    /// A TCP connection to `127.0.0.1:port` inside the namespace (blocking).
    pub(crate) fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        self.inside(|| TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
    }

    /// An OCI container of the pod serves `port` (published in the pod network from inside).
    pub(crate) fn serves(&self, port: u16, serving: bool) {
        let mut own = self.own.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if serving {
            own.insert(port);
        } else {
            own.remove(&port);
        }
    }

    /// Keep the pod's wasm listeners mirrored inside the namespace until it is dropped (once).
    pub(crate) fn mirror(self: &Arc<Self>, net: Arc<NodeNetwork>, pod: Ipv4Addr) {
        self.mirroring.get_or_init(|| {
            tokio::spawn(mirror(Arc::downgrade(self), net, pod));
        });
    }
}

async fn mirror(ns: Weak<NetNs>, net: Arc<NodeNetwork>, pod: Ipv4Addr) {
    // port -> (real address behind it, the in-namespace listener's task)
    let mut mirrored: HashMap<u16, (SocketAddr, tokio::task::JoinHandle<()>)> = HashMap::new();
    loop {
        let Some(netns) = ns.upgrade() else { break };
        // Published first, then the namespace's own ports: an OCI port is marked as its own
        // before it is published, so it is never taken for a wasm one.
        let published = net.published_tcp(pod);
        let own = netns.own.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let wanted: HashMap<u16, SocketAddr> =
            published.into_iter().filter(|(port, _)| !own.contains(port)).collect();
        mirrored.retain(|port, (host, task)| {
            let keep = wanted.get(port) == Some(host);
            if !keep {
                task.abort();
            }
            keep
        });
        for (port, host) in wanted {
            if mirrored.contains_key(&port) {
                continue;
            }
            let listener = netns
                .inside(|| TcpListener::bind((Ipv4Addr::LOCALHOST, port)))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .and_then(tokio::net::TcpListener::from_std);
            match listener {
                Ok(listener) => {
                    mirrored.insert(port, (host, tokio::spawn(forward_out(listener, host))));
                }
                // Taken inside (a container bound it without declaring it): tried again later.
                Err(e) => {
                    tracing::debug!(port, error = %e, "could not mirror a wasm listener into the pod's namespace")
                }
            }
        }
        drop(netns);
        tokio::time::sleep(MIRROR_EVERY).await;
    }
    for (_, (_, task)) in mirrored {
        task.abort();
    }
}

/// Connections to a mirrored port go to the wasm container's real listener.
async fn forward_out(listener: tokio::net::TcpListener, host: SocketAddr) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        tokio::spawn(crate::network::host_port::splice(client, host));
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "delete", &self.name]) {
            tracing::warn!(netns = %self.name, error = %e, "could not delete a pod's network namespace");
        }
    }
}
