//! An OCI container's runtime spec (`config.json`): the image config and the container spec
//! (command/args over Entrypoint/Cmd, env, working dir, user and securityContext, Docker's
//! default capabilities, seccomp, cgroup limits, the pod's volumes and network namespace), and
//! the `/etc` files the kubelet writes.

use super::container_id;
use crate::container::ContainerEnv;
use crate::oci::image::ContainerConfig;
use crate::spec::{ContainerSpec, Seccomp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

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

/// The user the container runs as: the securityContext's over the image's; a container that
/// must not run as root and would is refused, as the kubelet does.
pub(super) fn effective_user(
    env: &ContainerEnv,
    rootfs: &Path,
    image_user: Option<&str>,
) -> Result<(u32, u32), String> {
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

pub(super) fn runtime_spec(
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
pub(super) fn write_etc(env: &ContainerEnv, bundle: &Path) -> Result<Vec<Value>, String> {
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
