//! Services end to end with the real kubectl: cluster IPs and node ports allocated and
//! released, Endpoints kept in step with ready pods, and connects from a pod to a Service (by
//! name through the search path, by full name, by cluster IP) balanced over its pods inside the
//! pod network; a NodePort answering on the node's address.

use crate::support::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET over a fresh connection; `None` while nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

/// An `http-hello` pod whose `/fetch?url=` is reachable from the test on 127.0.0.1:`port`.
fn client_pod(namespace: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: client, namespace: {namespace}}}\nspec:\n  \
         containers: [{{name: web, image: \"http-hello:latest\", ports: [{{containerPort: 8080, hostPort: {port}}}]}}]\n"
    )
}

fn jsonpath(s: &Server, what: &str, path: &str) -> String {
    let out = s.kubectl(&["get", what, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_service_balances_connects_over_its_ready_pods_by_name_ip_and_node_port() {
    let s = Server::start();
    import(s.data(), &["http-hello"]);
    let client_port = free_port();
    s.apply(
        &format!(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      {READY_WEB}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
{}"#,
            client_pod("default", client_port)
        ),
        &[],
    );
    let ip: std::net::Ipv4Addr = jsonpath(&s, "svc/web", "{.spec.clusterIP}").parse().expect("a cluster IP");
    assert_eq!(ip.octets()[0..2], [10, 96], "from the default 10.96.0.0/12");
    let node_port: u16 = jsonpath(&s, "svc/web", "{.spec.ports[0].nodePort}").parse().unwrap();
    assert!((30000..=32767).contains(&node_port), "{node_port}");
    assert!(
        eventually(30, || jsonpath(&s, "endpoints/web", "{.subsets[*].addresses[*].ip}").split(' ').count()
            == 2),
        "endpoints never listed both pods: {}",
        s.k(&["get", "endpoints", "web", "-o", "yaml"])
    );
    assert_eq!(
        jsonpath(&s, "endpoints/web", "{.subsets[0].ports[0].port}"),
        "8080",
        "named targetPort resolved"
    );
    let fetch = |url: &str| get(client_port, &format!("/fetch?url={url}")).unwrap_or_default();
    assert!(eventually(20, || fetch("http://web/").contains("hello from web-")), "by short name");
    let clusterip_url = format!("http://{ip}/");
    for url in ["http://web.default/", "http://web.default.svc.cluster.local/", clusterip_url.as_str()] {
        let answer = fetch(url);
        assert!(answer.contains("hello from web-"), "{url}: {answer}");
    }
    // Balanced: both pods answer within a few connects.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let answer = fetch("http://web/");
        if let Some(host) = answer.lines().find_map(|l| l.strip_prefix("hello from ")) {
            seen.insert(host.trim().to_string());
        }
    }
    assert_eq!(seen.len(), 2, "connects went to {seen:?}");
    // The NodePort answers on the node's address.
    let through_node = get(node_port, "/").unwrap_or_default();
    assert!(through_node.contains("hello from web-"), "{through_node}");
    // No ready pod behind the Service: the connect is refused, the fetch says so.
    s.k(&["scale", "deployment", "web", "--replicas=0"]);
    assert!(
        eventually(30, || jsonpath(&s, "endpoints/web", "{.subsets}").is_empty()),
        "endpoints kept scaled-down pods"
    );
    assert!(eventually(10, || fetch("http://web/").starts_with("HTTP/1.1 502")), "{}", fetch("http://web/"));
}

#[test]
fn cluster_ips_and_node_ports_are_unique_and_released_on_delete() {
    let s = Server::start();
    let svc = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  ports: [{{port: 80{extra}}}]\n"
        )
    };
    s.apply(&svc("a", ""), &[]);
    let ip = jsonpath(&s, "svc/a", "{.spec.clusterIP}");
    let taken = format!("{}  clusterIP: {ip}\n", svc("b", ""));
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&taken));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provided IP is already allocated"), "{err}");
    let outside = format!("{}  clusterIP: 10.200.0.1\n", svc("c", ""));
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(&outside));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not in the valid range. The range of valid IPs is 10.96.0.0/12"), "{err}");
    s.apply(&format!("{}  type: NodePort\n", svc("np", ", nodePort: 30555")), &[]);
    let out = s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some(&format!("{}  type: NodePort\n", svc("np2", ", nodePort: 30555"))),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("provided port is already allocated"));
    // Deleting frees both: the address and the port can be taken again.
    s.k(&["delete", "svc", "a", "np"]);
    s.apply(&taken, &[]);
    assert_eq!(jsonpath(&s, "svc/b", "{.spec.clusterIP}"), ip);
    s.apply(&format!("{}  type: NodePort\n", svc("np2", ", nodePort: 30555")), &[]);
    // A headless service gets no address, and keeps none when a replace leaves the field out.
    s.apply(&format!("{}  clusterIP: None\n", svc("h", "")), &[]);
    assert_eq!(jsonpath(&s, "svc/h", "{.spec.clusterIP}"), "None");
    let replace = |manifest: String| {
        let out = s.kubectl_stdin(&["replace", "-f", "-"], Some(&manifest));
        assert!(out.status.success(), "replace: {}", String::from_utf8_lossy(&out.stderr));
    };
    replace(svc("h", ""));
    assert_eq!(jsonpath(&s, "svc/h", "{.spec.clusterIP}"), "None");
    // A replace without the node port keeps the port it had.
    replace(format!("{}  type: NodePort\n", svc("np2", "")));
    assert_eq!(jsonpath(&s, "svc/np2", "{.spec.ports[0].nodePort}"), "30555");
    // Becoming ExternalName gives the cluster IP up.
    let b_ip = jsonpath(&s, "svc/b", "{.spec.clusterIP}");
    replace("apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  type: ExternalName\n  externalName: example.org\n".into());
    assert_eq!(jsonpath(&s, "svc/b", "{.spec.clusterIP}"), "");
    s.apply(&format!("{}  clusterIP: {b_ip}\n", svc("reuse", "")), &[]);
}

fn dig(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("dig")
        .args(["@127.0.0.1", "-p", &port.to_string(), "+short", "+time=2", "+tries=2"])
        .args(args)
        .output()
        .expect("running dig (bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_cluster_dns_server_answers_dig_for_services_pods_and_named_ports() {
    let dns = free_port();
    let s = Server::start_with(&["--dns-listen", &format!("127.0.0.1:{dns}")]);
    s.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  ports: [{name: sql, port: 5432}]\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  type: ExternalName\n  externalName: example.org\n",
        &[],
    );
    let ip = jsonpath(&s, "svc/db", "{.spec.clusterIP}");
    assert!(
        eventually(20, || dig(dns, &["db.default.svc.cluster.local"]) == ip),
        "dig: {:?}",
        dig(dns, &["db.default.svc.cluster.local"])
    );
    // Over TCP too.
    assert_eq!(dig(dns, &["+tcp", "db.default.svc.cluster.local"]), ip);
    assert_eq!(
        dig(dns, &["SRV", "_sql._tcp.db.default.svc.cluster.local"]),
        "0 100 5432 db.default.svc.cluster.local."
    );
    assert_eq!(dig(dns, &["ext.default.svc.cluster.local"]), "example.org.", "ExternalName is a CNAME");
    assert_eq!(dig(dns, &["10-244-3-4.default.pod.cluster.local"]), "10.244.3.4");
    let full = |name: &str| {
        let out = std::process::Command::new("dig")
            .args(["@127.0.0.1", "-p", &dns.to_string(), "+time=2", "+tries=1", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(full("nope.default.svc.cluster.local").contains("status: NXDOMAIN"));
    assert!(full("example.org").contains("status: REFUSED"), "names outside the cluster are not forwarded");
    let endpoints: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.data().join("endpoints.json")).unwrap()).unwrap();
    assert_eq!(endpoints["dns"], format!("127.0.0.1:{dns}"));
    // A StatefulSet's pods by name under its governing headless Service.
    import(s.data(), &["http-hello"]);
    s.apply(
        r#"
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "http-hello:latest", ports: [{containerPort: 8080}]}]
"#,
        &[],
    );
    for pod in ["web-0", "web-1"] {
        let name = format!("{pod}.nginx.default.svc.cluster.local");
        assert!(
            eventually(60, || {
                let ip = jsonpath(&s, &format!("pod/{pod}"), "{.status.podIP}");
                !ip.is_empty() && dig(dns, &[&name]) == ip
            }),
            "{name}: {:?}",
            dig(dns, &[&name])
        );
    }
    assert_eq!(dig(dns, &["web-2.nginx.default.svc.cluster.local"]), "");
    let srv = dig(dns, &["SRV", "_http._tcp.nginx.default.svc.cluster.local"]);
    assert!(srv.contains("0 100 8080 web-0.nginx.default.svc.cluster.local."), "{srv}");
}

#[test]
fn names_outside_the_cluster_are_forwarded_only_with_egress_and_only_allowed_answers() {
    let allowed = |cidr: &str| {
        let dns = free_port();
        let s = Server::start_with(&["--dns-listen", &format!("127.0.0.1:{dns}"), "--allow-egress", cidr]);
        let kubernetes = "kubernetes.default.svc.cluster.local";
        assert!(eventually(10, || !dig(dns, &[kubernetes]).is_empty()), "the DNS server answers");
        // `localhost` comes from the host's resolver (/etc/hosts), never from a server elsewhere.
        let answer = dig(dns, &["localhost"]);
        drop(s);
        answer
    };
    assert_eq!(allowed("127.0.0.0/8"), "127.0.0.1");
    assert_eq!(allowed("192.0.2.0/24"), "", "an answer egress does not allow is not given");
}

#[test]
fn network_policy_refuses_other_namespaces_until_a_policy_admits_them() {
    let s = Server::start();
    import(s.data(), &["http-hello"]);
    let client_port = free_port();
    s.k(&["create", "namespace", "a"]);
    s.k(&["create", "namespace", "b"]);
    s.apply(
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: b, labels: {{app: web}}}}
spec:
  {READY_WEB}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: b}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: http}}]
---
{}"#,
            client_pod("a", client_port)
        ),
        &[],
    );
    let fetch = || get(client_port, "/fetch?url=http://web.b/").unwrap_or_default();
    assert!(eventually(30, || fetch().contains("hello from web")), "open before any policy: {}", fetch());
    // From outside, through the NodePort: the client is this test's 127.0.0.1.
    let node_port: u16 =
        s.k(&["get", "-n", "b", "svc", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"]).parse().unwrap();
    let outside = || get(node_port, "/").unwrap_or_default();
    assert!(outside().contains("hello from web"));
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: b}\nspec:\n  \
         podSelector: {}\n  policyTypes: [Ingress]\n",
        &[],
    );
    assert!(eventually(10, || fetch().starts_with("HTTP/1.1 502")), "default deny: {}", fetch());
    assert!(eventually(10, || outside().is_empty()), "default deny from outside too: {}", outside());
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-a, namespace: b}\nspec:\n  \
         podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: \
         {kubernetes.io/metadata.name: a}}}]\n    ports: [{port: http}]\n",
        &[],
    );
    assert!(eventually(10, || fetch().contains("hello from web")), "admitted from a: {}", fetch());
    assert!(outside().is_empty(), "namespace a is not the outside");
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-host, namespace: b}\nspec:\n  \
         podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 127.0.0.0/8}}]\n",
        &[],
    );
    assert!(eventually(10, || outside().contains("hello from web")), "admitted by ipBlock: {}", outside());
    // A hostPort is routed for the client's real address as a NodePort is.
    let host_port = || get(client_port, "/").unwrap_or_default();
    assert!(host_port().contains("hello from"), "{}", host_port());
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: a}\nspec:\n  \
         podSelector: {}\n  policyTypes: [Ingress]\n",
        &[],
    );
    assert!(eventually(10, || host_port().is_empty()), "default deny closes the hostPort: {}", host_port());
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: from-host, namespace: a}\nspec:\n  \
         podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 127.0.0.0/8}}]\n",
        &[],
    );
    assert!(eventually(10, || host_port().contains("hello from")), "admitted by ipBlock: {}", host_port());
}
