//! Objects, revisions and uids survive restarts, including a kill -9 right after a write was
//! acknowledged.

use crate::support::Server;

#[test]
fn objects_survive_restart_and_crash() {
    let mut s = Server::start();
    s.apply(&crate::support::fixture("deploy-v1.yaml"), &[]);
    s.k(&["create", "configmap", "cm1", "--from-literal=e=f"]);
    let uid = s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.uid}"]);
    // A client watching while the server stops (kubectl get -w) does not hold the shutdown up.
    let mut watch = std::net::TcpStream::connect(&s.addr).unwrap();
    std::io::Write::write_all(&mut watch, b"GET /api/v1/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.restart(false);
    drop(watch);
    assert_eq!(s.k(&["get", "cm", "cm1", "-o", "jsonpath={.data.e}"]), "f");
    assert_eq!(s.k(&["get", "deploy", "web", "-o", "jsonpath={.metadata.uid}"]), uid);
    // Acknowledged writes are durable: kill -9 immediately after each answer.
    for i in 0..5 {
        s.k(&["create", "configmap", &format!("acked-{i}")]);
        s.restart(true);
        assert!(
            s.kubectl(&["get", "cm", &format!("acked-{i}")]).status.success(),
            "write {i} lost by kill -9"
        );
    }
    // Revisions keep growing across restarts.
    let before: u64 =
        s.k(&["get", "cm", "acked-4", "-o", "jsonpath={.metadata.resourceVersion}"]).parse().unwrap();
    s.k(&["create", "configmap", "later"]);
    let after: u64 =
        s.k(&["get", "cm", "later", "-o", "jsonpath={.metadata.resourceVersion}"]).parse().unwrap();
    assert!(after > before);
    assert_eq!(s.k(&["get", "ns", "default", "-o", "name"]).trim(), "namespace/default");
}
