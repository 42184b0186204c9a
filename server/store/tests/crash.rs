//! Crash safety: every write the store acknowledged is there after a `kill -9`.
//!
//! The test runs itself twice: as the parent, and (with `WASMKUBE_CRASH_CHILD` set) as a child
//! process that writes as fast as it can from several tasks and prints each acknowledged key.
//! The parent kills the child with SIGKILL mid-stream, reopens the file, and checks every
//! acknowledged key.

use bytes::Bytes;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use wasmkube_store::{Key, Op, RedbStore, RedbStoreConfig, Store};

const CHILD_ENV: &str = "WASMKUBE_CRASH_CHILD";

#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_writes_survive_kill_9", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(name) = line.strip_prefix("acked ") {
            acked.push(name.to_string());
        }
        if acked.len() >= 300 {
            break;
        }
    }
    Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    assert!(acked.len() >= 300, "the child acknowledged only {} writes", acked.len());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = RedbStore::open(RedbStoreConfig::new(&path)).expect("the file reopens after a crash");
    rt.block_on(async {
        for name in &acked {
            let got = store.get(&Key::new("configmaps", "default", name)).await.unwrap();
            assert!(got.is_some(), "acknowledged write {name} lost");
        }
    });
    assert!(store.current_rev() >= acked.len() as u64);
}

/// Write forever from 8 tasks; print a key only after its write returned Ok.
fn child(path: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let store = Arc::new(RedbStore::open(RedbStoreConfig::new(path)).unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let name = format!("t{t}-{i}");
                        let key = Key::new("configmaps", "default", &name);
                        store.write(Op::Create { key, value: Bytes::from_static(b"{}") }).await.unwrap();
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "acked {name}").unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}
