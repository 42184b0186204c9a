//! The static schema the decoder walks: for every message, which field number becomes which JSON
//! key, what lies on the wire there, and whether a zero value is dropped.
//!
//! The table itself (`generated/`) is written by `gen/k8s_schema.py` from the Go API types that
//! kubectl is compiled with; this module only defines its shape. A static table rather than
//! prost-generated structs keeps the crate free of a `protoc` build step and of thousands of
//! types we would only convert back into JSON.

pub(crate) mod build;
mod generated;

/// One protobuf message: its Go name (for error messages) and its fields, sorted by number.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

impl Message {
    /// The field with this number, or `None` for a field this schema does not know (skipped,
    /// as upstream skips unknown protobuf fields).
    pub(crate) fn field(&self, number: u32) -> Option<&'static Field> {
        let index = self.fields.binary_search_by_key(&number, |f| f.number).ok()?;
        Some(&self.fields[index])
    }
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) number: u32,
    /// The key in the JSON object; empty for an inline (embedded) message.
    pub(crate) json_name: &'static str,
    /// For a repeated field the element, for a map the value (keys are always strings).
    pub(crate) kind: Kind,
    pub(crate) shape: Shape,
}

/// How a field's values are laid out, on the wire and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One value; kept in JSON even when zero (a Go pointer, or a field without omitempty).
    Single,
    /// One value of a non-pointer Go scalar tagged `omitempty`: gogo-protobuf writes it even
    /// when zero, encoding/json would not, so a zero value is dropped.
    OmitEmpty,
    /// A list: one wire record per element, or one packed record for numeric elements.
    Repeated,
    /// A `map<string, V>`: one entry message {1: key, 2: value} per wire record.
    Map,
    /// A Go struct embedded with `json:",inline"`: a nested message on the wire whose fields
    /// land in the enclosing JSON object (`Volume.volumeSource`, `Probe.handler`).
    Inline,
}

/// What one value is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Message(&'static Message),
    Special(Special),
}

/// Protobuf scalar types used by the Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    String,
    /// `[]byte`: base64 in JSON, like encoding/json.
    Bytes,
    Bool,
    Int32,
    Int64,
}

/// Messages whose JSON form is not an object (hand-written in `special.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// metav1.Time {seconds, nanos}: RFC 3339 string with seconds precision, or null.
    Time,
    /// metav1.MicroTime {seconds, nanos}: RFC 3339 string with microseconds, or null.
    MicroTime,
    /// intstr.IntOrString {type, intVal, strVal}: a JSON number or string.
    IntOrString,
    /// resource.Quantity {string}: the quantity string.
    Quantity,
    /// runtime.RawExtension {raw}: the embedded object.
    RawExtension,
    /// metav1.FieldsV1 {Raw}: the embedded JSON (managedFields).
    FieldsV1,
}

/// The message of a top-level kind, as named by the envelope's typeMeta.
pub(crate) fn find_kind(api_version: &str, kind: &str) -> Option<&'static Message> {
    generated::KINDS.iter().find(|(v, k, _)| *v == api_version && *k == kind).map(|(_, _, message)| *message)
}

/// Every (apiVersion, kind) the table covers.
pub(crate) fn kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    generated::KINDS.iter().map(|(v, k, _)| (*v, *k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_messages() -> Vec<&'static Message> {
        let mut seen: Vec<&'static Message> = Vec::new();
        let mut stack: Vec<&'static Message> = generated::KINDS.iter().map(|k| k.2).collect();
        while let Some(message) = stack.pop() {
            if seen.iter().any(|m| std::ptr::eq(*m, message)) {
                continue;
            }
            seen.push(message);
            stack.extend(message.fields.iter().filter_map(|f| match f.kind {
                Kind::Message(m) => Some(m),
                _ => None,
            }));
        }
        seen
    }

    #[test]
    fn fields_are_sorted_and_unique_so_binary_search_works() {
        for message in all_messages() {
            let numbers: Vec<u32> = message.fields.iter().map(|f| f.number).collect();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{}", message.name);
            assert!(numbers.iter().all(|n| *n > 0), "{}", message.name);
        }
    }

    #[test]
    fn only_inline_fields_lack_a_json_name() {
        for message in all_messages() {
            for field in message.fields {
                let inline = field.shape == Shape::Inline;
                assert_eq!(field.json_name.is_empty(), inline, "{}", message.name);
                if inline {
                    assert!(matches!(field.kind, Kind::Message(_)), "{}", message.name);
                }
            }
        }
    }

    #[test]
    fn kinds_are_unique() {
        let all: Vec<_> = kinds().collect();
        for (i, kind) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(kind), "{kind:?} listed twice");
        }
    }

    #[test]
    fn finds_the_kinds_kubectl_creates() {
        for (v, k) in [
            ("v1", "Namespace"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "Job"),
            ("batch/v1", "CronJob"),
            ("autoscaling/v1", "HorizontalPodAutoscaler"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ] {
            assert_eq!(find_kind(v, k).map(|m| m.name), Some(k));
        }
        assert!(find_kind("apps/v1", "Pod").is_none());
    }
}
