//! The guestbook end to end, as a user runs it: `kubectl apply -f guest-examples/guestbook/`,
//! entries written through the ingress to redis-master and read back from the slaves, a
//! frontend pod deleted while a client keeps going (retrying what fails), redis-cli through a
//! NodePort, and dig against the cluster DNS server.

use crate::support::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET through the ingress: the body of a 200, or None.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: guestbook.example\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.1 200").then(|| text.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

#[test]
fn the_guestbook_runs_end_to_end_through_ingress_nodeport_and_dns() {
    let (ingress, dns) = (free_port(), free_port());
    let s = Server::start_with(&[
        "--ingress-listen",
        &format!("127.0.0.1:{ingress}"),
        "--dns-listen",
        &format!("127.0.0.1:{dns}"),
    ]);
    import(s.data(), &["kv", "guestbook", "http-hello"]);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest-examples/guestbook/");
    let applied = s.kubectl(&["apply", "-f", dir]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let waited = s.kubectl(&["wait", "--for=condition=available", "deploy", "--all", "--timeout=90s"]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));
    assert_eq!(s.k(&["get", "deploy", "frontend", "-o", "jsonpath={.status.readyReplicas}"]), "3");
    assert_eq!(s.k(&["get", "deploy", "redis-slave", "-o", "jsonpath={.status.readyReplicas}"]), "2");

    // Written through the frontend to the master, read back from the slaves.
    assert!(
        eventually(20, || get(ingress, "/").is_some_and(|page| page.to_lowercase().contains("guestbook")))
    );
    let set = get(ingress, "/guestbook.php?cmd=set&key=messages&value=,first,second").unwrap_or_default();
    assert!(set.contains("Updated"), "{set}");
    assert!(
        eventually(10, || get(ingress, "/guestbook.php?cmd=get&key=messages")
            .is_some_and(|b| b.contains("first") && b.contains("second"))),
        "{:?}",
        get(ingress, "/guestbook.php?cmd=get&key=messages")
    );

    // A frontend pod deleted mid-traffic: every request succeeds, some after a retry.
    let stop = Arc::new(AtomicBool::new(false));
    let (done, retried) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, done, retried) = (stop.clone(), done.clone(), retried.clone());
        std::thread::spawn(move || {
            let mut lost = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let answered = (0..5).any(|attempt| {
                    if attempt > 0 {
                        retried.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    get(ingress, "/guestbook.php?cmd=get&key=messages").is_some_and(|b| b.contains("first"))
                });
                if !answered {
                    lost.push(i);
                }
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            lost
        })
    };
    assert!(eventually(10, || done.load(Ordering::Relaxed) >= 20));
    let victim = s.k(&["get", "pods", "-l", "tier=frontend", "-o", "jsonpath={.items[0].metadata.name}"]);
    s.k(&["delete", "pod", &victim, "--wait=true"]);
    let after = done.load(Ordering::Relaxed);
    assert!(eventually(20, || done.load(Ordering::Relaxed) >= after + 50));
    assert!(
        s.kubectl(&["wait", "--for=condition=available", "deploy/frontend", "--timeout=60s"])
            .status
            .success()
    );
    stop.store(true, Ordering::Relaxed);
    let lost = client.join().unwrap();
    assert!(lost.is_empty(), "requests lost despite retries: {lost:?}");
    eprintln!(
        "{} requests around the deletion, {} retries",
        done.load(Ordering::Relaxed),
        retried.load(Ordering::Relaxed)
    );

    // redis-cli against the master through a NodePort.
    s.k(&["expose", "deployment", "redis-master", "--type=NodePort", "--port=6379", "--name=kv-nodeport"]);
    let node_port = s.k(&["get", "svc", "kv-nodeport", "-o", "jsonpath={.spec.ports[0].nodePort}"]);
    let redis_get = || {
        let out = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &node_port, "get", "messages"])
            .output()
            .expect("redis-cli (redis-tools)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(eventually(30, || redis_get() == ",first,second"), "{:?}", redis_get());

    // The cluster DNS server answers the master's cluster IP.
    let ip = s.k(&["get", "svc", "redis-master", "-o", "jsonpath={.spec.clusterIP}"]);
    let dig = std::process::Command::new("dig")
        .args(["@127.0.0.1", "-p", &dns.to_string(), "+short", "redis-master.default.svc.cluster.local"])
        .output()
        .expect("dig (bind9-dnsutils)");
    assert_eq!(String::from_utf8_lossy(&dig.stdout).trim(), ip);
}
