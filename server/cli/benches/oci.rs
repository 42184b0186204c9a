//! OCI benchmark: pod start latency, create -> `Running` on a watch, of a wasm `http-hello` pod
//! against an OCI busybox pod through our adapter (runc), in the same run on the same server,
//! and `runc create` + `runc start` of the same image's bundle by hand as the floor. Each pod
//! is created once the one before runs (as the floor's containers are started one at a time):
//! a burst of OCI pods on two cores measures queueing behind runc, not a start.
//!
//! Run: `cargo bench -p wasmkube --bench oci` (`-- --quick` for a smoke run). Needs root, runc,
//! umoci and busybox-static (`tools.sh` installs them). Figures, never assertions.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use support::{BIN, percentile, start_latency, start_server};

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

/// `runc create` + `runc start` of the image's own bundle (as root, not rootless), `n` times:
/// milliseconds each, the container deleted after each.
fn bare_runc(dir: &Path, layout: &Path, n: usize) -> Vec<f64> {
    let bundle = dir.join("bundle");
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
    let root = dir.join("runc-state");
    let runc = |args: &[&str]| {
        Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    };
    let mut v = Vec::new();
    for i in 0..n {
        let id = format!("bench-{i}");
        let t0 = Instant::now();
        let created = Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["create", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "runc create failed");
        assert!(runc(&["start", &id]).success(), "runc start failed");
        v.push(t0.elapsed().as_secs_f64() * 1e3);
        runc(&["delete", "--force", &id]);
    }
    v.sort_by(f64::total_cmp);
    v
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n = if quick { 3 } else { 50 };
    let work = tempfile::tempdir().unwrap();
    let layout = busybox_layout(work.path());
    let server = start_server();
    for (file, name) in [
        (
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/out/http-hello.wasm")),
            None,
        ),
        (layout.clone(), Some("bench/bb:1")),
    ] {
        let mut cmd = Command::new(BIN);
        cmd.args(["image", "import", "--data-dir"]).arg(server.dir.path());
        if let Some(name) = name {
            cmd.args(["--name", name]);
        }
        run(cmd.arg(file));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (wasm, oci) = rt.block_on(async {
        // Warm: the component compiled, the image's layers unpacked.
        start_latency(&server.addr, 1, "warm-wasm", wasm_pod).await;
        start_latency(&server.addr, 1, "warm-oci", oci_pod).await;
        let mut wasm = Vec::new();
        let mut oci = Vec::new();
        for i in 0..n {
            wasm.extend(start_latency(&server.addr, 1, &format!("wasm{i}"), wasm_pod).await);
            oci.extend(start_latency(&server.addr, 1, &format!("oci{i}"), oci_pod).await);
        }
        wasm.sort_by(f64::total_cmp);
        oci.sort_by(f64::total_cmp);
        (wasm, oci)
    });
    drop(server);
    let bare = bare_runc(work.path(), &layout, n);
    println!("\n### Pod start, create -> Running on a watch ({n} pods of each, one at a time; ms)");
    println!("| what | p50 | p99 | max | p50 vs the wasm pod |");
    println!("|---|---|---|---|---|");
    let w50 = percentile(&wasm, 0.5);
    for (what, v) in [
        ("wasm `http-hello` pod", &wasm),
        ("OCI busybox pod (runc, our adapter)", &oci),
        ("bare `runc create` + `runc start` of the same bundle", &bare),
    ] {
        println!(
            "| {what} | {:.2} | {:.2} | {:.2} | {:.1}x |",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[v.len() - 1],
            percentile(v, 0.5) / w50
        );
    }
    println!(
        "OCI pod through the adapter vs bare runc (p50): {:.2}x",
        percentile(&oci, 0.5) / percentile(&bare, 0.5)
    );
}
