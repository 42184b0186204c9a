//! The network namespace the OCI containers of one pod share, owned by the runtime: created
//! with the pod's first OCI container (`ip netns add`, loopback up, nothing else — no route
//! out, no address of the host), deleted with the pod. The pod network reaches into it by
//! connecting from a thread that enters it: a container port published in the pod network is
//! a host listener whose connections are spliced to `127.0.0.1:PORT` inside the namespace.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug)]
pub(crate) struct NetNs {
    name: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("running ip (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl NetNs {
    /// A fresh namespace named `name` (a leftover of that name, from a crash, is replaced).
    pub(crate) fn create(name: &str) -> Result<NetNs, String> {
        let _ = ip(&["netns", "delete", name]);
        ip(&["netns", "add", name])?;
        let ns = NetNs { name: name.to_string() };
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Where runc joins it.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// A TCP connection to `127.0.0.1:port` inside the namespace (blocking: call it off the
    /// async threads). Only the connecting thread enters the namespace; the socket stays in it.
    pub(crate) fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        let path = self.path();
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let ns = std::fs::File::open(&path)?;
                    rustix::thread::move_into_link_name_space(
                        ns.as_fd(),
                        Some(rustix::thread::LinkNameSpaceType::Network),
                    )?;
                    TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                })
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the connecting thread panicked")))
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "delete", &self.name]) {
            tracing::warn!(netns = %self.name, error = %e, "could not delete a pod's network namespace");
        }
    }
}
