//! The network namespace the OCI containers of one pod share, owned by the runtime: taken with
//! the pod's first OCI container, deleted with the pod. It has loopback and nothing else — no
//! other interface, no route out, no address of the host — and it is joined to the pod network
//! by the node agent's own sockets inside it:
//! - **out, to the cluster**: the networks a pod may address (the cluster's virtual ranges and
//!   what egress allows) are *local* routes inside the namespace — so the pod IP is an address
//!   the containers can bind, as any in those ranges — and an nftables rule there redirects
//!   every TCP connect to them to our listener at `127.0.0.1:15001` (as Istio's sidecar does). We read the original destination (`SO_ORIGINAL_DST`) and route it as a wasm
//!   guest's connect is routed ([`PodNetwork::route`]: Service load balancing, NetworkPolicy,
//!   egress), then splice. No packet to a virtual address exists outside the namespace, and
//!   nothing can leave it except through us;
//! - **names**: cluster DNS answers at `DNS_ADDR:53` (UDP and TCP) inside the namespace — the
//!   node agent's server on sockets made here ([`crate::network::PodDns`]) — and the
//!   containers' `resolv.conf` points there with the pod's search path;
//! - **in**: a container port published in the pod network is a host listener whose
//!   connections are spliced to `127.0.0.1:PORT` inside the namespace ([`NetNs::connect`]); a
//!   container's connect to its own pod IP comes back in the same way;
//! - **siblings**: what the pod's wasm containers listen on appears inside the namespace on
//!   `PORT`, a listener there forwarding to the real socket ([`NetNs::join`]'s mirror, told of
//!   each change of the pod's ports), so an OCI container reaches its wasm siblings on
//!   localhost as they reach it.
//!
//! Sockets are made inside by one thread per namespace that stays in it; the async side gets
//! them back and does all I/O on the runtime's reactor. Nothing in a namespace depends on its
//! pod until it is joined, so a [`Pool`] makes them ahead of the pods that will need them.
//!
//! Absent: UDP to Services and pods (other than DNS) from OCI containers; port 15001 inside the
//! pod is ours.

use crate::network::{NodeNetwork, PodNetwork, Proto};
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Where cluster DNS answers inside the namespace: the link-local address upstream's NodeLocal
/// DNSCache uses, outside every cluster range.
pub(crate) const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(169, 254, 20, 10);
/// Where connects to the cluster are redirected inside the namespace.
const INTERCEPT_PORT: u16 = 15001;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Debug)]
pub(crate) struct NetNs {
    name: String,
    /// Ports the OCI containers serve themselves (published from inside): never mirrored in.
    own: Mutex<HashSet<u16>>,
    /// To the thread that lives inside the namespace and makes its sockets.
    jobs: std::sync::mpsc::Sender<Job>,
    /// The tasks serving the namespace (redirected connects, DNS, the mirror), once joined.
    joined: tokio::sync::OnceCell<Vec<tokio::task::AbortHandle>>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("running ip (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Delete the named namespace as `ip netns delete` does — detach its bind mount, remove the
/// file — without a process: microseconds, so a stopping node ends hundreds at once. The
/// namespace itself goes when its last user (a container, our thread) does.
pub(crate) fn delete(name: &str) -> io::Result<()> {
    let path = PathBuf::from("/run/netns").join(name);
    rustix::mount::unmount(&path, rustix::mount::UnmountFlags::DETACH)?;
    std::fs::remove_file(&path)
}

/// The nftables ruleset inside the namespace: TCP to anything but loopback and the DNS address
/// goes to us.
fn ruleset() -> String {
    format!(
        "table ip wasmkube {{\n  chain output {{\n    type nat hook output priority -100; policy accept;\n    \
         meta l4proto tcp ip daddr != {{ 127.0.0.0/8, {DNS_ADDR} }} redirect to :{INTERCEPT_PORT}\n  }}\n}}\n"
    )
}

/// Run `cmd` with `input` on its stdin (blocking); the error names `what`.
fn piped(cmd: &mut Command, input: &str, what: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {what}: {e}"))?;
    child.stdin.take().expect("piped").write_all(input.as_bytes()).map_err(|e| format!("{what}: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Set the namespace up, from a thread inside it (its children start inside too): loopback
/// up with the DNS address and the local routes (one `ip -batch`), then the redirect (`nft`).
fn configure(ranges: &[(Ipv4Addr, u8)]) -> Result<(), String> {
    let mut batch = format!("link set lo up\naddr add {DNS_ADDR}/32 dev lo\n");
    for (net, prefix) in ranges {
        batch.push_str(&format!("route add local {net}/{prefix} dev lo\n"));
    }
    piped(Command::new("ip").args(["-batch", "-"]), &batch, "ip (iproute2)")?;
    piped(Command::new("nft").args(["-f", "-"]), &ruleset(), "nft (nftables)")
}

/// How soon a wasm listener that could not be mirrored (its port taken inside) is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// How often the mirror looks whether its namespace is gone, when nothing changes.
const CHECK_EVERY: Duration = Duration::from_secs(2);

impl NetNs {
    /// A fresh namespace named `name` whose pod may address `ranges` (a leftover of that name,
    /// from a crash, is replaced). Blocking.
    fn create(name: &str, ranges: &[(Ipv4Addr, u8)]) -> Result<NetNs, String> {
        if std::path::Path::new("/run/netns").join(name).exists() {
            let _ = delete(name);
        }
        ip(&["netns", "add", name])?;
        let ranges = ranges.to_vec();
        let made = Self::enter(name).and_then(|jobs| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            jobs.send(Box::new(move || {
                let _ = tx.send(configure(&ranges));
            }))
            .map_err(|_| "the pod's namespace thread ended".to_string())?;
            rx.recv().unwrap_or_else(|_| Err("the pod's namespace thread ended".into())).map(|()| jobs)
        });
        match made {
            Ok(jobs) => {
                Ok(NetNs { name: name.to_string(), own: Mutex::default(), jobs, joined: Default::default() })
            }
            Err(e) => {
                let _ = delete(name);
                Err(e)
            }
        }
    }

    /// Start the thread that lives inside the namespace.
    fn enter(name: &str) -> Result<std::sync::mpsc::Sender<Job>, String> {
        let ns = std::fs::File::open(PathBuf::from("/run/netns").join(name))
            .map_err(|e| format!("{name}: {e}"))?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready_tx, ready) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(format!("netns-{}", &name[..name.len().min(9)]))
            .spawn(move || {
                let entered = rustix::thread::move_into_link_name_space(
                    ns.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                );
                drop(ns);
                let ok = entered.is_ok();
                let _ = ready_tx.send(entered);
                if ok {
                    // Until the namespace's sender is dropped; a panicking job only loses its
                    // own answer.
                    for job in queue {
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                }
            })
            .map_err(|e| format!("starting the pod's namespace thread: {e}"))?;
        match ready.recv() {
            Ok(Ok(())) => Ok(jobs),
            Ok(Err(e)) => Err(format!("entering {name}: {e}")),
            Err(_) => Err(format!("entering {name}: the thread ended")),
        }
    }

    /// Where runc joins it.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Run `f` inside the namespace: sockets made there stay in it.
    async fn inside<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let gone = || io::Error::other("the pod's network namespace thread is gone");
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// A listener inside the namespace, on the runtime's reactor.
    async fn listen(&self, at: SocketAddr) -> io::Result<tokio::net::TcpListener> {
        let listener = self
            .inside(move || TcpListener::bind(at).and_then(|l| l.set_nonblocking(true).map(|()| l)))
            .await?;
        tokio::net::TcpListener::from_std(listener)
    }

    /// A TCP connection to `127.0.0.1:port` inside the namespace.
    pub(crate) async fn connect(&self, port: u16) -> io::Result<tokio::net::TcpStream> {
        use rustix::net::{AddressFamily, SocketFlags, SocketType};
        let fd = self
            .inside(|| {
                let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
                Ok(rustix::net::socket_with(AddressFamily::INET, SocketType::STREAM, flags, None)?)
            })
            .await?;
        let socket = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(fd));
        socket.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
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

    /// Join the namespace to the pod network (once, before its first container starts):
    /// redirected connects routed, cluster DNS answering, the wasm listeners mirrored in. All
    /// of it ends when the namespace is dropped.
    pub(crate) async fn join(self: &Arc<Self>, net: &Arc<NodeNetwork>, pod: Ipv4Addr) -> Result<(), String> {
        self.joined
            .get_or_try_init(|| async {
                // Aborted if joining fails half way (the next container start tries again).
                let mut tasks = AbortAll(Vec::new());
                let redirected = self
                    .listen(SocketAddr::from((Ipv4Addr::LOCALHOST, INTERCEPT_PORT)))
                    .await
                    .map_err(|e| format!("listening for the pod's connects: {e}"))?;
                tasks.0.push(tokio::spawn(route_out(redirected, net.clone(), pod)).abort_handle());
                if let Some(dns) = net.pod_dns() {
                    let at = SocketAddr::from((DNS_ADDR, 53));
                    let udp = self
                        .inside(move || {
                            std::net::UdpSocket::bind(at).and_then(|u| u.set_nonblocking(true).map(|()| u))
                        })
                        .await
                        .and_then(tokio::net::UdpSocket::from_std)
                        .map_err(|e| format!("cluster DNS in the pod (UDP): {e}"))?;
                    let tcp =
                        self.listen(at).await.map_err(|e| format!("cluster DNS in the pod (TCP): {e}"))?;
                    tasks.0.push(dns.serve(udp, tcp).abort_handle());
                }
                // The mirror ends by itself (with its listeners) once the namespace is gone.
                tokio::spawn(mirror(Arc::downgrade(self), net.clone(), pod));
                Ok(std::mem::take(&mut tasks.0))
            })
            .await
            .map(drop)
    }
}

/// Tasks aborted when dropped.
struct AbortAll(Vec<tokio::task::AbortHandle>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Connects redirected out of the namespace: each goes where the pod's connect to its original
/// destination is routed, or is reset (refused, or denied by policy).
async fn route_out(listener: tokio::net::TcpListener, net: Arc<NodeNetwork>, pod: Ipv4Addr) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                // Out of descriptors, most likely: wait rather than spin.
                tracing::debug!(%pod, error = %e, "accepting a pod's connect failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let net = net.clone();
        tokio::spawn(async move {
            let routed = rustix::net::sockopt::ip_original_dst(&client)
                .map_err(|e| e.to_string())
                .and_then(|to| net.route(pod, Proto::Tcp, SocketAddr::V4(to)).map_err(|e| e.to_string()));
            let result = match routed {
                Ok(real) => splice_from(client, real, &net, pod).await,
                Err(e) => {
                    let _ = client.set_zero_linger();
                    Err(io::Error::other(e))
                }
            };
            if let Err(e) = result {
                tracing::debug!(%pod, error = %e, "a connect from an OCI container ended");
            }
        });
    }
}

/// Splice `client` to `real`, the far side seeing the pod's address as the caller's.
async fn splice_from(
    mut client: tokio::net::TcpStream,
    real: SocketAddr,
    net: &NodeNetwork,
    pod: Ipv4Addr,
) -> io::Result<()> {
    let mut upstream = tokio::net::TcpStream::connect(real).await?;
    let local = upstream.local_addr()?;
    net.name_peer(Proto::Tcp, local, SocketAddr::from((pod, local.port())));
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let result = tokio::io::copy_bidirectional(&mut client, &mut upstream).await.map(drop);
    net.forget_peer(Proto::Tcp, local);
    result
}

async fn mirror(ns: Weak<NetNs>, net: Arc<NodeNetwork>, pod: Ipv4Addr) {
    // port -> (real address behind it, the in-namespace listener's task)
    let mut mirrored: HashMap<u16, (SocketAddr, tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut changes = net.watch_tcp(pod);
    loop {
        let Some(netns) = ns.upgrade() else { break };
        let mut failed = false;
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
            // On every address of the namespace: localhost and the pod IP alike.
            match netns.listen(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await {
                Ok(listener) => {
                    mirrored.insert(port, (host, tokio::spawn(forward_out(listener, host))));
                }
                // Taken inside (a container bound it without declaring it): tried again later.
                Err(e) => {
                    failed = true;
                    tracing::debug!(port, error = %e, "could not mirror a wasm listener into the pod's namespace")
                }
            }
        }
        drop(netns);
        // Until the pod's ports change (or, with a port still to mirror, a while); the pod
        // leaving the network closes the watch.
        let wait = if failed { RETRY_EVERY } else { CHECK_EVERY };
        if let Ok(Err(_)) = tokio::time::timeout(wait, changes.changed()).await {
            break;
        }
    }
    for (_, (_, task)) in mirrored {
        task.abort();
    }
}

/// Connections to a mirrored port go to the wasm container's real listener.
async fn forward_out(listener: tokio::net::TcpListener, host: SocketAddr) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, most likely: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(crate::network::host_port::splice(client, host));
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        for task in self.joined.get().into_iter().flatten() {
            task.abort();
        }
        // Already gone if the node ended everything of its data dir (`end_all`).
        if self.path().exists()
            && let Err(e) = delete(&self.name)
        {
            tracing::warn!(netns = %self.name, error = %e, "could not delete a pod's network namespace");
        }
    }
}

/// The networks a pod may address, as (address, prefix).
type Ranges = Vec<(Ipv4Addr, u8)>;

/// Namespaces made ahead of the pods that will need them: making one (`ip netns add`, its
/// configuration, its thread: ~10 ms) is most of an OCI pod's start beyond the OCI runtime
/// itself, and nothing in it depends on the pod. Every namespace of a data dir is named
/// `wk-<data dir hash>-N`, so what a crash left is found ([`Pool::prefix`]).
#[derive(Debug)]
pub(crate) struct Pool {
    prefix: String,
    /// How many are kept ready (0: none are made ahead; also once closed).
    size: std::sync::atomic::AtomicUsize,
    /// Ready ones, with the ranges they were made for.
    ready: Mutex<Vec<(Ranges, NetNs)>>,
    filling: std::sync::atomic::AtomicBool,
    made: std::sync::atomic::AtomicU64,
    /// The node is stopping: what a refill makes now is deleted at once.
    closed: std::sync::atomic::AtomicBool,
}

impl Pool {
    pub(crate) fn new(data_dir: &std::path::Path, size: usize) -> Pool {
        Pool {
            prefix: Self::prefix(data_dir),
            size: size.into(),
            ready: Mutex::default(),
            filling: Default::default(),
            made: Default::default(),
            closed: Default::default(),
        }
    }

    /// The start of the names of a data dir's namespaces.
    pub(crate) fn prefix(data_dir: &std::path::Path) -> String {
        let hash = crate::images::sha256_hex(data_dir.as_os_str().as_encoded_bytes());
        format!("wk-{}-", &hash[..8])
    }

    fn fresh(&self, ranges: &[(Ipv4Addr, u8)]) -> Result<NetNs, String> {
        let n = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        NetNs::create(&format!("{}{}-{n}", self.prefix, std::process::id()), ranges)
    }

    /// A namespace for a pod that may address `ranges` (blocking): a ready one if there is, else
    /// one made now; then the pool is refilled in the background.
    pub(crate) fn take(self: &Arc<Self>, ranges: &[(Ipv4Addr, u8)]) -> Result<NetNs, String> {
        let ready = {
            let mut ready = self.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            ready.iter().position(|(r, _)| r == ranges).map(|i| ready.swap_remove(i).1)
        };
        let ns = match ready {
            Some(ns) => ns,
            None => self.fresh(ranges)?,
        };
        self.refill(ranges.to_vec());
        Ok(ns)
    }

    /// Make no more ahead and delete the ready ones (the node is stopping). Blocking.
    pub(crate) fn close(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.size.store(0, SeqCst);
        let ready = {
            let mut ready = self.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            self.closed.store(true, SeqCst);
            std::mem::take(&mut *ready)
        };
        drop(ready);
        // A refill under way finishes its namespace, sees `closed` and deletes it.
        while self.filling.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn refill(self: &Arc<Self>, ranges: Ranges) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.size.load(SeqCst) == 0 || self.filling.swap(true, SeqCst) {
            return;
        }
        let pool = self.clone();
        let filler = move || {
            loop {
                let have = {
                    let mut ready = pool.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    // Made for ranges that changed since: of no use any more.
                    ready.retain(|(r, _)| *r == ranges);
                    ready.len()
                };
                if have >= pool.size.load(SeqCst) {
                    break;
                }
                match pool.fresh(&ranges) {
                    Ok(ns) => {
                        let mut ready = pool.ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        if pool.closed.load(SeqCst) {
                            drop(ready);
                            drop(ns);
                            break;
                        }
                        ready.push((ranges.clone(), ns));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not make a network namespace ahead");
                        break;
                    }
                }
            }
            pool.filling.store(false, SeqCst);
        };
        if let Err(e) = std::thread::Builder::new().name("netns-pool".into()).spawn(filler) {
            tracing::warn!(error = %e, "could not start filling the network namespace pool");
            self.filling.store(false, SeqCst);
        }
    }
}
