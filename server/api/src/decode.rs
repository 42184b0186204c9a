//! Request bodies -> normalised JSON, and the strict unknown-field check.
//!
//! Decoding goes through the `k8s-openapi` struct of the kind, which checks every field's type
//! and drops fields it does not know. Re-encoding gives the normalised object. Comparing the
//! user's JSON with the normalised one finds exactly the fields that were dropped: those are the
//! unknown fields that `fieldValidation=Strict` rejects and `Warn` reports.

use crate::lenient::Coercion;
use crate::registry::ResourceDef;
use crate::status::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decode-and-re-encode through one typed struct; returns the normalised object and the
/// scalars accepted in string fields (see [`crate::lenient`]).
pub type Normalize = fn(&Value) -> Result<(Value, Vec<Coercion>), serde_json::Error>;

pub fn typed<T: DeserializeOwned + Serialize>(
    v: &Value,
) -> Result<(Value, Vec<Coercion>), serde_json::Error> {
    let coercions = std::cell::RefCell::new(Vec::new());
    let t = T::deserialize(crate::lenient::Lenient::new(v, &coercions))?;
    Ok((serde_json::to_value(&t)?, coercions.into_inner()))
}

/// Check a partial object (a server-side apply configuration) against its kind's types and
/// rewrite scalars given for string fields as text, exactly as [`decode_object`] stores them,
/// so field ownership is computed on the values that will be stored. Returns the warnings.
pub fn coerce_partial(def: &ResourceDef, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let (_, coercions) = (def.normalize)(obj).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {e}",
            def.kind, def.version, def.kind
        ))
    })?;
    crate::lenient::apply_coercions(obj, &coercions);
    Ok(coercions.into_iter().map(|c| c.warning).collect())
}

/// `fieldValidation`: what to do with unknown fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Strict") => Ok(Self::Strict),
            Some("Ignore") => Ok(Self::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Invalid value: \"{other}\": fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\""
            ))),
        }
    }
}

/// A normalised object and the warnings to send back (`Warn` mode).
#[derive(Debug)]
pub struct Decoded {
    pub object: Value,
    pub warnings: Vec<String>,
}

/// Parse a JSON or YAML body into a JSON value (JSON is valid YAML, so one path for both).
pub fn parse_body(body: &[u8], yaml: bool) -> Result<Value, ApiError> {
    let parsed = if yaml {
        serde_yaml::from_slice::<Value>(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice::<Value>(body).map_err(|e| e.to_string())
    };
    match parsed {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::bad_request("the body of the request must be an object")),
        Err(e) => Err(ApiError::bad_request(format!("error decoding request body: {e}"))),
    }
}

/// Check apiVersion/kind against the URL's resource (filling them in when absent, as clients that
/// send bare objects expect), then normalise and apply the field-validation policy.
pub fn decode_object(def: &ResourceDef, mut obj: Value, fv: FieldValidation) -> Result<Decoded, ApiError> {
    let handled_as =
        || format!("{} in version \"{}\" cannot be handled as a {}", def.kind, def.version, def.kind);
    let map = obj.as_object_mut().ok_or_else(|| ApiError::bad_request("the body must be an object"))?;
    let api_version = def.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), api_version.clone().into());
        }
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), def.kind.into());
        }
        Some(k) if k == def.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "{}: the kind in the data ({k}) does not match the expected kind ({})",
                handled_as(),
                def.kind
            )));
        }
    }
    let (normalized, coercions) =
        (def.normalize)(&obj).map_err(|e| ApiError::bad_request(format!("{}: {e}", handled_as())))?;
    let mut warnings: Vec<String> = coercions.into_iter().map(|c| c.warning).collect();
    let unknown = unknown_fields(&obj, &normalized);
    if !unknown.is_empty() {
        let listed: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
        match fv {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "{}: strict decoding error: {}",
                    handled_as(),
                    listed.join(", ")
                )));
            }
            FieldValidation::Warn => warnings.extend(listed),
            FieldValidation::Ignore => {}
        }
    }
    Ok(Decoded { object: normalized, warnings })
}

/// Paths (`spec.template.spec.containers[0].foo`) present in `input` but dropped in `normalized`.
/// A `null` in the input is "unset", never unknown.
pub fn unknown_fields(input: &Value, normalized: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, normalized, "", &mut out);
    out
}

fn walk(input: &Value, normalized: &Value, path: &str, out: &mut Vec<String>) {
    match (input, normalized) {
        (Value::Object(i), Value::Object(n)) => {
            for (k, v) in i {
                let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match n.get(k) {
                    Some(nv) => walk(v, nv, &child, out),
                    None if v.is_null() => {}
                    None => out.push(child),
                }
            }
        }
        (Value::Array(i), Value::Array(n)) => {
            for (idx, (iv, nv)) in i.iter().zip(n).enumerate() {
                walk(iv, nv, &format!("{path}[{idx}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::find;
    use serde_json::json;

    fn deployments() -> &'static ResourceDef {
        find("apps", "v1", "deployments").unwrap()
    }

    #[test]
    fn strict_names_every_unknown_field_with_its_path() {
        let obj = json!({"metadata": {"name": "web"}, "spec": {"foo": 1, "selector": {},
            "template": {"spec": {"containers": [{"name": "a", "imag": "x"}]}}}, "bogus": true});
        let err = decode_object(deployments(), obj, FieldValidation::Strict).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.template.spec.containers[0].imag\", unknown field \"bogus\""
        );
    }

    #[test]
    fn warn_keeps_the_object_and_reports() {
        let obj = json!({"metadata": {"name": "c"}, "data": {"a": "b"}, "extra": 1});
        let d = decode_object(find("", "v1", "configmaps").unwrap(), obj, FieldValidation::Warn).unwrap();
        assert_eq!(d.warnings, vec!["unknown field \"extra\""]);
        assert_eq!(d.object["kind"], "ConfigMap");
        assert!(d.object.get("extra").is_none());
    }

    #[test]
    fn wrong_kind_and_wrong_types_are_bad_requests() {
        let cm = find("", "v1", "configmaps").unwrap();
        let e =
            decode_object(cm, json!({"kind": "Secret", "metadata": {"name": "x"}}), FieldValidation::Strict)
                .unwrap_err();
        assert!(e.message.contains("does not match the expected kind"), "{}", e.message);
        let e = decode_object(deployments(), json!({"spec": {"replicas": "two"}}), FieldValidation::Ignore)
            .unwrap_err();
        assert_eq!(e.code, 400);
    }

    #[test]
    fn nulls_and_empty_objects_are_not_unknown() {
        let obj = json!({"metadata": {"name": "w", "creationTimestamp": null}, "spec": {"selector": {},
            "template": {"metadata": {}, "spec": {"containers": [{"name": "a", "resources": {}}]}}, "strategy": {}}, "status": {}});
        let d = decode_object(deployments(), obj, FieldValidation::Strict).unwrap();
        assert!(d.warnings.is_empty());
    }
}
