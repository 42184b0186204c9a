//! Label and field selectors, as `?labelSelector=` and `?fieldSelector=` carry them.

use crate::meta;
use crate::status::ApiError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    /// Parse the string form: `a=b,c!=d,e in (x,y),f notin (z),g,!h,i>3`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = |why: &str| ApiError::bad_request(format!("unable to parse requirement: {why}: {s:?}"));
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(p).ok_or_else(|| bad("invalid selector"))?);
        }
        Ok(LabelSelector(reqs))
    }

    /// Build from the structured form (`matchLabels` + `matchExpressions`) that workloads carry.
    pub fn from_json(sel: &Value) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                reqs.push(Requirement::Eq(k.clone(), v.as_str().unwrap_or_default().into()));
            }
        }
        for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            reqs.push(match e.get("operator").and_then(Value::as_str) {
                Some("In") => Requirement::In(key, values),
                Some("NotIn") => Requirement::NotIn(key, values),
                Some("Exists") => Requirement::Exists(key),
                Some("DoesNotExist") => Requirement::NotExists(key),
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            });
        }
        Ok(LabelSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v),
            Requirement::NotEq(k, v) => get(k) != Some(v),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::Gt(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x > *n),
            Requirement::Lt(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x < *n),
        })
    }

    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(meta::labels(obj))
    }
}

/// Split on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_requirement(p: &str) -> Option<Requirement> {
    let valid_key =
        |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if let Some(k) = p.strip_prefix('!') {
        return valid_key(k.trim()).then(|| Requirement::NotExists(k.trim().into()));
    }
    for (op, notin) in [(" notin ", true), (" in ", false)] {
        if let Some((k, rest)) = p.split_once(op) {
            let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            let vals = inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            let k = k.trim().to_string();
            if !valid_key(&k) {
                return None;
            }
            return Some(if notin { Requirement::NotIn(k, vals) } else { Requirement::In(k, vals) });
        }
    }
    for op in ["!=", "==", "=", ">", "<"] {
        if let Some((k, v)) = p.split_once(op) {
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if !valid_key(&k) {
                return None;
            }
            return match op {
                "!=" => Some(Requirement::NotEq(k, v)),
                "==" | "=" => Some(Requirement::Eq(k, v)),
                ">" => Some(Requirement::Gt(k, v.parse().ok()?)),
                _ => Some(Requirement::Lt(k, v.parse().ok()?)),
            };
        }
    }
    valid_key(p).then(|| Requirement::Exists(p.into()))
}

/// A parsed field selector: `metadata.name=x,spec.nodeName!=y`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, negate, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, false, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            reqs.push((field.trim().to_string(), negate, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `metadata.name=` if the selector pins one name (lets lists skip a scan).
    pub fn exact_name(&self) -> Option<&str> {
        self.0.iter().find(|(f, neg, _)| f == "metadata.name" && !neg).map(|(_, _, v)| v.as_str())
    }

    /// Fields are dotted paths into the object; a missing field compares as the empty string,
    /// which is how upstream treats e.g. `spec.nodeName=` for unscheduled pods.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, negate, want)| {
            let got = field
                .split('.')
                .try_fold(obj, |v, k| v.get(k))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (got == *want) != *negate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "labels": labels}, "spec": {"nodeName": "n1"}})
    }

    #[test]
    fn equality_and_set_based_label_selectors() {
        let o = obj(json!({"app": "web", "tier": "front", "n": "5"}));
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, db)", true),
            ("app notin (web)", false),
            ("tier,!missing", true),
            ("missing", false),
            ("n>3,n<9", true),
            ("color in (blue,red)", false),
            ("", true),
        ] {
            assert_eq!(LabelSelector::parse(sel).unwrap().matches_object(&o), want, "{sel}");
        }
        assert!(LabelSelector::parse("a in x").is_err());
        assert!(LabelSelector::parse("=b").is_err());
    }

    #[test]
    fn structured_selector() {
        let s = LabelSelector::from_json(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}))
        .unwrap();
        assert!(s.matches_object(&obj(json!({"app": "web", "tier": "front"}))));
        assert!(!s.matches_object(&obj(json!({"app": "web"}))));
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        assert!(FieldSelector::parse("metadata.name=p,spec.nodeName==n1").unwrap().matches(&o));
        assert!(!FieldSelector::parse("spec.nodeName!=n1").unwrap().matches(&o));
        assert!(FieldSelector::parse("status.phase=").unwrap().matches(&o));
        assert_eq!(FieldSelector::parse("metadata.name=p").unwrap().exact_name(), Some("p"));
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
