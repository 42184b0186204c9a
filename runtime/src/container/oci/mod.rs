//! OCI containers, run by a real OCI runtime binary (`runc` unless configured otherwise) in the
//! pod beside its wasm containers.
//!
//! One run: the image's root (unpacked once per image) is the lower layer of an overlay whose
//! upper layer is this run's own, mounted as the bundle's `rootfs`; `config.json` comes from the
//! image config and the container spec ([`spec`]). `runc run --detach` (crun: `create` +
//! `start`) gets pipes as stdio, which feed the container's log files; the runtime is the child
//! subreaper, so the container's init becomes our child and its exit is seen at once through a
//! pidfd. A stop is SIGTERM, then SIGKILL when the grace period ends.
//! Afterwards the container is deleted, the overlay unmounted and the bundle removed.

mod spec;

use super::{ContainerEnv, Outcome};
use crate::logs::Stream;
use crate::network::{PodNetwork, Proto};
use crate::spec::ContainerKind;
use serde_json::Value;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The OCI runtimes a data dir's containers may have been run by (the configured one, or the
/// other after a change of configuration): each keeps its own state.
const RUNTIMES: [&str; 2] = ["runc", "crun"];

/// Where the OCI runtime keeps the state of this data dir's containers: tmpfs, so nothing
/// outlives a reboot, and one directory per runtime and data dir, so this node's containers are
/// all and only its own. (The runtime made `data_dir` absolute at start.)
fn state_root(runtime: &str, data_dir: &Path) -> PathBuf {
    let hash = crate::images::sha256_hex(data_dir.as_os_str().as_encoded_bytes());
    PathBuf::from(format!("/run/wasmkube-{runtime}")).join(&hash[..16])
}

/// The runtime binary's name (`runc`, `crun`) for a configured path.
pub(crate) fn runtime_kind(binary: &Path) -> String {
    binary.file_name().map_or_else(|| binary.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// `BINARY --root STATE` for this data dir. crun runs in a mount namespace of its own in which
/// `/sys/fs/cgroup/unified` is not mounted: on a host in cgroup hybrid mode (v1 controllers
/// beside a v2 `unified` tree, as these machines are) crun refuses to run otherwise, and there it
/// then uses the v1 controllers, as runc does. The namespace is made by `unshare(1)` and a shell
/// that execs crun (same process, our child): a `pre_exec` hook would make every start fork
/// this process's whole address space (wasmtime reserves terabytes of it), ~20 ms each, and
/// one long-lived namespace would not see the containers' root mounts made after it.
fn oci_command(binary: &Path, data_dir: &Path) -> Command {
    let kind = runtime_kind(binary);
    let root = state_root(&kind, data_dir);
    let mut cmd = if kind == "crun" {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("umount -l /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"")
            .arg("crun")
            .arg(binary);
        cmd
    } else {
        Command::new(binary)
    };
    cmd.arg("--root").arg(root);
    cmd.stdin(Stdio::null());
    cmd
}

/// End every OCI container this data dir's runtime left running (a crash, a kill, or the
/// server stopping): kill and delete them, unmount their roots, delete the pods' network
/// namespaces. Their pods start afresh, as the wasm ones do. Blocking. Returns how many
/// containers there were.
pub(crate) fn end_all(config: &crate::runtime::RuntimeConfig) -> usize {
    let mut ended = 0;
    for kind in RUNTIMES {
        let root = state_root(kind, &config.data_dir);
        let Ok(entries) = std::fs::read_dir(&root) else { continue };
        // The configured binary for its own kind; the other kind by its name.
        let binary =
            if config.oci_handler() == kind { config.oci_runtime.clone() } else { PathBuf::from(kind) };
        let ids: Vec<String> =
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        // Eight at a time: a node stopping with hundreds of containers ends them in seconds.
        std::thread::scope(|scope| {
            for chunk in ids.chunks(ids.len().div_ceil(8).max(1)) {
                let binary = &binary;
                scope.spawn(move || {
                    for id in chunk {
                        // `--force` kills what still runs (SIGKILL) before deleting.
                        let _ =
                            oci_command(binary, &config.data_dir).args(["delete", "--force", id]).output();
                        remove_cgroups(id);
                    }
                });
            }
        });
        ended += ids.len();
        let _ = std::fs::remove_dir(&root);
    }
    let pods = config.data_dir.join("pods");
    for pod in std::fs::read_dir(&pods).into_iter().flatten().flatten() {
        for bundle in std::fs::read_dir(pod.path().join("oci")).into_iter().flatten().flatten() {
            let _ = rustix::mount::unmount(bundle.path().join("rootfs"), rustix::mount::UnmountFlags::DETACH);
        }
        // Named after the pod by earlier versions.
        let netns = format!("wk-{}", pod.file_name().to_string_lossy());
        if Path::new("/run/netns").join(&netns).exists() {
            let _ = crate::oci::netns::delete(&netns);
        }
    }
    let prefix = crate::oci::netns::Pool::prefix(&config.data_dir);
    for entry in std::fs::read_dir("/run/netns").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) {
            let _ = crate::oci::netns::delete(&name);
        }
    }
    ended
}

/// Where a run of the pod's OCI container `name` has its bundle (its writable layer is `upper`).
pub(crate) fn bundle_dir(pod_dir: &Path, name: &str) -> PathBuf {
    pod_dir.join("oci").join(name)
}

pub(crate) async fn run(env: &Arc<ContainerEnv>, on_running: impl FnOnce()) -> Outcome {
    if env.pod.runtime.ending.load(std::sync::atomic::Ordering::SeqCst) {
        return Outcome::error(128, "StartError", "the node is stopping".into());
    }
    let id = container_id(env);
    let bundle = bundle_dir(&env.pod.pod_dir, &env.spec.name);
    cleanup(env, &id, &bundle).await;
    let created = create(env, &id, &bundle).await;
    let outcome = match created {
        Err(message) => Outcome::error(128, "StartError", message),
        Ok(created) => {
            on_running();
            created.wait(env, &id).await
        }
    };
    cleanup(env, &id, &bundle).await;
    // The image may have been removed while this container ran on it: its root goes now.
    let runtime = env.pod.runtime.clone();
    let _ = tokio::task::spawn_blocking(move || runtime.images.sweep_roots()).await;
    outcome
}

fn container_id(env: &ContainerEnv) -> String {
    format!("wk-{}-{}", env.pod.spec.uid, env.spec.name)
}

fn runc(env: &ContainerEnv) -> Command {
    oci_command(&env.pod.runtime.config.oci_runtime, &env.pod.runtime.config.data_dir)
}

/// Run `runc ARGS` to its end (off the async threads); the error text if it failed.
async fn runc_do(env: &ContainerEnv, args: &[&str]) -> Result<(), String> {
    let mut cmd = runc(env);
    cmd.args(args);
    let name = runtime_name(env);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("running {name}: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

fn runtime_name(env: &ContainerEnv) -> String {
    env.pod.runtime.config.oci_runtime.display().to_string()
}

/// Whatever an earlier run (or a crash) left: the runc container, the overlay, the bundle.
async fn cleanup(env: &ContainerEnv, id: &str, bundle: &Path) {
    if !bundle.exists() {
        return;
    }
    let _ = runc_do(env, &["delete", "--force", id]).await;
    remove_cgroups(id);
    let rootfs = bundle.join("rootfs");
    let _ = rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH);
    let _ = std::fs::remove_dir_all(bundle);
}

struct Created {
    /// The container's init process, our child (we are its subreaper).
    pidfd: OwnedFd,
    pumps: Vec<tokio::task::JoinHandle<()>>,
    /// Container ports published into the pod network while it runs.
    _ports: Vec<PublishedPort>,
}

/// Make this process the subreaper of what it starts: a container's init, whose parent (the
/// runtime's `create`) exits at once, becomes our child, so we can reap it and read its status.
fn become_subreaper() -> Result<(), String> {
    static ONCE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .map_err(|e| format!("becoming the child subreaper: {e}"))
    })
    .clone()
}

async fn create(env: &Arc<ContainerEnv>, id: &str, bundle: &Path) -> Result<Created, String> {
    let image = env.spec.image.container.as_ref().ok_or("not a container image")?;
    become_subreaper()?;
    let rootfs_cache = env.pod.runtime.config.data_dir.join("oci").join("rootfs");
    let spec_image = env.spec.image.clone();
    // The root stays (a sweep waits) until the overlay below is mounted on it.
    let (lower, in_use) = tokio::task::spawn_blocking(move || {
        let lock = crate::oci::rootfs::lock_file(&rootfs_cache)
            .and_then(|f| f.lock_shared().map(|()| f))
            .map_err(|e| format!("{}: {e}", rootfs_cache.display()))?;
        crate::oci::rootfs::unpacked(&rootfs_cache, &spec_image).map(|lower| (lower, lock))
    })
    .await
    .map_err(|e| e.to_string())??;
    let netns = {
        let pod = env.pod.clone();
        tokio::task::spawn_blocking(move || pod.netns()).await.map_err(|e| e.to_string())??
    };
    netns.join(&env.pod.runtime.network, env.pod.spec.pod_ip).await?;
    for dir in ["rootfs", "upper", "work"] {
        std::fs::create_dir_all(bundle.join(dir)).map_err(|e| format!("{}: {e}", bundle.display()))?;
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        bundle.join("upper").display(),
        bundle.join("work").display()
    );
    let options = std::ffi::CString::new(options).map_err(|e| e.to_string())?;
    rustix::mount::mount(
        "overlay",
        bundle.join("rootfs"),
        "overlay",
        rustix::mount::MountFlags::empty(),
        options.as_c_str(),
    )
    .map_err(|e| format!("mounting the container's root (overlay): {e}"))?;
    drop(in_use);
    let config = image.config.config.clone().unwrap_or_default();
    let user = spec::effective_user(env, &lower, config.user.as_deref())?;
    let mut spec = spec::runtime_spec(env, &config, user, &netns.path())?;
    let etc = spec::write_etc(env, bundle)?;
    spec["mounts"].as_array_mut().expect("mounts is a list").extend(etc);
    let json = serde_json::to_vec_pretty(&spec).expect("a runtime spec serialises");
    std::fs::write(bundle.join("config.json"), json).map_err(|e| format!("writing config.json: {e}"))?;

    // The pod's ports first: a port another container holds fails the start before there is
    // a process to clean up.
    let ports = publish_ports(env, &netns)?;
    let (out_r, out_w) = std::io::pipe().map_err(|e| e.to_string())?;
    let (err_r, err_w) = std::io::pipe().map_err(|e| e.to_string())?;
    let pid_file = bundle.join("pid");
    let log = bundle.join("runc.log");
    // runc: one `run --detach` (create and start), the quicker for it. crun: `create` then
    // `start`, the quicker for crun (its `run --detach` often waits ~10 ms more). Either way the
    // container's init is running when this is done, with the pipes as its stdio.
    let split = env.pod.runtime.config.oci_handler() == "crun";
    let mut create = runc(env);
    create.args(["--log"]).arg(&log).args(["--log-format", "json"]);
    create.args(if split { &["create"][..] } else { &["run", "--detach"][..] });
    create.arg("--bundle").arg(bundle).arg("--pid-file").arg(&pid_file).arg(id).stdout(out_w).stderr(err_w);
    let mut start = runc(env);
    start.args(["--log"]).arg(&log).args(["--log-format", "json", "start", id]);
    // The command (and with it our copies of the write ends) is gone once this returns: the
    // streams end when the container's own copies close.
    let status = tokio::task::spawn_blocking(move || {
        let created = create.status()?;
        if split && created.success() { start.status() } else { Ok(created) }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("running {}: {e}", runtime_name(env)));
    let pumps = vec![pump(env, out_r, Stream::Stdout), pump(env, err_r, Stream::Stderr)];
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .and_then(rustix::process::Pid::from_raw);
    let failed = match status {
        Ok(status) if status.success() => None,
        Ok(_) => Some(runc_error(&log).unwrap_or_else(|| format!("{} run failed", runtime_name(env)))),
        Err(e) => Some(e),
    };
    if let Some(error) = failed {
        // Created but not started: the init waiting to start is ended and reaped (our child).
        if let Some(pid) = pid {
            let _ = runc_do(env, &["delete", "--force", id]).await;
            reap(pid).await;
        }
        return Err(error);
    }
    // Our child now (we are its subreaper), so it stays until we reap it, even if it has
    // already exited.
    let pidfd = pid.map(|pid| rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()));
    let pidfd = match pidfd {
        Some(Ok(pidfd)) => pidfd,
        failed => {
            // Running, but not watchable: end it and reap it rather than leave a zombie.
            let _ = runc_do(env, &["kill", id, "KILL"]).await;
            if let Some(pid) = pid {
                reap(pid).await;
            }
            return Err(match failed {
                Some(Err(e)) => format!("watching the container's process: {e}"),
                _ => "the runtime wrote no pid file".into(),
            });
        }
    };
    Ok(Created { pidfd, pumps, _ports: ports })
}

/// The container's cgroups, in every hierarchy, should the runtime's delete have left them (it
/// gives up on one whose last process is still exiting): empty directories, so removing them
/// never ends anything.
fn remove_cgroups(id: &str) {
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        let _ = std::fs::remove_dir(hierarchy.path().join("wasmkube").join(id));
    }
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup/wasmkube").join(id));
}

/// Reap `pid` (ended, or being ended) if it is or becomes our child, waiting at most 2 s: it
/// may still be on its way to us (handed over when its parent exits).
async fn reap(pid: rustix::process::Pid) {
    for _ in 0..200 {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
            Ok(Some(_)) => return,
            Err(e) if e != rustix::io::Errno::CHILD => return,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The last error runc logged (its JSON log), as one line.
fn runc_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["level"] == "error")
        .and_then(|v| v["msg"].as_str().map(str::to_string))
}

/// Copy what the container writes on one stream into its log.
fn pump(env: &Arc<ContainerEnv>, reader: std::io::PipeReader, stream: Stream) -> tokio::task::JoinHandle<()> {
    let env = env.clone();
    tokio::spawn(async move {
        let Ok(mut rx) = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader)) else {
            return;
        };
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = rx.read(&mut buf).await {
            if n == 0 {
                break;
            }
            env.logs.write(stream, &buf[..n]);
        }
    })
}

impl Created {
    async fn wait(self, env: &ContainerEnv, id: &str) -> Outcome {
        // Reaped when it exits: looked at on every SIGCHLD the process gets (and twice a
        // second in case one was missed).
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()).ok();
        let exited = async {
            let mut not_ours_since = None;
            loop {
                let options = rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOHANG;
                match rustix::process::waitid(rustix::process::WaitId::PidFd(self.pidfd.as_fd()), options) {
                    Ok(Some(status)) => {
                        return Some(
                            status
                                .exit_status()
                                .unwrap_or_else(|| 128 + status.terminating_signal().unwrap_or(9)),
                        );
                    }
                    Ok(None) => {}
                    // Not our child yet: crun's init has an intermediate parent that exits just
                    // after crun does, and only then is the init handed to us, its subreaper.
                    Err(rustix::io::Errno::CHILD)
                        if not_ours_since.get_or_insert_with(std::time::Instant::now).elapsed()
                            < Duration::from_secs(5) =>
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    Err(_) => return None,
                }
                match sigchld.as_mut() {
                    Some(signals) => {
                        let _ = tokio::time::timeout(Duration::from_millis(500), signals.recv()).await;
                    }
                    None => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        };
        tokio::pin!(exited);
        let code = tokio::select! {
            code = &mut exited => code,
            deadline = env.stop.requested() => {
                let _ = runc_do(env, &["kill", id, "TERM"]).await;
                tokio::select! {
                    code = &mut exited => code,
                    () = tokio::time::sleep_until(deadline) => {
                        let _ = runc_do(env, &["kill", id, "KILL"]).await;
                        exited.await
                    }
                }
            }
        };
        // The streams end when the last process holding them does (all of them go with init).
        for pump in self.pumps {
            let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
        }
        let oom = oom_killed(id);
        match code {
            None => Outcome::error(128, "Error", "lost track of the container's process".into()),
            Some(_) if oom => Outcome::error(
                super::KILLED_EXIT_CODE,
                "OOMKilled",
                "the container exceeded its memory limit".into(),
            ),
            Some(code) => Outcome::exited(code),
        }
    }
}

/// Whether the kernel's OOM killer struck in the container's cgroup (v1 or v2).
fn oom_killed(id: &str) -> bool {
    let count = |path: &str, key: &str| -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok()))
            .unwrap_or(0)
    };
    count(&format!("/sys/fs/cgroup/memory/wasmkube/{id}/memory.oom_control"), "oom_kill ") > 0
        || count(&format!("/sys/fs/cgroup/wasmkube/{id}/memory.events"), "oom_kill ") > 0
        || count(&format!("/sys/fs/cgroup/unified/wasmkube/{id}/memory.events"), "oom_kill ") > 0
}

/// A container port in the pod network: a host listener whose connections go to the port
/// inside the pod's network namespace. Released when dropped.
struct PublishedPort {
    env: Arc<ContainerEnv>,
    netns: Arc<crate::oci::netns::NetNs>,
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PublishedPort {
    fn drop(&mut self) {
        self.task.abort();
        // Released first: until then the port is the container's, never mirrored in.
        self.env.pod.runtime.network.release(self.env.pod.spec.pod_ip, Proto::Tcp, self.port);
        self.netns.serves(self.port, false);
    }
}

fn publish_ports(
    env: &Arc<ContainerEnv>,
    netns: &Arc<crate::oci::netns::NetNs>,
) -> Result<Vec<PublishedPort>, String> {
    let ContainerKind::Detect { ports } = &env.spec.kind else { return Ok(Vec::new()) };
    let net = &env.pod.runtime.network;
    let ip = env.pod.spec.pod_ip;
    let mut published = Vec::new();
    for &port in ports {
        net.reserve(ip, Proto::Tcp, port).map_err(|e| format!("container port {port}: {e}"))?;
        netns.serves(port, true);
        let bound = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std);
        let listener = match bound {
            Ok(l) => l,
            Err(e) => {
                net.release(ip, Proto::Tcp, port);
                netns.serves(port, false);
                return Err(format!("container port {port}: {e}"));
            }
        };
        let host = listener.local_addr().map_err(|e| e.to_string())?;
        net.publish(ip, Proto::Tcp, port, host, false);
        let task = tokio::spawn(forward(listener, netns.clone(), port));
        published.push(PublishedPort { env: env.clone(), netns: netns.clone(), port, task });
    }
    Ok(published)
}

async fn forward(listener: tokio::net::TcpListener, netns: Arc<crate::oci::netns::NetNs>, port: u16) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            // Out of descriptors, most likely: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let netns = netns.clone();
        tokio::spawn(async move {
            let Ok(mut inside) = netns.connect(port).await else { return };
            let _ = client.set_nodelay(true);
            let _ = inside.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut inside).await;
        });
    }
}
