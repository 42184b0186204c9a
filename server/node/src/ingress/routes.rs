//! Which Service a request through the ingress goes to: the rules of every Ingress of class
//! `wasmkube`, with upstream's precedence — an exact host before a wildcard host (`*.example.com`
//! matches exactly one more label) before rules for any host; within a host, an `Exact` path
//! before the longest matching `Prefix` (matched per `/`-separated element, so `/foo` matches
//! `/foo/bar` but not `/foobar`); then a `defaultBackend`; otherwise nothing (404).

use serde_json::Value;

/// The IngressClass this ingress implements.
pub const CLASS: &str = "wasmkube";
/// Its `spec.controller`.
pub const CONTROLLER: &str = "wasmkube.io/ingress";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

/// A Service port an Ingress sends requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub namespace: String,
    pub service: String,
    pub port: PortRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Any,
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Wildcard(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathKind {
    Exact,
    Prefix,
}

#[derive(Debug, Clone)]
struct PathRule {
    kind: PathKind,
    path: String,
    backend: Backend,
}

#[derive(Debug, Default, Clone)]
pub struct Routes {
    rules: Vec<(Host, Vec<PathRule>)>,
    default: Option<Backend>,
}

/// Whether an Ingress is ours: class `wasmkube` by name or legacy annotation, or no class at all
/// while `wasmkube` is the default class.
pub fn is_ours(ingress: &Value, default_class: bool) -> bool {
    let named = ingress.pointer("/spec/ingressClassName").and_then(Value::as_str);
    let annotated =
        ingress.pointer("/metadata/annotations/kubernetes.io~1ingress.class").and_then(Value::as_str);
    match named.or(annotated) {
        Some(class) => class == CLASS,
        None => default_class,
    }
}

fn backend(namespace: &str, b: &Value) -> Option<Backend> {
    let svc = b.get("service")?;
    let port = svc.get("port")?;
    let port = match (port.get("number").and_then(Value::as_u64), port.get("name").and_then(Value::as_str)) {
        (Some(n), _) => PortRef::Number(u16::try_from(n).ok()?),
        (None, Some(name)) => PortRef::Name(name.to_string()),
        _ => return None,
    };
    Some(Backend { namespace: namespace.to_string(), service: svc.get("name")?.as_str()?.to_string(), port })
}

/// Oldest first, as controllers conventionally resolve conflicts (routes and certificates
/// alike).
pub fn oldest_first<'a>(ingresses: impl IntoIterator<Item = &'a Value>) -> Vec<&'a Value> {
    let mut ingresses: Vec<&Value> = ingresses.into_iter().collect();
    ingresses.sort_by_key(|i| {
        let t = i.pointer("/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or("").to_string();
        (t, wasmkube_api::meta::namespace(i).to_string(), wasmkube_api::meta::name(i).to_string())
    });
    ingresses
}

impl Routes {
    /// The routing table of these Ingresses (all of them ours).
    pub fn build<'a>(ingresses: impl IntoIterator<Item = &'a Value>) -> Routes {
        let mut routes = Routes::default();
        for ing in oldest_first(ingresses) {
            let ns = wasmkube_api::meta::namespace(ing);
            if routes.default.is_none() {
                routes.default = ing.pointer("/spec/defaultBackend").and_then(|b| backend(ns, b));
            }
            for rule in ing.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
                let host = match rule.get("host").and_then(Value::as_str).unwrap_or("") {
                    "" => Host::Any,
                    h if h.starts_with("*.") => Host::Wildcard(h[1..].to_ascii_lowercase()),
                    h => Host::Exact(h.to_ascii_lowercase()),
                };
                let paths = rule.pointer("/http/paths").and_then(Value::as_array).into_iter().flatten();
                let paths: Vec<PathRule> = paths
                    .filter_map(|p| {
                        let kind = match p.get("pathType").and_then(Value::as_str) {
                            Some("Exact") => PathKind::Exact,
                            _ => PathKind::Prefix, // Prefix, and ImplementationSpecific as Prefix
                        };
                        let path = p.get("path").and_then(Value::as_str).unwrap_or("/").to_string();
                        Some(PathRule { kind, path, backend: backend(ns, p.get("backend")?)? })
                    })
                    .collect();
                routes.rules.push((host, paths));
            }
        }
        routes
    }

    /// Where a request for `host` (a Host header, port allowed) and `path` goes.
    pub fn route(&self, host: &str, path: &str) -> Option<&Backend> {
        let host = host
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let host = host.to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or("/");
        let exact = |h: &Host| matches!(h, Host::Exact(e) if *e == host);
        let wildcard = |h: &Host| matches!(h, Host::Wildcard(suffix) if host.strip_suffix(suffix.as_str()).is_some_and(|l| !l.is_empty() && !l.contains('.')));
        let any = |h: &Host| *h == Host::Any;
        // The most specific host class that has rules for this host decides; a path it lacks
        // goes to the default backend, not to a less specific host's rules (as nginx does).
        for class in [&exact as &dyn Fn(&Host) -> bool, &wildcard, &any] {
            if !self.rules.iter().any(|(h, _)| class(h)) {
                continue;
            }
            let paths = self.rules.iter().filter(|(h, _)| class(h)).flat_map(|(_, p)| p);
            return best_path(paths, path).or(self.default.as_ref());
        }
        self.default.as_ref()
    }
}

/// An exact match, else the longest prefix match (an exact rule wins a tie).
fn best_path<'a>(rules: impl Iterator<Item = &'a PathRule>, path: &str) -> Option<&'a Backend> {
    let mut best: Option<(usize, bool, &Backend)> = None;
    for r in rules {
        let hit = match r.kind {
            PathKind::Exact => r.path == path,
            PathKind::Prefix => prefix_matches(&r.path, path),
        };
        if !hit {
            continue;
        }
        let rank = (r.path.trim_end_matches('/').len(), r.kind == PathKind::Exact);
        if best.is_none_or(|(len, exact, _)| rank > (len, exact)) {
            best = Some((rank.0, rank.1, &r.backend));
        }
    }
    best.map(|(_, _, b)| b)
}

/// `Prefix` matching by path element: `/foo` matches `/foo`, `/foo/` and `/foo/bar`.
fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ing(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec})
    }

    fn to(svc: &str) -> Value {
        json!({"service": {"name": svc, "port": {"number": 80}}})
    }

    fn routed(r: &Routes, host: &str, path: &str) -> Option<String> {
        r.route(host, path).map(|b| b.service.clone())
    }

    #[test]
    fn hosts_and_paths_follow_upstream_precedence() {
        let a = ing(
            "a",
            json!({"defaultBackend": to("fallback"), "rules": [
            {"host": "shop.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": to("front")},
                {"path": "/api", "pathType": "Prefix", "backend": to("api")},
                {"path": "/api/v2", "pathType": "Prefix", "backend": to("api2")},
                {"path": "/api/health", "pathType": "Exact", "backend": to("health")}]}},
            {"host": "*.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": to("wild")}]}},
            {"http": {"paths": [{"path": "/any", "pathType": "Prefix", "backend": to("anyhost")}]}}]}),
        );
        let r = Routes::build([&a]);
        assert_eq!(routed(&r, "shop.example.com", "/"), Some("front".into()));
        assert_eq!(routed(&r, "SHOP.example.com:8080", "/api/x?q=1"), Some("api".into()));
        assert_eq!(routed(&r, "shop.example.com", "/apix"), Some("front".into()), "per element");
        assert_eq!(routed(&r, "shop.example.com", "/api/v2/y"), Some("api2".into()), "longest prefix");
        assert_eq!(routed(&r, "shop.example.com", "/api/health"), Some("health".into()));
        assert_eq!(routed(&r, "shop.example.com", "/api/health/x"), Some("api".into()), "exact is exact");
        assert_eq!(routed(&r, "blog.example.com", "/x"), Some("wild".into()));
        assert_eq!(routed(&r, "a.b.example.com", "/any/1"), Some("anyhost".into()), "one label only");
        assert_eq!(routed(&r, "example.com", "/nothing"), Some("fallback".into()));
        assert_eq!(routed(&r, "blog.example.com", "/any/1"), Some("wild".into()), "the host's rules decide");
        let b = ing(
            "b",
            json!({"defaultBackend": to("fallback"), "rules": [
            {"host": "only.example", "http": {"paths": [{"path": "/a", "pathType": "Prefix", "backend": to("a")}]}},
            {"http": {"paths": [{"path": "/b", "pathType": "Prefix", "backend": to("anyhost")}]}}]}),
        );
        let r = Routes::build([&b]);
        assert_eq!(
            routed(&r, "only.example", "/b"),
            Some("fallback".into()),
            "no falling through to other hosts"
        );
    }

    #[test]
    fn only_our_class_or_unclassed_ingresses_when_we_are_the_default() {
        let named = ing("n", json!({"ingressClassName": "wasmkube"}));
        let other = ing("o", json!({"ingressClassName": "nginx"}));
        let unclassed = ing("u", json!({}));
        assert!(is_ours(&named, false) && !is_ours(&other, true));
        assert!(is_ours(&unclassed, true) && !is_ours(&unclassed, false));
    }
}
