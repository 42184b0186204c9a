//! Test support: the real guest components from `guest-examples/out/`, one shared engine, and
//! small builders for pod specs.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use wasmkube_runtime::{
    ContainerKind, ContainerSpec, EngineConfig, ImageSpec, Limits, LogQuery, MountSpec, PodSpec,
    PoolingConfig, Runtime, RuntimeConfig, VolumeSource, VolumeSpec, WasmEngine,
};

/// The path of a built guest; fails (never skips) when the guests are not built.
pub fn guest(name: &str) -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-examples/out").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "guest component {} is missing: run `bash guest-examples/build.sh` from the repository root first",
        path.display()
    );
    path
}

/// One engine for the whole test binary, as in production: tests run in parallel threads of one
/// process, and each pooling engine reserves its own address space.
pub fn engine() -> WasmEngine {
    static ENGINE: OnceLock<WasmEngine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let config =
                EngineConfig { pooling: PoolingConfig::small_board(), epoch_tick: Duration::from_millis(5) };
            WasmEngine::new(&config).expect("creating the test engine")
        })
        .clone()
}

pub struct TestRuntime {
    pub dir: tempfile::TempDir,
    pub rt: Runtime,
}

impl Drop for TestRuntime {
    /// Whatever OCI containers a test left end with it (and runc's state directory goes).
    fn drop(&mut self) {
        self.rt.end_containers();
    }
}

impl TestRuntime {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// A runtime whose config `change` adjusts (e.g. a short restart back-off).
    pub fn with_config(change: impl FnOnce(&mut RuntimeConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = RuntimeConfig::new(dir.path());
        change(&mut config);
        let rt = Runtime::new(engine(), config).expect("runtime");
        TestRuntime { dir, rt }
    }

    /// Import a guest into this runtime's image store and resolve it, as the node agent would.
    pub fn image(&self, guest_name: &str) -> ImageSpec {
        let info = self.rt.images().import(&guest(guest_name), None).expect("import");
        self.rt.images().resolve(&info.name).expect("resolve")
    }

    pub fn logs(&self, uid: &str, container: &str) -> String {
        let mut out = Vec::new();
        self.rt.read_logs(uid, container, &LogQuery::default(), &mut out).expect("logs");
        String::from_utf8(out).unwrap()
    }
}

/// Where a host client reaches (pod, port), once the guest listens there.
pub async fn published(rt: &wasmkube_runtime::Runtime, ip: Ipv4Addr, port: u16) -> std::net::SocketAddr {
    use wasmkube_runtime::network::Proto;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(addr) = rt.network().host_addr(ip, Proto::Tcp, port) {
            return addr;
        }
        assert!(std::time::Instant::now() < deadline, "nothing listens on {ip}:{port}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// One HTTP/1.1 GET over a fresh connection; the whole response, head and body.
pub fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub fn command(name: &str, image: &ImageSpec, args: &[&str]) -> ContainerSpec {
    ContainerSpec {
        name: name.into(),
        image: image.clone(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        working_dir: None,
        mounts: Vec::new(),
        kind: ContainerKind::Command,
        limits: Limits::default(),
        sidecar: false,
        overrides: Default::default(),
        security: Default::default(),
    }
}

pub fn mount(volume: &str, path: &str) -> MountSpec {
    MountSpec { volume: volume.into(), mount_path: path.into(), read_only: false, sub_path: None }
}

pub fn empty_dir(name: &str) -> VolumeSpec {
    VolumeSpec { name: name.into(), source: VolumeSource::EmptyDir }
}

pub fn files(name: &str, entries: &[(&str, &str)]) -> VolumeSpec {
    let files: BTreeMap<String, Vec<u8>> =
        entries.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
    VolumeSpec { name: name.into(), source: VolumeSource::Files { files } }
}

pub fn pod(uid: &str, containers: Vec<ContainerSpec>) -> PodSpec {
    PodSpec {
        uid: uid.into(),
        name: uid.into(),
        namespace: "default".into(),
        hostname: uid.into(),
        pod_ip: Ipv4Addr::new(10, 244, 0, 2),
        volumes: Vec::new(),
        init_containers: Vec::new(),
        containers,
        restart_policy: Default::default(),
    }
}

/// Every file under `dir` (relative paths), for "nothing else was touched" checks.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path.strip_prefix(dir).unwrap().to_owned());
        }
    }
    out.sort();
    out
}
