//! Rendering of bad values the way Go's `fmt` prints them in upstream errors.
//!
//! Upstream formats strings with `%q`, numbers and booleans with `%v`, and
//! everything else with `%#v` (Go syntax). We only see JSON, so Go-syntax
//! rendering covers the shapes upstream actually reports: string maps
//! (`map[string]string{...}`), string lists (`[]string{...}`) and label
//! selectors (`v1.LabelSelector{...}`). Other composite values fall back to
//! compact JSON, which is the one knowing divergence.

use serde_json::{Map, Value};

/// Go's `strconv.Quote`: double-quoted with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and ASCII space.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !c.is_control() && !c.is_whitespace() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{feff}')
}

/// Renders `value` as upstream would print the bad value of `field`.
pub fn go_value(field: &str, value: &Value) -> String {
    match value {
        Value::String(s) => go_quote(s),
        // A nil label map (e.g. a template without labels).
        Value::Null if field.ends_with(".labels") => "map[string]string(nil)".to_owned(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => go_array(items),
        Value::Object(map) => go_object(field, map),
    }
}

fn go_array(items: &[Value]) -> String {
    if items.iter().all(Value::is_string) {
        return go_string_slice(Some(items));
    }
    Value::Array(items.to_vec()).to_string()
}

fn go_object(field: &str, map: &Map<String, Value>) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let selector_keys = map.keys().all(|k| k == "matchLabels" || k == "matchExpressions");
    if last == "selector" && selector_keys {
        return go_label_selector(map);
    }
    if map.values().all(Value::is_string) {
        return go_string_map(Some(map));
    }
    Value::Object(map.clone()).to_string()
}

/// `map[string]string{"a":"b", "c":"d"}`; Go prints map keys sorted.
fn go_string_map(map: Option<&Map<String, Value>>) -> String {
    let Some(map) = map else {
        return "map[string]string(nil)".to_owned();
    };
    let mut pairs: Vec<(&String, &str)> =
        map.iter().map(|(k, v)| (k, v.as_str().unwrap_or_default())).collect();
    pairs.sort();
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

fn go_string_slice(items: Option<&[Value]>) -> String {
    let Some(items) = items else {
        return "[]string(nil)".to_owned();
    };
    let body: Vec<String> = items.iter().map(|v| go_quote(v.as_str().unwrap_or_default())).collect();
    format!("[]string{{{}}}", body.join(", "))
}

fn go_label_selector(map: &Map<String, Value>) -> String {
    let labels = go_string_map(map.get("matchLabels").and_then(Value::as_object));
    let exprs = match map.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_owned(),
        Some(list) => {
            let body: Vec<String> = list.iter().map(go_requirement).collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}")
}

fn go_requirement(req: &Value) -> String {
    let text = |k: &str| go_quote(req.get(k).and_then(Value::as_str).unwrap_or_default());
    let values = go_string_slice(req.get("values").and_then(Value::as_array).map(Vec::as_slice));
    format!(
        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
        text("key"),
        text("operator"),
        values
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("héllo"), "\"héllo\"");
    }

    #[test]
    fn renders_selector_like_go() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"}});
        assert_eq!(
            go_value("spec.selector", &sel),
            r#"v1.LabelSelector{MatchLabels:map[string]string{"a":"1", "b":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"#
        );
    }
}
