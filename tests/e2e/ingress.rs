//! The ingress with the real kubectl: Ingresses of the default class route by host and path to
//! Services, streamed to one of their ready pods; status shows the node's address; unmatched
//! requests get 404 and a Service with no ready pod 503.

use crate::support::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One request over a fresh connection: (status line, whole response).
fn request(port: u16, host: &str, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return String::new();
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

fn app(name: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: web
        image: http-hello:latest
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
"#
    )
}

#[test]
fn ingress_hosts_and_paths_route_to_services_and_stream_bodies() {
    let port = free_port();
    let s = Server::start_with(&["--ingress-listen", &format!("127.0.0.1:{port}")]);
    import(s.data(), &["http-hello"]);
    s.apply(&format!("{}---{}", app("blue"), app("green")), &[]);
    s.apply(
        r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: colors}
spec:
  rules:
  - host: blue.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: blue, port: {number: 80}}}}]}
  - host: green.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: green, port: {name: http}}}}]}
  - host: "*.green.example"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: green, port: {name: http}}}}
      - {path: /, pathType: Exact, backend: {service: {name: blue, port: {number: 80}}}}
"#,
        &[],
    );
    let class = s.k(&["get", "ingressclass", "wasmkube", "-o", "jsonpath={.metadata.annotations}"]);
    assert!(class.contains("is-default-class"), "{class}");
    let hello = |host: &str, path: &str| request(port, host, "GET", path, "");
    assert!(
        eventually(30, || hello("blue.example", "/").contains("hello from blue-")),
        "blue never answered: {}",
        hello("blue.example", "/")
    );
    assert!(eventually(30, || hello("green.example:80", "/").contains("hello from green-")));
    assert!(hello("www.green.example", "/").contains("hello from blue-"), "an exact path before a prefix");
    assert!(hello("www.green.example", "/echo").starts_with("HTTP/1.1 200"), "the wildcard host's prefix");
    assert!(hello("a.b.green.example", "/").starts_with("HTTP/1.1 404"), "a wildcard covers one label");
    assert!(hello("nowhere.example", "/").starts_with("HTTP/1.1 404"));
    // A request body streams through to the pod and back.
    let echoed = request(port, "blue.example", "POST", "/echo", "ping through the ingress");
    assert!(echoed.contains("POST /echo") && echoed.contains("ping through the ingress"), "{echoed}");
    assert!(echoed.to_ascii_lowercase().contains("x-forwarded-host: blue.example"), "{echoed}");
    // Status carries the node's address.
    assert!(eventually(10, || {
        s.k(&["get", "ingress", "colors", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"])
            == "127.0.0.1"
    }));
    // No ready pod behind the Service: 503.
    s.k(&["scale", "deployment", "blue", "--replicas=0"]);
    assert!(
        eventually(30, || hello("blue.example", "/").starts_with("HTTP/1.1 503")),
        "{}",
        hello("blue.example", "/")
    );
    // An Ingress of another class is not ours.
    s.apply(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: other}\nspec:\n  ingressClassName: nginx\n  \
         defaultBackend: {service: {name: green, port: {number: 80}}}\n",
        &[],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(hello("nowhere.example", "/").starts_with("HTTP/1.1 404"));
}
