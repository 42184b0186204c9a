//! OCI containers, run by a real OCI runtime binary (`runc` unless configured otherwise) in the
//! pod beside its wasm containers.
//!
//! One run: the image's root (unpacked once per image) is the lower layer of an overlay whose
//! upper layer is this run's own, mounted as the bundle's `rootfs`; `config.json` comes from the
//! image config and the container spec (command/args over Entrypoint/Cmd, env, working dir,
//! user, Docker's default capabilities, cgroup limits for memory, CPU and pids, the pod's
//! volumes bind-mounted from the same directories wasm containers preopen, the pod's network
//! namespace). `runc run --detach` gets pipes as stdio, which feed the container's log files; the
//! runtime is the child subreaper, so the container's init becomes our child and its exit is
//! seen at once through a pidfd. A stop is SIGTERM, then SIGKILL when the grace period ends.
//! Afterwards the container is deleted, the overlay unmounted and the bundle removed.

use super::{ContainerEnv, Outcome};
use crate::logs::Stream;
use crate::network::{PodNetwork, Proto};
use crate::oci::image::ContainerConfig;
use crate::spec::{ContainerKind, ContainerSpec, Seccomp};
use serde_json::{Value, json};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Docker's default capability set.
const CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Processes a container may have at most (a fork bomb stays inside its container).
const PIDS_LIMIT: i64 = 4096;

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
    let root = state_root(&runtime_kind(binary), data_dir);
    let mut cmd = if runtime_kind(binary) == "crun" {
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

pub(crate) async fn run(env: &Arc<ContainerEnv>, on_running: impl FnOnce()) -> Outcome {
    if env.pod.runtime.ending.load(std::sync::atomic::Ordering::SeqCst) {
        return Outcome::error(128, "StartError", "the node is stopping".into());
    }
    let id = container_id(env);
    let bundle = env.pod.pod_dir.join("oci").join(&env.spec.name);
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
    let user = effective_user(env, &lower, config.user.as_deref())?;
    let mut spec = runtime_spec(env, &config, user, &netns.path())?;
    let etc = write_etc(env, bundle)?;
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

/// The user the container runs as: the securityContext's over the image's; a container that
/// must not run as root and would is refused, as the kubelet does.
fn effective_user(env: &ContainerEnv, rootfs: &Path, image_user: Option<&str>) -> Result<(u32, u32), String> {
    let security = &env.spec.security;
    let (image_uid, image_gid) = user(rootfs, image_user)?;
    let uid = security.run_as_user.unwrap_or(image_uid);
    let gid = match (security.run_as_group, security.run_as_user) {
        (Some(gid), _) => gid,
        (None, Some(uid)) => lookup_by_uid(rootfs, uid).unwrap_or(0),
        (None, None) => image_gid,
    };
    if security.run_as_non_root && uid == 0 {
        return Err(format!(
            "container has runAsNonRoot and image will run as root (pod: {:?}, container: {})",
            env.pod.spec.name, env.spec.name
        ));
    }
    Ok((uid, gid))
}

/// Docker's default capabilities, less what the securityContext drops (`ALL` drops every
/// one), plus what it adds.
fn capabilities(security: &crate::spec::Security) -> Vec<String> {
    let name = |c: &String| {
        let upper = c.to_ascii_uppercase();
        if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") }
    };
    let dropped: Vec<String> = security.drop_capabilities.iter().map(name).collect();
    let mut caps: Vec<String> = if dropped.iter().any(|c| c == "CAP_ALL") {
        Vec::new()
    } else {
        CAPABILITIES.iter().map(|c| c.to_string()).filter(|c| !dropped.contains(c)).collect()
    };
    for added in security.add_capabilities.iter().map(name) {
        if !caps.contains(&added) {
            caps.push(added);
        }
    }
    caps
}

/// uid and gid for the image's `User` (`uid[:gid]` or names from the image's own passwd/group).
fn user(rootfs: &Path, user: Option<&str>) -> Result<(u32, u32), String> {
    let user = user.unwrap_or("").trim();
    if user.is_empty() {
        return Ok((0, 0));
    }
    let (u, g) = user.split_once(':').map_or((user, None), |(u, g)| (u, Some(g)));
    let lookup = |file: &str, name: &str| -> Option<(u32, u32)> {
        let text = image_file(rootfs, file)?;
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| {
                Some((f.get(2)?.parse().ok()?, f.get(3).and_then(|g| g.parse().ok()).unwrap_or(0)))
            })?
        })
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(uid) => (uid, lookup_by_uid(rootfs, uid).unwrap_or(0)),
        Err(_) => {
            lookup("passwd", u).ok_or_else(|| format!("user {u:?} is not in the image's /etc/passwd"))?
        }
    };
    let gid = match g {
        None => primary,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => lookup("group", g)
                .map(|(gid, _)| gid)
                .ok_or_else(|| format!("group {g:?} is not in the image's /etc/group"))?,
        },
    };
    Ok((uid, gid))
}

/// `/etc/FILE` of the image, if it is a plain file of sane size reached without a link (the
/// image's links point into its own root, never the host's).
fn image_file(rootfs: &Path, file: &str) -> Option<String> {
    use std::io::Read;
    let etc = rootfs.join("etc");
    let path = etc.join(file);
    let plain_dir = std::fs::symlink_metadata(&etc).ok()?.is_dir();
    let plain_file = std::fs::symlink_metadata(&path).ok()?.is_file();
    if !(plain_dir && plain_file) {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path).ok()?.take(1 << 20).read_to_string(&mut text).ok()?;
    Some(text)
}

fn lookup_by_uid(rootfs: &Path, uid: u32) -> Option<u32> {
    let text = image_file(rootfs, "passwd")?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f.get(3)?.parse().ok())?
    })
}

/// Kubernetes' rule: `command` replaces Entrypoint (and drops Cmd), `args` replaces Cmd.
fn argv(spec: &ContainerSpec, config: &ContainerConfig) -> Vec<String> {
    let o = &spec.overrides;
    match (&o.command, &o.args) {
        (Some(command), Some(args)) => command.iter().chain(args).cloned().collect(),
        (Some(command), None) => command.clone(),
        (None, Some(args)) => config.entrypoint.iter().flatten().chain(args).cloned().collect(),
        (None, None) => {
            config.entrypoint.iter().flatten().chain(config.cmd.iter().flatten()).cloned().collect()
        }
    }
}

/// The image's environment, then the container's (later entries win), with PATH defaulted.
fn environment(env: &ContainerEnv, config: &ContainerConfig) -> Vec<String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| match vars.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => slot.1 = v.to_string(),
        None => vars.push((k.to_string(), v.to_string())),
    };
    set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for kv in config.env.iter().flatten() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        set(k, v);
    }
    set("HOSTNAME", &env.pod.spec.hostname);
    for (k, v) in &env.spec.env {
        set(k, v);
    }
    vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn runtime_spec(
    env: &ContainerEnv,
    config: &ContainerConfig,
    (uid, gid): (u32, u32),
    netns: &Path,
) -> Result<Value, String> {
    let security = &env.spec.security;
    let caps = capabilities(security);
    let args = argv(&env.spec, config);
    if args.is_empty() {
        return Err(
            "no command to run: the image has no Entrypoint or Cmd and the container gives none".into()
        );
    }
    let cwd = env.spec.working_dir.clone().or_else(|| config.working_dir.clone()).filter(|d| !d.is_empty());
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
    ];
    for m in &env.spec.mounts {
        let (source, read_only) = env.volumes.host_dir(m).map_err(|e| e.to_string())?;
        let mut options = vec!["rbind", "rprivate"];
        if read_only {
            options.push("ro");
        }
        mounts
            .push(json!({"destination": m.mount_path, "type": "bind", "source": source, "options": options}));
    }
    let limits = env.spec.limits;
    let mut resources =
        json!({"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": PIDS_LIMIT}});
    if let Some(bytes) = limits.memory_bytes {
        // Swap counted in the limit too, so the limit is the limit.
        resources["memory"] = json!({"limit": bytes, "swap": bytes});
    }
    if let Some(millis) = limits.cpu_millis {
        // The kernel's smallest quota is 1 ms per period, as the kubelet clamps it.
        resources["cpu"] = json!({"quota": (i64::from(millis) * 100).max(1000), "period": 100_000});
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": environment(env, config),
            "cwd": cwd.unwrap_or_else(|| "/".into()),
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": security.no_new_privileges
        },
        "root": {"path": "rootfs", "readonly": security.read_only_root_filesystem},
        "hostname": env.pod.spec.hostname,
        "mounts": mounts,
        "linux": {
            "cgroupsPath": format!("/wasmkube/{}", container_id(env)),
            "resources": resources,
            "namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                {"type": "network", "path": netns}
            ],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    match &security.seccomp {
        Seccomp::Unconfined => {}
        Seccomp::RuntimeDefault => spec["linux"]["seccomp"] = runtime_default_seccomp(),
        Seccomp::Localhost(profile) => spec["linux"]["seccomp"] = profile.clone(),
    }
    Ok(spec)
}

/// System calls the `RuntimeDefault` profile refuses (EPERM): the ones Docker's default profile
/// is documented to block for reaching past the container — kernel modules and kexec, mounts
/// and namespaces, the keyring, bpf and perf, tracing other processes, the clock, swap, reboot,
/// NUMA policy, io_uring and obsolete calls. Everything else is allowed: a deny-list, unlike
/// Docker's allow-list, so a new system call is allowed until listed here.
const SECCOMP_DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
];

/// `clone` flags that make new namespaces (`CLONE_NEWNS`, `NEWCGROUP`, `NEWUTS`, `NEWIPC`,
/// `NEWUSER`, `NEWPID`, `NEWNET`): refused as `unshare` is.
const CLONE_NEW: [u64; 7] =
    [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000];

fn runtime_default_seccomp() -> Value {
    let mut rules = vec![json!({"names": SECCOMP_DENIED, "action": "SCMP_ACT_ERRNO", "errnoRet": 1})];
    // One rule per flag (a rule's conditions are all required; rules are alternatives).
    rules.extend(CLONE_NEW.iter().map(|flag| {
        json!({"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]})
    }));
    // clone3's flags are behind a pointer a filter cannot read: ENOSYS, so libc falls back to
    // clone, which the rules above see (as Docker's profile does).
    rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules
    })
}

/// `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` as the kubelet writes them (cluster
/// DNS inside the pod's namespace, the pod's search path), bind-mounted.
fn write_etc(env: &ContainerEnv, bundle: &Path) -> Result<Vec<Value>, String> {
    let name = &env.pod.spec.hostname;
    let hosts = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{}\t{name}\n",
        env.pod.spec.pod_ip
    );
    let domain = crate::network::services::CLUSTER_DOMAIN;
    let resolv = format!(
        "search {ns}.svc.{domain} svc.{domain} {domain}\nnameserver {dns}\noptions ndots:5\n",
        ns = env.pod.spec.namespace,
        dns = crate::oci::netns::DNS_ADDR,
    );
    let files = [("hosts", hosts), ("hostname", format!("{name}\n")), ("resolv.conf", resolv)];
    let mut mounts = Vec::new();
    for (file, text) in files {
        let path: PathBuf = bundle.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        mounts.push(json!({"destination": format!("/etc/{file}"), "type": "bind", "source": path, "options": ["rbind", "rprivate"]}));
    }
    Ok(mounts)
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
