//! Compiled components are cached on disk and reused by a later runtime on the same data dir.

use crate::support::*;
use wasmkube_runtime::{Runtime, RuntimeConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runtime_loads_the_compiled_component_from_disk() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    t.rt.prepare(&hello).await.unwrap();
    t.rt.prepare(&hello).await.unwrap();
    let first = t.rt.cache_counts();
    assert_eq!((first.compiled, first.loaded_from_disk, first.memory_hits), (1, 0, 1));

    let again = Runtime::new(engine(), RuntimeConfig::new(t.dir.path())).unwrap();
    again.prepare(&hello).await.unwrap();
    let second = again.cache_counts();
    assert_eq!((second.compiled, second.loaded_from_disk), (0, 1), "the disk cache was not used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pods_share_one_compilation() {
    let t = TestRuntime::new();
    let hello = t.image("hello");
    let pods: Vec<_> = (0..6)
        .map(|i| {
            t.rt.start_pod(pod(&format!("many-{i}"), vec![command("c", &hello, &[])]), Default::default())
                .unwrap()
        })
        .collect();
    for p in &pods {
        assert_eq!(p.wait().await.containers[0].state.exit_code(), Some(0));
    }
    assert_eq!(t.rt.cache_counts().compiled, 1);
}
