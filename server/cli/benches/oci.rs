//! OCI benchmark: pod start latency, create -> `Running` on a watch, of a wasm `http-hello` pod
//! against an OCI busybox pod through our adapter (with runc, and on a second server with
//! crun), in the same run, and `runc`/`crun` `create` + `start` of the same image's bundle by
//! hand as the floors. Each pod
//! is created once the one before runs (as the floor's containers are started one at a time):
//! a burst of OCI pods on two cores measures queueing behind runc, not a start.
//!
//! Run: `cargo bench -p wasmkube --bench oci` (`-- --quick` for a smoke run). Needs root, runc,
//! crun, umoci and busybox-static (`tools.sh` installs them). Figures, never assertions.

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use support::record::{merged, record, spread};
use support::{BIN, percentile, start_latency, start_server, start_server_with};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// An OCI layout `dir/img:bb` with Debian's busybox-static and `sleep` as its command.
fn busybox_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("img");
    let image = format!("{}:bb", layout.display());
    let unpacked = dir.join("unpacked");
    run(Command::new("umoci").args(["init", "--layout"]).arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    run(Command::new("umoci").args(["unpack", "--rootless", "--image", &image]).arg(&unpacked));
    std::fs::create_dir_all(unpacked.join("rootfs/bin")).unwrap();
    std::fs::copy("/bin/busybox", unpacked.join("rootfs/bin/busybox")).expect("busybox-static");
    for applet in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", unpacked.join("rootfs/bin").join(applet)).unwrap();
    }
    run(Command::new("umoci").args(["repack", "--image", &image]).arg(&unpacked));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--config.cmd=/bin/sleep",
        "--config.cmd=3600",
    ]));
    layout
}

fn wasm_pod(name: &str) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"http-hello:latest"}}]}}}}"#
    )
}

fn oci_pod(name: &str) -> String {
    format!(
        r#"{{"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"bench/bb:1","imagePullPolicy":"Never"}}]}}}}"#
    )
}

/// `BINARY create` + `BINARY start` (runc or crun) of the image's own bundle (as root, not
/// rootless), `n` times: milliseconds each, the container deleted after each.
fn bare(binary: &str, dir: &Path, layout: &Path, n: usize) -> Vec<f64> {
    let bundle = dir.join(format!("bundle-{binary}"));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:bb", layout.display()))
        .arg(&bundle));
    // Detached, as a pod's container is: no terminal.
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let root = dir.join(format!("{binary}-state"));
    let call = |args: &[&str]| {
        Command::new(binary)
            .arg("--root")
            .arg(&root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    let bundle = bundle.to_string_lossy().into_owned();
    let mut v = Vec::new();
    for i in 0..n {
        let id = format!("bench-{i}");
        let t0 = Instant::now();
        assert!(call(&["create", "--bundle", &bundle, &id]).success(), "{binary} create failed");
        assert!(call(&["start", &id]).success(), "{binary} start failed");
        v.push(t0.elapsed().as_secs_f64() * 1e3);
        call(&["delete", "--force", &id]);
    }
    v.sort_by(f64::total_cmp);
    v
}

/// Run `f` on a thread with a mount namespace of its own without `/sys/fs/cgroup/unified`, as
/// wasmkube runs crun: crun refuses hosts in cgroup hybrid mode otherwise.
#[expect(unsafe_code, reason = "unshare: this thread alone gets a private mount namespace")]
fn without_unified_cgroup<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use rustix::mount::{MountPropagationFlags, UnmountFlags};
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: only CLONE_NEWNS (and the CLONE_FS it implies) for this thread; no file
                // descriptor table is unshared.
                unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }.unwrap();
                rustix::mount::mount_change("/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
                    .unwrap();
                let _ = rustix::mount::unmount("/sys/fs/cgroup/unified", UnmountFlags::DETACH);
                f()
            })
            .join()
            .unwrap()
    })
}

fn import(server: &support::Server, layout: &Path) {
    for (file, name) in [
        (
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/out/http-hello.wasm")),
            None,
        ),
        (layout.to_path_buf(), Some("bench/bb:1")),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(["image", "import", "--data-dir"]).arg(server.dir.path());
        if let Some(name) = name {
            cmd.args(["--name", name]);
        }
        run(cmd.arg(file));
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 3 } else { 100 };
    let work = tempfile::tempdir().unwrap();
    let layout = busybox_layout(work.path());
    let runc_server = start_server();
    let crun_server = start_server_with(&["--oci-runtime", "crun"]);
    import(&runc_server, &layout);
    import(&crun_server, &layout);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (wasm, runc_pods, crun_pods) = rt.block_on(async {
        let (a, b) = (&runc_server.addr, &crun_server.addr);
        // Warm: the component compiled, the image's layers unpacked.
        start_latency(a, 1, "warm-wasm", wasm_pod).await;
        start_latency(a, 1, "warm-oci", oci_pod).await;
        start_latency(b, 1, "warm-oci", oci_pod).await;
        let (mut wasm, mut runc_pods, mut crun_pods) = (Vec::new(), Vec::new(), Vec::new());
        // Interleaved, so drift on a shared machine hits every kind alike.
        for i in 0..n {
            wasm.extend(start_latency(a, 1, &format!("wasm{i}"), wasm_pod).await);
            runc_pods.extend(start_latency(a, 1, &format!("oci{i}"), oci_pod).await);
            crun_pods.extend(start_latency(b, 1, &format!("oci{i}"), oci_pod).await);
        }
        for v in [&mut wasm, &mut runc_pods, &mut crun_pods] {
            v.sort_by(f64::total_cmp);
        }
        (wasm, runc_pods, crun_pods)
    });
    drop((runc_server, crun_server));
    let bare_runc = bare("runc", work.path(), &layout, n);
    let bare_crun = without_unified_cgroup(|| bare("crun", work.path(), &layout, n));
    println!("\n### Pod start, create -> Running on a watch ({n} pods of each, one at a time; ms)");
    println!("| what | p50 | p99 | max | p50 vs the wasm pod |");
    println!("|---|---|---|---|---|");
    let w50 = percentile(&wasm, 0.5);
    let rows = [
        ("wasm `http-hello` pod", &wasm),
        ("OCI busybox pod (runc, our adapter)", &runc_pods),
        ("OCI busybox pod (crun, our adapter)", &crun_pods),
        ("bare `runc create` + `runc start` of the same bundle", &bare_runc),
        ("bare `crun create` + `crun start` of the same bundle", &bare_crun),
    ];
    for (what, v) in rows {
        println!(
            "| {what} | {:.2} | {:.2} | {:.2} | {:.1}x |",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[v.len() - 1],
            percentile(v, 0.5) / w50
        );
    }
    let one_at_a_time = format!("one at a time, {n} of each");
    for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
        let compare = |what: &str, ours: &[f64], peer: &str, theirs: &[f64], goal: &str| {
            let more = json!({"peer": peer, "peer_value": percentile(theirs, q), "goal": goal});
            let measure = format!("{what}, create -> Running, {one_at_a_time}, {label}");
            record("Pod start", &measure, "ms", percentile(ours, q), merged(&[spread(ours), more]));
        };
        let tenfold = if q == 0.5 { ">= 10x faster than the OCI pod" } else { "" };
        compare("wasm http-hello pod", &wasm, "OCI busybox pod (runc, our adapter)", &runc_pods, tenfold);
        let within = if q == 0.5 { "within 1.5x of bare runc" } else { "" };
        compare(
            "OCI busybox pod (runc, our adapter)",
            &runc_pods,
            "bare runc create + start",
            &bare_runc,
            within,
        );
        compare(
            "OCI busybox pod (crun, our adapter)",
            &crun_pods,
            "bare crun create + start",
            &bare_crun,
            "",
        );
    }
    println!(
        "OCI pod through the adapter vs bare runtime (p50): runc {:.2}x, crun {:.2}x",
        percentile(&runc_pods, 0.5) / percentile(&bare_runc, 0.5),
        percentile(&crun_pods, 0.5) / percentile(&bare_crun, 0.5)
    );
}
