//! TLS termination for the ingress: the certificates named by Ingresses' `spec.tls` entries,
//! taken from Secrets (`tls.crt`, `tls.key`, PEM) in each Ingress's namespace, and chosen per
//! connection by the name the client sends (SNI): an exact host before a wildcard host
//! (`*.example.com` covers exactly one more label). An entry that lists no hosts covers its own
//! Ingress's rule hosts. When two Ingresses claim a host, the older one's certificate is served,
//! as its routes are. A name nothing covers (or no name) fails the handshake rather than showing
//! another host's certificate.
//!
//! A Secret that is missing or does not hold a usable certificate and matching key leaves its
//! hosts without TLS; the problem is logged with the Ingress and Secret it came from.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use wasmkube_api::meta;

/// The certificates the ingress presents, by host.
#[derive(Default)]
pub struct Certificates {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.com`, keyed by `.example.com`.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl Certificates {
    /// The certificates of these Ingresses (in a stable order: the first to claim a host keeps
    /// it); `secret(namespace, name)` finds a Secret. Returns the table and what was unusable.
    pub fn build<'a>(
        ingresses: impl IntoIterator<Item = &'a Value>,
        secret: impl Fn(&str, &str) -> Option<&'a Value>,
    ) -> (Certificates, Vec<String>) {
        let mut table = Certificates::default();
        let mut problems = Vec::new();
        let mut loaded: HashMap<(String, String), Option<Arc<CertifiedKey>>> = HashMap::new();
        for ing in super::routes::oldest_first(ingresses) {
            let namespace = meta::namespace(ing);
            let entries =
                ing.pointer("/spec/tls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for entry in entries {
                let Some(name) = entry.get("secretName").and_then(Value::as_str).filter(|n| !n.is_empty())
                else {
                    continue;
                };
                let key = (namespace.to_string(), name.to_string());
                let cert = loaded
                    .entry(key)
                    .or_insert_with(|| {
                        let parsed = secret(namespace, name)
                            .ok_or_else(|| "no such Secret".to_string())
                            .and_then(certified_key);
                        parsed
                            .map_err(|why| {
                                problems.push(format!(
                                    "Ingress {namespace}/{}: TLS Secret {namespace}/{name}: {why}",
                                    meta::name(ing)
                                ));
                            })
                            .ok()
                            .map(Arc::new)
                    })
                    .clone();
                let Some(cert) = cert else { continue };
                let mut hosts: Vec<&str> = entry
                    .get("hosts")
                    .and_then(Value::as_array)
                    .map(|h| h.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if hosts.is_empty() {
                    let rules = ing.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten();
                    hosts = rules.filter_map(|r| r.get("host")?.as_str()).filter(|h| !h.is_empty()).collect();
                }
                for host in hosts {
                    let host = host.to_ascii_lowercase();
                    match host.strip_prefix('*') {
                        Some(suffix) => table.wildcard.entry(suffix.to_string()),
                        None => table.exact.entry(host),
                    }
                    .or_insert_with(|| cert.clone());
                }
            }
        }
        (table, problems)
    }

    /// The certificate for a client that asked for `name` (SNI).
    pub fn for_name(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let name = name?.to_ascii_lowercase();
        let found =
            self.exact.get(&name).or_else(|| name.find('.').and_then(|dot| self.wildcard.get(&name[dot..])));
        found.cloned()
    }
}

/// A certificate chain and its key from a Secret's `tls.crt` and `tls.key`.
fn certified_key(secret: &Value) -> Result<CertifiedKey, String> {
    let field = |key: &str| -> Result<Vec<u8>, String> {
        use base64::Engine;
        let encoded = secret
            .get("data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no {key} in the Secret"))?;
        base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| format!("{key}: {e}"))
    };
    let crt = field("tls.crt")?;
    let chain = CertificateDer::pem_slice_iter(&crt)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls.crt: {e}"))?;
    if chain.is_empty() {
        return Err("tls.crt holds no PEM certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&field("tls.key")?).map_err(|e| format!("tls.key: {e}"))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| format!("tls.key: {e}"))?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|e| format!("tls.key does not match tls.crt: {e}"))?;
    Ok(certified)
}

/// Picks the certificate of the current table for each handshake.
pub struct Resolver(pub Arc<RwLock<Arc<Certificates>>>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ingress certificate resolver")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let table = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        table.for_name(hello.server_name())
    }
}

/// The server side of the ingress's TLS: certificates from `table`, HTTP/2 or HTTP/1.1 by ALPN.
pub fn acceptor(table: Arc<RwLock<Arc<Certificates>>>) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver(table)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A self-signed P-256 certificate for "tls.example" and its key (made with openssl for
    // these tests only).
    const CRT: &str = include_str!("testdata/tls.example.crt");
    const KEY: &str = include_str!("testdata/tls.example.key");

    fn b64(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn secret(crt: &str, key: &str) -> Value {
        json!({"metadata": {"namespace": "default", "name": "s"}, "type": "kubernetes.io/tls",
               "data": {"tls.crt": b64(crt), "tls.key": b64(key)}})
    }

    fn ingress(tls: Value) -> Value {
        json!({"metadata": {"namespace": "default", "name": "i", "creationTimestamp": "2026-01-01T00:00:00Z"},
               "spec": {"tls": tls, "rules": [{"host": "rule.example"}]}})
    }

    #[test]
    fn hosts_pick_their_certificate_exact_then_wildcard_and_hostless_entries_cover_their_rules() {
        let s = secret(CRT, KEY);
        let ing = ingress(json!([{"hosts": ["a.example", "*.wild.example"], "secretName": "s"}]));
        let (table, problems) = Certificates::build([&ing], |_, name| (name == "s").then_some(&s));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(table.for_name(Some("A.example")).is_some());
        assert!(table.for_name(Some("x.wild.example")).is_some());
        assert!(table.for_name(Some("x.y.wild.example")).is_none(), "a wildcard covers one label");
        assert!(table.for_name(Some("b.example")).is_none());
        assert!(table.for_name(None).is_none());
        let hostless = ingress(json!([{"secretName": "s"}]));
        let (table, _) = Certificates::build([&hostless], |_, _| Some(&s));
        assert!(table.for_name(Some("rule.example")).is_some(), "its own rules' hosts");
        assert!(
            table.for_name(Some("any.example")).is_none() && table.for_name(None).is_none(),
            "nothing else"
        );
    }

    #[test]
    fn the_older_ingress_keeps_a_contested_host() {
        let s = secret(CRT, KEY);
        let other = secret(include_str!("testdata/other.crt"), include_str!("testdata/other.key"));
        let mut old = ingress(json!([{"hosts": ["shop.example"], "secretName": "s"}]));
        old["metadata"]["namespace"] = json!("zzz");
        let mut newer = ingress(json!([{"hosts": ["shop.example"], "secretName": "t"}]));
        newer["metadata"]["namespace"] = json!("aaa");
        newer["metadata"]["creationTimestamp"] = json!("2026-06-01T00:00:00Z");
        let (table, _) =
            Certificates::build([&newer, &old], |ns, _| Some(if ns == "zzz" { &s } else { &other }));
        let served = table.for_name(Some("shop.example")).unwrap();
        let (want, _) = Certificates::build([&old], |_, _| Some(&s));
        assert_eq!(served.cert, want.for_name(Some("shop.example")).unwrap().cert);
        let (theirs, _) = Certificates::build([&newer], |_, _| Some(&other));
        assert_ne!(served.cert, theirs.for_name(Some("shop.example")).unwrap().cert, "not the newer one's");
    }

    #[test]
    fn unusable_secrets_are_reported_and_leave_their_hosts_without_tls() {
        let ing = ingress(json!([{"hosts": ["a.example"], "secretName": "s"}]));
        let (table, problems) = Certificates::build([&ing], |_, _| None);
        assert!(table.for_name(Some("a.example")).is_none());
        assert_eq!(problems, vec!["Ingress default/i: TLS Secret default/s: no such Secret".to_string()]);
        let garbage = secret("not a certificate", KEY);
        let (_, problems) = Certificates::build([&ing], |_, _| Some(&garbage));
        assert!(problems[0].ends_with("tls.crt holds no PEM certificate"), "{problems:?}");
        let mismatched = secret(CRT, include_str!("testdata/other.key"));
        let (_, problems) = Certificates::build([&ing], |_, _| Some(&mismatched));
        assert!(problems[0].contains("tls.key does not match tls.crt"), "{problems:?}");
    }
}
