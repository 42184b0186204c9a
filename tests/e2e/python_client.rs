//! The official Python client (installed into a venv by the test itself).

use crate::support::{Server, python_with_client};
use std::process::Command;

#[test]
fn python_client_crud_watch_after_compaction_and_dynamic_client() {
    let py = python_with_client();
    let s = Server::start_with(&["--history-revisions", "5"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/python/client_test.py");
    let out = Command::new(py).arg(script).arg(s.kubeconfig()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
