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

/// `curl` with these arguments; (HTTP version, body) or the error.
fn curl(args: &[&str]) -> Result<(String, String), String> {
    let out = std::process::Command::new("curl")
        .args(["-sS", "-m", "10", "-w", "\n%{http_version}"])
        .args(args)
        .output()
        .expect("curl runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, version) = text.rsplit_once('\n').unwrap_or(("", &text));
    Ok((version.to_string(), body.to_string()))
}

/// A self-signed certificate for `host` (openssl, as a user would make one) in `dir/file.crt`
/// and `dir/file.key`: (cert, key) paths.
fn self_signed(dir: &std::path::Path, file: &str, host: &str) -> (String, String) {
    let (crt, key) = (dir.join(format!("{file}.crt")), dir.join(format!("{file}.key")));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args([
            "-days",
            "2",
            "-subj",
            &format!("/CN={host}"),
            "-addext",
            &format!("subjectAltName=DNS:{host}"),
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    (crt.display().to_string(), key.display().to_string())
}

#[test]
fn tls_ingress_answers_with_the_secrets_certificate_over_http2_and_http11() {
    let port = free_port();
    let s = Server::start_with(&["--ingress-listen", &format!("127.0.0.1:{port}")]);
    import(s.data(), &["http-hello"]);
    let certs = tempfile::tempdir().unwrap();
    let (crt, key) = self_signed(certs.path(), "first", "secure.example");
    s.k(&["create", "secret", "tls", "secure-tls", &format!("--cert={crt}"), &format!("--key={key}")]);
    s.apply(
        &format!(
            r#"{}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: secure}}
spec:
  tls: [{{hosts: [secure.example], secretName: secure-tls}}]
  rules:
  - host: secure.example
    http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: blue, port: {{number: 80}}}}}}}}]}}
"#,
            app("blue")
        ),
        &[],
    );
    let resolve = format!("secure.example:{port}:127.0.0.1");
    let url = format!("https://secure.example:{port}/echo");
    // Verified against the certificate put in the Secret, nothing else trusted.
    let https = |extra: &[&str]| {
        let mut args = vec!["--cacert", &crt, "--resolve", &resolve];
        args.extend_from_slice(extra);
        args.push(&url);
        curl(&args)
    };
    assert!(
        eventually(30, || https(&[]).is_ok_and(|(_, body)| body.contains("GET /echo"))),
        "no TLS answer: {:?}",
        https(&[])
    );
    let (version, body) = https(&["--http2"]).unwrap();
    assert_eq!(version, "2", "ALPN h2");
    assert!(body.to_ascii_lowercase().contains("x-forwarded-proto: https"), "{body}");
    assert_eq!(https(&["--http1.1"]).unwrap().0, "1.1");
    // HTTP/2 in the clear with prior knowledge, on the same port.
    let plain = format!("http://127.0.0.1:{port}/echo");
    let (version, body) = curl(&["--http2-prior-knowledge", "-H", "Host: secure.example", &plain]).unwrap();
    assert_eq!(version, "2");
    assert!(body.contains("GET /echo"), "{body}");
    // A name no Ingress has a certificate for fails the handshake.
    let other = format!("other.example:{port}:127.0.0.1");
    let refused = curl(&["-k", "--resolve", &other, &format!("https://other.example:{port}/")]);
    assert!(refused.is_err(), "{refused:?}");
    // A new certificate in the Secret is served without a restart.
    let (crt2, key2) = self_signed(certs.path(), "renewed", "secure.example");
    let updated = s.kubectl(&[
        "create",
        "secret",
        "tls",
        "secure-tls",
        &format!("--cert={crt2}"),
        &format!("--key={key2}"),
        "--dry-run=client",
        "-o",
        "yaml",
    ]);
    s.apply(&String::from_utf8_lossy(&updated.stdout), &[]);
    let with_new = |ca: &str| curl(&["--cacert", ca, "--resolve", &resolve, &url]).is_ok();
    assert!(eventually(10, || with_new(&crt2) && !with_new(&crt)), "the renewed certificate is served");
}
