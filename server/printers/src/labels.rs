//! Label maps and label selectors rendered as upstream's `labels` package writes them.
//!
//! Selectors appear in several wide columns (Deployment, ReplicaSet, Job, ...). Upstream first
//! turns the API selector into a `labels.Selector`, which validates keys and values and sorts the
//! requirements by key; an invalid selector prints `<error>` (or `<invalid>` for Deployments)
//! instead of failing the request. We follow the same steps so the text matches byte for byte.

use std::collections::BTreeMap;

use crate::field::Field;

/// `k1=v1,k2=v2` sorted by key, or `<none>` (upstream `labels.FormatLabels`).
pub(crate) fn format_labels(map: Field<'_>) -> String {
    let sorted: BTreeMap<&str, &str> = map.entries().map(|(k, v)| (k, v.str().unwrap_or_default())).collect();
    if sorted.is_empty() {
        return "<none>".to_owned();
    }
    let pairs: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// A `metav1.LabelSelector` that upstream would refuse to convert.
#[derive(Debug)]
pub(crate) struct InvalidSelector;

/// The selector's canonical string; empty for a nil or empty selector (upstream
/// `LabelSelectorAsSelector(...).String()`).
pub(crate) fn selector_string(selector: Field<'_>) -> Result<String, InvalidSelector> {
    let mut requirements = Vec::new();
    for (key, value) in selector.get("matchLabels").entries() {
        let value = value.str().ok_or(InvalidSelector)?;
        if !is_qualified_name(key) || !is_label_value(value) {
            return Err(InvalidSelector);
        }
        requirements.push((key, format!("{key}={value}")));
    }
    for expression in selector.get("matchExpressions").items() {
        requirements.push(expression_requirement(expression)?);
    }
    // Upstream sorts by key only; a stable sort keeps equal keys in input order.
    requirements.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = requirements.into_iter().map(|(_, text)| text).collect();
    Ok(parts.join(","))
}

/// Upstream `metav1.FormatLabelSelector`: `<none>` when empty, `<error>` when invalid.
pub(crate) fn format_label_selector(selector: Field<'_>) -> String {
    match selector_string(selector) {
        Ok(text) if text.is_empty() => "<none>".to_owned(),
        Ok(text) => text,
        Err(InvalidSelector) => "<error>".to_owned(),
    }
}

/// One `matchExpressions` entry as `(key, rendered requirement)`.
fn expression_requirement(expression: Field<'_>) -> Result<(&str, String), InvalidSelector> {
    let key = expression.get("key").str().unwrap_or_default();
    if !is_qualified_name(key) {
        return Err(InvalidSelector);
    }
    let mut values = Vec::new();
    for value in expression.get("values").items() {
        let value = value.str().ok_or(InvalidSelector)?;
        values.push(value);
    }
    let operator = expression.get("operator").str().unwrap_or_default();
    let set_operator = match operator {
        "In" => " in ",
        "NotIn" => " notin ",
        "Exists" | "DoesNotExist" if values.is_empty() => {
            let bang = if operator == "DoesNotExist" { "!" } else { "" };
            return Ok((key, format!("{bang}{key}")));
        }
        _ => return Err(InvalidSelector),
    };
    if values.is_empty() || !values.iter().all(|v| is_label_value(v)) {
        return Err(InvalidSelector);
    }
    values.sort_unstable();
    Ok((key, format!("{key}{set_operator}({})", values.join(","))))
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of up to 63 characters.
fn is_qualified_name(key: &str) -> bool {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => is_name_part(name),
        (Some(prefix), Some(name), None) => is_dns_subdomain(prefix) && is_name_part(name),
        _ => false,
    }
}

/// A label value: empty, or a name part.
fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_name_part(value)
}

/// 1 to 63 characters, alphanumeric at both ends, `-`, `_` or `.` allowed inside.
fn is_name_part(name: &str) -> bool {
    let bytes = name.as_bytes();
    let inner_ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(inner_ok)
}

/// RFC 1123 subdomain: dot-separated lowercase labels, at most 253 characters.
fn is_dns_subdomain(prefix: &str) -> bool {
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        let is_edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        !bytes.is_empty()
            && bytes.first().is_some_and(is_edge)
            && bytes.last().is_some_and(is_edge)
            && bytes.iter().all(|b| is_edge(b) || *b == b'-')
    };
    prefix.len() <= 253 && prefix.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(selector: serde_json::Value) -> String {
        format_label_selector(Field::new(&selector))
    }

    #[test]
    fn selectors_sort_by_key_and_values_within_sets() {
        let selector = json!({
            "matchLabels": {"tier": "web", "app": "shop"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"}
            ]
        });
        assert_eq!(render(selector), "app=shop,!canary,env in (dev,prod),tier=web,zone");
    }

    #[test]
    fn empty_and_invalid_selectors() {
        assert_eq!(render(json!(null)), "<none>");
        assert_eq!(render(json!({})), "<none>");
        assert_eq!(render(json!({"matchLabels": {"bad key": "x"}})), "<error>");
        let bad_op = json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]});
        assert_eq!(render(bad_op), "<error>");
        let no_values = json!({"matchExpressions": [{"key": "a", "operator": "In"}]});
        assert_eq!(render(no_values), "<error>");
        assert_eq!(render(json!({"matchLabels": {"example.com/app": ""}})), "example.com/app=");
    }

    #[test]
    fn label_maps_sort_and_default_to_none() {
        let map = json!({"b": "2", "a": "1"});
        assert_eq!(format_labels(Field::new(&map)), "a=1,b=2");
        assert_eq!(format_labels(Field::new(&json!({}))), "<none>");
    }
}
