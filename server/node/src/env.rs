//! A container's environment as the kubelet builds it: `envFrom` sources first, then `env`
//! entries (which win), values with `$(VAR)` references expanded against what came before, and
//! `valueFrom` resolved through configMaps, secrets, the downward API and resource limits.

use crate::translate::{Lookup, PodIdentity};
use k8s_openapi::api::core::v1 as core;
use std::collections::{BTreeMap, HashMap};

pub fn resolve(
    id: &PodIdentity<'_>,
    c: &core::Container,
    lookup: &dyn Lookup,
) -> Result<Vec<(String, String)>, String> {
    // Service links first: `envFrom` and `env` may override them.
    let mut out: Vec<(String, String)> = lookup.service_env();
    for source in c.env_from.iter().flatten() {
        let prefix = source.prefix.as_deref().unwrap_or("");
        let data = if let Some(cm) = &source.config_map_ref {
            optional(lookup.config_map(id.namespace, &cm.name), cm.optional, "configmap", &cm.name)?
        } else if let Some(secret) = &source.secret_ref {
            optional(lookup.secret(id.namespace, &secret.name), secret.optional, "secret", &secret.name)?
        } else {
            None
        };
        for (key, value) in data.into_iter().flatten() {
            out.push((format!("{prefix}{key}"), String::from_utf8_lossy(&value).into_owned()));
        }
    }
    for e in c.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (_, Some(from)) => value_from(id, c, from, lookup)?,
            (Some(v), None) => {
                let defined: HashMap<&str, &str> =
                    out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                Some(expand(v, &defined))
            }
            (None, None) => Some(String::new()),
        };
        if let Some(value) = value {
            out.push((e.name.clone(), value));
        }
    }
    // One entry per name, the last definition winning, in order of first appearance.
    let mut merged: Vec<(String, String)> = Vec::with_capacity(out.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for (k, v) in out {
        match at.get(&k) {
            Some(&i) => merged[i].1 = v,
            None => {
                at.insert(k.clone(), merged.len());
                merged.push((k, v));
            }
        }
    }
    Ok(merged)
}

/// The kubelet's Docker-link style variables for Services with a cluster IP: `<NAME>_SERVICE_HOST`,
/// `<NAME>_SERVICE_PORT[_<PORT NAME>]`, `<NAME>_PORT` and `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`.
pub fn service_links<'a>(services: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<(String, String)> {
    use serde_json::Value;
    let var = |s: &str| s.replace('-', "_").to_ascii_uppercase();
    let mut out = Vec::new();
    for svc in services {
        let ip = svc.pointer("/spec/clusterIP").and_then(Value::as_str).unwrap_or("");
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let ports: Vec<&Value> =
            svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten().collect();
        let Some(first) = ports.first().and_then(|p| p.get("port")).and_then(Value::as_u64) else { continue };
        let prefix = var(wasmkube_api::meta::name(svc));
        out.push((format!("{prefix}_SERVICE_HOST"), ip.to_string()));
        out.push((format!("{prefix}_SERVICE_PORT"), first.to_string()));
        for p in &ports {
            let (Some(name), Some(port)) =
                (p.get("name").and_then(Value::as_str), p.get("port").and_then(Value::as_u64))
            else {
                continue;
            };
            if !name.is_empty() {
                out.push((format!("{prefix}_SERVICE_PORT_{}", var(name)), port.to_string()));
            }
        }
        for (i, p) in ports.iter().enumerate() {
            let Some(port) = p.get("port").and_then(Value::as_u64) else { continue };
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            let url = format!("{}://{ip}:{port}", proto.to_ascii_lowercase());
            if i == 0 {
                out.push((format!("{prefix}_PORT"), url.clone()));
            }
            let pp = format!("{prefix}_PORT_{port}_{}", proto.to_ascii_uppercase());
            out.push((pp.clone(), url));
            out.push((format!("{pp}_PROTO"), proto.to_ascii_lowercase()));
            out.push((format!("{pp}_PORT"), port.to_string()));
            out.push((format!("{pp}_ADDR"), ip.to_string()));
        }
    }
    out
}

/// `None` when an optional source is missing; an error when a required one is.
fn optional<T>(
    found: Option<T>,
    optional: Option<bool>,
    kind: &str,
    name: &str,
) -> Result<Option<T>, String> {
    match found {
        Some(v) => Ok(Some(v)),
        None if optional == Some(true) => Ok(None),
        None => Err(format!("{kind} \"{name}\" not found")),
    }
}

fn value_from(
    id: &PodIdentity<'_>,
    c: &core::Container,
    from: &core::EnvVarSource,
    lookup: &dyn Lookup,
) -> Result<Option<String>, String> {
    if let Some(f) = &from.field_ref {
        return id.field(&f.field_path).map(Some);
    }
    if let Some(r) = &from.resource_field_ref {
        return resource_field(c, r).map(Some);
    }
    let key_of =
        |data: Option<BTreeMap<String, Vec<u8>>>, key: &str, opt: Option<bool>, kind: &str, name: &str| {
            let Some(data) = optional(data, opt, kind, name)? else { return Ok(None) };
            match data.get(key) {
                Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
                None if opt == Some(true) => Ok(None),
                None => Err(format!("couldn't find key {key} in {kind} {}/{name}", id.namespace)),
            }
        };
    if let Some(k) = &from.config_map_key_ref {
        return key_of(lookup.config_map(id.namespace, &k.name), &k.key, k.optional, "configmap", &k.name);
    }
    if let Some(k) = &from.secret_key_ref {
        return key_of(lookup.secret(id.namespace, &k.name), &k.key, k.optional, "secret", &k.name);
    }
    Err("valueFrom names no source".into())
}

/// `limits.cpu`, `requests.memory`, ... divided by the divisor (default 1), rounded up, as
/// the downward API gives them. An unset limit falls back to "no limit" as a large number
/// the way the kubelet reports node allocatable; we report 0 instead of guessing it.
fn resource_field(c: &core::Container, r: &core::ResourceFieldSelector) -> Result<String, String> {
    let (section, resource) =
        r.resource.split_once('.').ok_or_else(|| format!("resource {:?} is not supported", r.resource))?;
    let resources = c.resources.as_ref();
    let map = match section {
        "limits" => resources.and_then(|x| x.limits.as_ref()),
        "requests" => resources.and_then(|x| x.requests.as_ref()),
        _ => return Err(format!("resource {:?} is not supported", r.resource)),
    };
    let Some(q) = map.and_then(|m| m.get(resource)) else { return Ok("0".into()) };
    let value = match resource {
        "cpu" => f64::from(crate::translate::parse_millis(q)?) / 1000.0,
        "memory" | "ephemeral-storage" => crate::translate::parse_bytes(q)? as f64,
        other => return Err(format!("resource {other:?} is not supported")),
    };
    let divisor = match &r.divisor {
        None => 1.0,
        Some(d) if resource == "cpu" => f64::from(crate::translate::parse_millis(d)?) / 1000.0,
        Some(d) => crate::translate::parse_bytes(d)? as f64,
    };
    if divisor <= 0.0 {
        return Err(format!("divisor of {:?} must be positive", r.resource));
    }
    Ok(format!("{}", (value / divisor).ceil() as u64))
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is replaced, `$$` is a literal `$`,
/// anything else stays as written.
pub fn expand(input: &str, defined: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match defined.get(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[at..at + 2 + end + 1]),
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_links_are_spelled_as_the_kubelet_spells_them() {
        let svc = serde_json::json!({"metadata": {"name": "redis-master"}, "spec": {"clusterIP": "10.96.0.7",
            "ports": [{"name": "redis", "port": 6379, "protocol": "TCP"}, {"name": "metrics", "port": 9121}]}});
        let headless = serde_json::json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}});
        let env: HashMap<String, String> = service_links([&svc, &headless]).into_iter().collect();
        assert_eq!(env["REDIS_MASTER_SERVICE_HOST"], "10.96.0.7");
        assert_eq!(env["REDIS_MASTER_SERVICE_PORT"], "6379");
        assert_eq!(env["REDIS_MASTER_SERVICE_PORT_METRICS"], "9121");
        assert_eq!(env["REDIS_MASTER_PORT"], "tcp://10.96.0.7:6379");
        assert_eq!(env["REDIS_MASTER_PORT_9121_TCP_ADDR"], "10.96.0.7");
        assert_eq!(env["REDIS_MASTER_PORT_6379_TCP_PROTO"], "tcp");
        assert!(!env.keys().any(|k| k.starts_with("DB_")), "headless services get no variables");
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let defined: HashMap<&str, &str> = [("A", "1"), ("B", "two")].into();
        assert_eq!(expand("x$(A)y$(B)", &defined), "x1ytwo");
        assert_eq!(expand("$$(A) $(C) $", &defined), "$(A) $(C) $");
        assert_eq!(expand("$(A", &defined), "$(A");
    }
}
