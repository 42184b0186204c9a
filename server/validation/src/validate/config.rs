//! ConfigMap, Secret and ServiceAccount.

use serde_json::{Map, Value};

use crate::error::FieldError;
use crate::json::{boolean, get, obj, s};
use crate::names::config_map_key;
use crate::path::Path;

use super::pod_update::semantic_eq;

/// Upstream's `MaxSecretSize` (1 MiB), also used for ConfigMaps.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

/// The ConfigMap kind.
pub fn validate_config_map(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = old.map(|o| immutable_data(obj_v, o, &["data", "binaryData"])).unwrap_or_default();
    let empty = Map::new();
    let data = obj(obj_v, "data").unwrap_or(&empty);
    let binary = obj(obj_v, "binaryData").unwrap_or(&empty);
    let mut total = 0;
    for (key, value) in data {
        let p = Path::new("data").key(key);
        errs.extend(config_map_key(key).into_iter().map(|m| FieldError::invalid(&p, key.as_str(), &m)));
        if binary.contains_key(key) {
            errs.push(FieldError::invalid(&p, key.as_str(), "duplicate of key present in binaryData"));
        }
        total += value.as_str().map_or(0, str::len);
    }
    for (key, value) in binary {
        let p = Path::new("binaryData").key(key);
        errs.extend(config_map_key(key).into_iter().map(|m| FieldError::invalid(&p, key.as_str(), &m)));
        total += decoded_len(value);
    }
    if total > MAX_DATA_BYTES {
        errs.push(FieldError::too_long(Path::root(), MAX_DATA_BYTES));
    }
    errs
}

/// Byte length of a base64 `[]byte` value.
fn decoded_len(v: &Value) -> usize {
    let text = v.as_str().unwrap_or_default();
    crate::base64::decode(text).map_or(text.len() * 3 / 4, |b| b.len())
}

/// With `immutable: true` stored, neither the flag nor the data may change.
fn immutable_data(new: &Value, old: &Value, keys: &[&str]) -> Vec<FieldError> {
    if boolean(old, "immutable") != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    if boolean(new, "immutable") != Some(true) {
        errs.push(FieldError::forbidden(Path::new("immutable"), IMMUTABLE_WHEN_SET));
    }
    for key in keys {
        let (n, o) =
            (get(new, key).cloned().unwrap_or(Value::Null), get(old, key).cloned().unwrap_or(Value::Null));
        if !semantic_eq(&n, &o) {
            errs.push(FieldError::forbidden(Path::new(key), IMMUTABLE_WHEN_SET));
        }
    }
    errs
}

/// The Secret kind.
pub fn validate_secret(obj_v: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        let (n, o) = (s(obj_v, "type"), s(old, "type"));
        if n != o {
            errs.push(FieldError::invalid(Path::new("type"), n, crate::IMMUTABLE_MSG));
        }
        errs.extend(immutable_data(obj_v, old, &["data"]));
    }
    let empty = Map::new();
    let data = obj(obj_v, "data").unwrap_or(&empty);
    let mut total = 0;
    for (key, value) in data {
        let p = Path::new("data").key(key);
        errs.extend(config_map_key(key).into_iter().map(|m| FieldError::invalid(&p, key.as_str(), &m)));
        total += decoded_len(value);
    }
    if total > MAX_DATA_BYTES {
        errs.push(FieldError::too_long(Path::new("data"), MAX_DATA_BYTES));
    }
    errs.extend(type_rules(obj_v, data));
    errs
}

fn type_rules(obj_v: &Value, data: &Map<String, Value>) -> Vec<FieldError> {
    let dp = Path::new("data");
    let has = |k: &str| data.contains_key(k);
    match s(obj_v, "type") {
        "kubernetes.io/service-account-token" => {
            let annotated = get(obj_v, "metadata")
                .and_then(|m| obj(m, "annotations"))
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty());
            let p = Path::new("metadata").child("annotations").key("kubernetes.io/service-account.name");
            (!annotated).then(|| FieldError::required(p, "")).into_iter().collect()
        }
        "kubernetes.io/dockercfg" => json_payload(data, ".dockercfg", &dp),
        "kubernetes.io/dockerconfigjson" => json_payload(data, ".dockerconfigjson", &dp),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            vec![FieldError::required(dp.key("username"), ""), FieldError::required(dp.key("password"), "")]
        }
        "kubernetes.io/ssh-auth" if decoded_len(data.get("ssh-privatekey").unwrap_or(&Value::Null)) == 0 => {
            vec![FieldError::required(dp.key("ssh-privatekey"), "")]
        }
        "kubernetes.io/tls" => ["tls.crt", "tls.key"]
            .iter()
            .filter(|k| !has(k))
            .map(|k| FieldError::required(dp.key(k), ""))
            .collect(),
        _ => Vec::new(),
    }
}

/// Docker config secrets must carry their key with a JSON object in it.
fn json_payload(data: &Map<String, Value>, key: &str, dp: &Path) -> Vec<FieldError> {
    let Some(raw) = data.get(key) else {
        return vec![FieldError::required(dp.key(key), "")];
    };
    let bytes = crate::base64::decode(raw.as_str().unwrap_or_default()).unwrap_or_default();
    match serde_json::from_slice::<Map<String, Value>>(&bytes) {
        Ok(_) => Vec::new(),
        Err(e) => vec![FieldError::invalid(dp.key(key), "<secret contents redacted>", &e.to_string())],
    }
}

/// The ServiceAccount kind: metadata only.
pub fn validate_service_account(_obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    Vec::new()
}
