//! The per-field error type, shaped like apimachinery's `field.Error`.
//!
//! Upstream renders every cause as `<field>: <type>: <value>: <detail>`; the
//! same text ends up in `Status.details.causes[].message` (without the field
//! prefix) and in the aggregated `Status.message`. Clients and humans grep
//! these strings, so [`FieldError::message`] reproduces them byte for byte,
//! including Go's quoting of the bad value.

use serde_json::Value;

use crate::go_repr::go_value;

/// What went wrong with a field; one variant per upstream `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A malformed value (failed regex, out of range, ...).
    Invalid,
    /// A value that must be present is absent or empty.
    Required,
    /// A value that must be unique occurs twice.
    Duplicate,
    /// A value outside an enumerated set.
    NotSupported,
    /// A well-formed value that is not allowed in this context.
    Forbidden,
    /// A string or map that is longer than its limit.
    TooLong,
    /// A list with more items than allowed.
    TooMany,
    /// A reference to something that does not exist (e.g. a volume mount name).
    NotFound,
}

impl ErrorKind {
    /// The machine-readable cause type, as in `Status.details.causes[].reason`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::NotSupported => "FieldValueNotSupported",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
            ErrorKind::NotFound => "FieldValueNotFound",
        }
    }

    /// The human-readable label upstream puts before the value.
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "Invalid value",
            ErrorKind::Required => "Required value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
            ErrorKind::NotFound => "Not found",
        }
    }

    /// Upstream never prints the value for these kinds.
    fn hides_value(self) -> bool {
        matches!(self, ErrorKind::Required | ErrorKind::Forbidden | ErrorKind::TooLong)
    }
}

/// One problem with one field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The JSON path of the field, upstream style: `spec.containers[0].image`,
    /// `metadata.labels` or `data[my key]`.
    pub field: String,
    /// The offending value, when upstream reports one.
    pub value: Option<Value>,
    /// Extra explanation; may be empty.
    pub detail: String,
    /// Upstream prints this value with its `String()` method (quantities,
    /// int-or-string), i.e. without quotes.
    stringer: bool,
}

impl FieldError {
    fn new(kind: ErrorKind, field: impl ToString, value: Option<Value>, detail: &str) -> Self {
        FieldError { kind, field: field.to_string(), value, detail: detail.to_owned(), stringer: false }
    }

    /// A malformed value that upstream renders through `fmt.Stringer`
    /// (a `Quantity` or `IntOrString`): printed as `text`, unquoted.
    pub(crate) fn invalid_stringer(field: impl ToString, text: impl ToString, detail: &str) -> Self {
        let mut e = Self::new(ErrorKind::Invalid, field, Some(Value::String(text.to_string())), detail);
        e.stringer = true;
        e
    }

    /// A malformed value.
    pub fn invalid(field: impl ToString, value: impl Into<Value>, detail: &str) -> Self {
        Self::new(ErrorKind::Invalid, field, Some(value.into()), detail)
    }

    /// A missing value.
    pub fn required(field: impl ToString, detail: &str) -> Self {
        Self::new(ErrorKind::Required, field, None, detail)
    }

    /// A repeated value.
    pub fn duplicate(field: impl ToString, value: impl Into<Value>) -> Self {
        Self::new(ErrorKind::Duplicate, field, Some(value.into()), "")
    }

    /// A value outside `supported`; the detail lists them as upstream does.
    pub fn not_supported(field: impl ToString, value: impl Into<Value>, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| crate::go_repr::go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorKind::NotSupported, field, Some(value.into()), &detail)
    }

    /// A value not allowed here.
    pub fn forbidden(field: impl ToString, detail: &str) -> Self {
        Self::new(ErrorKind::Forbidden, field, None, detail)
    }

    /// A value longer than `max` bytes.
    pub fn too_long(field: impl ToString, max: usize) -> Self {
        let detail = format!("must have at most {max} bytes");
        Self::new(ErrorKind::TooLong, field, None, &detail)
    }

    /// A list with `actual` items where at most `max` are allowed.
    pub fn too_many(field: impl ToString, actual: usize, max: usize) -> Self {
        let detail = format!("must have at most {max} items");
        Self::new(ErrorKind::TooMany, field, Some(Value::from(actual)), &detail)
    }

    /// A reference to something absent.
    pub fn not_found(field: impl ToString, value: impl Into<Value>) -> Self {
        Self::new(ErrorKind::NotFound, field, Some(value.into()), "")
    }

    /// Replaces the detail; upstream does this for a few `Duplicate`/`NotFound` causes.
    pub fn with_detail(mut self, detail: &str) -> Self {
        self.detail = detail.to_owned();
        self
    }

    /// The cause type for `Status.details.causes[].reason`.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }

    /// The text without the field, as upstream puts in `causes[].message`.
    pub fn body(&self) -> String {
        let mut s = self.kind.label().to_owned();
        if !self.kind.hides_value() {
            let rendered = match &self.value {
                Some(Value::String(text)) if self.stringer => text.clone(),
                Some(v) => go_value(&self.field, v),
                None => "null".to_owned(),
            };
            s.push_str(": ");
            s.push_str(&rendered);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The full upstream text: `<field>: <body>`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_every_kind_like_upstream() {
        let cases = [
            (FieldError::required("a", ""), "a: Required value", "FieldValueRequired"),
            (FieldError::forbidden("a", "no"), "a: Forbidden: no", "FieldValueForbidden"),
            (FieldError::duplicate("a[1]", "x"), "a[1]: Duplicate value: \"x\"", "FieldValueDuplicate"),
            (FieldError::not_found("a", "x"), "a: Not found: \"x\"", "FieldValueNotFound"),
            (FieldError::too_long("a", 5), "a: Too long: must have at most 5 bytes", "FieldValueTooLong"),
            (
                FieldError::too_many("a", 7, 5),
                "a: Too many: 7: must have at most 5 items",
                "FieldValueTooMany",
            ),
            (FieldError::invalid("a", 3, "bad"), "a: Invalid value: 3: bad", "FieldValueInvalid"),
            (
                FieldError::not_supported("a", "x", &["B", "C"]),
                "a: Unsupported value: \"x\": supported values: \"B\", \"C\"",
                "FieldValueNotSupported",
            ),
            (
                FieldError::invalid_stringer("a", "25%", "bad"),
                "a: Invalid value: 25%: bad",
                "FieldValueInvalid",
            ),
        ];
        for (err, message, reason) in cases {
            assert_eq!(err.message(), message);
            assert_eq!(err.reason(), reason);
        }
        let e = FieldError::invalid("spec.selector", json!({"matchLabels": {"a": "b"}}), "x");
        assert_eq!(
            e.body(),
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: x"
        );
    }
}
