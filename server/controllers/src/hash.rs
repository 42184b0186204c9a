//! Template hashes (`pod-template-hash`, `controller-revision-hash`): FNV-1a over a canonical
//! rendering of the template, plus the collision count, encoded as upstream's
//! `rand.SafeEncodeString` does. Upstream hashes Go's debug printing of the typed template, which
//! we cannot reproduce; what matters is that equal templates hash equally and the text is short
//! and stable across restarts, so the JSON is rendered with its keys sorted.

use serde_json::Value;

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn fnv1a(hash: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(16_777_619))
}

/// JSON with every object's keys sorted, so that key order never changes a hash.
pub(crate) fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Upstream `controller.ComputeHash(template, collisionCount)`.
pub(crate) fn compute_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut text = String::new();
    canonical_json(template, &mut text);
    let mut h = fnv1a(2_166_136_261, text.as_bytes());
    if let Some(c) = collision_count {
        h = fnv1a(h, &(c as u32).to_le_bytes());
    }
    safe_encode(&h.to_string())
}

/// `rand.SafeEncodeString`: each byte picks a character that cannot spell words.
fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": [1, {"p": 1, "q": 2}]}});
        let b = json!({"spec": {"x": [1, {"q": 2, "p": 1}]}, "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(compute_hash(&a, None), compute_hash(&b, None));
        assert_ne!(compute_hash(&a, None), compute_hash(&a, Some(1)));
        assert_ne!(compute_hash(&a, None), compute_hash(&json!({"spec": {}}), None));
    }

    #[test]
    fn hashes_use_upstreams_alphabet() {
        let h = compute_hash(&json!({"spec": {"containers": []}}), None);
        assert!(!h.is_empty() && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| b"bcdf456789".contains(&b)), "{h}");
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }
}
