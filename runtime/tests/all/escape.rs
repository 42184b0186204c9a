//! The filesystem namespace: a guest that tries every way out of its preopen is refused and the
//! host is untouched.

use crate::support::*;
use wasmkube_runtime::{PodPhase, StartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_escape_guest_is_refused_everywhere_and_touches_nothing_outside() {
    let t = TestRuntime::new();
    let escape = t.image("escape");
    let sentinel = t.dir.path().join("host-secret.txt");
    std::fs::write(&sentinel, "do not touch").unwrap();
    let before = tree(t.dir.path());

    let mut spec = pod("escape-1", Vec::new());
    spec.volumes.push(empty_dir("data"));
    let mut c = command("escape", &escape, &["/data"]);
    c.mounts.push(mount("data", "/data"));
    spec.containers.push(c);
    let status = t.rt.start_pod(spec, StartOptions::default()).unwrap().wait().await;
    let logs = t.logs("escape-1", "escape");
    assert_eq!(status.phase, PodPhase::Succeeded, "escape reported a way out:\n{logs}\n{status:#?}");

    assert!(logs.contains("refused") && !logs.contains("ESCAPED"), "{logs}");
    let pod_dir = std::path::Path::new("pods/escape-1");
    let after: Vec<_> = tree(t.dir.path())
        .into_iter()
        .filter(|p| !p.starts_with(pod_dir) && p != pod_dir && p != std::path::Path::new("pods"))
        .collect();
    let before: Vec<_> =
        before.into_iter().filter(|p| !p.starts_with("cache") && p != std::path::Path::new("pods")).collect();
    let after: Vec<_> = after.into_iter().filter(|p| !p.starts_with("cache")).collect();
    assert_eq!(before, after, "files appeared or vanished outside the pod's directory");
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "do not touch");
}
