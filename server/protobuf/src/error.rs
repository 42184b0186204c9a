//! Why a body could not be decoded. Every variant is the client's fault (HTTP 400, or 415 for
//! [`Error::UnknownKind`] and the unsupported encodings), so messages name what was wrong and
//! where, for the `Status` the API server returns.

/// A protobuf request body that cannot be turned into JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body does not start with `k8s\0`.
    #[error("body is not a Kubernetes protobuf envelope: it does not start with \"k8s\\0\"")]
    BadMagic,
    /// The envelope's typeMeta names no kind.
    #[error("protobuf envelope names no kind (typeMeta.kind is empty)")]
    MissingKind,
    /// The envelope names a kind this decoder has no schema for.
    #[error("no protobuf schema for kind {kind:?} in apiVersion {api_version:?}")]
    UnknownKind { api_version: String, kind: String },
    /// The envelope's object is compressed or otherwise encoded.
    #[error("protobuf envelope contentEncoding {0:?} is not supported")]
    UnsupportedContentEncoding(String),
    /// The envelope's object is not protobuf.
    #[error("protobuf envelope contentType {0:?} is not supported")]
    UnsupportedContentType(String),
    /// The bytes do not follow the protobuf wire format or the kind's schema.
    #[error("malformed protobuf {}: {problem}", describe_path(path))]
    Malformed { path: String, problem: Malformed },
}

/// What was wrong with the wire bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    #[error("input ends inside a varint")]
    TruncatedVarint,
    #[error("varint is longer than 10 bytes")]
    VarintTooLong,
    #[error("length {len} runs past the {remaining} bytes left")]
    TruncatedLength { len: u64, remaining: usize },
    #[error("input ends inside a {0}-byte fixed-width value")]
    TruncatedFixed(usize),
    #[error("field number 0 is invalid")]
    FieldNumberZero,
    #[error("wire type {0} is not supported (groups are not used by Kubernetes)")]
    UnsupportedWireType(u8),
    #[error("field {number} has wire type {found}, {message} expects {expected}")]
    WrongWireType { message: &'static str, number: u32, expected: &'static str, found: &'static str },
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    #[error("IntOrString type {0} is neither 0 (int) nor 1 (string)")]
    InvalidIntOrStringType(i64),
    #[error("embedded object is not valid JSON: {0}")]
    InvalidEmbeddedJson(serde_json::Error),
    #[error("messages nest deeper than {0} levels")]
    TooDeep(usize),
}

impl Error {
    /// Records that the error happened inside the field `segment`, building the JSON path
    /// (`spec.template.spec.containers`) as the error travels up.
    pub(crate) fn within(self, segment: &str) -> Self {
        match self {
            Error::Malformed { path, problem } if !segment.is_empty() => {
                let path = if path.is_empty() { segment.to_owned() } else { format!("{segment}.{path}") };
                Error::Malformed { path, problem }
            }
            other => other,
        }
    }
}

impl From<Malformed> for Error {
    fn from(problem: Malformed) -> Self {
        Error::Malformed { path: String::new(), problem }
    }
}

fn describe_path(path: &str) -> String {
    if path.is_empty() { "at the top level".to_owned() } else { format!("at {path}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_grows_outward() {
        let err = Error::from(Malformed::InvalidUtf8)
            .within("image")
            .within("")
            .within("containers")
            .within("spec");
        assert_eq!(err.to_string(), "malformed protobuf at spec.containers.image: string is not valid UTF-8");
    }

    #[test]
    fn top_level_errors_say_so() {
        let err = Error::from(Malformed::TruncatedVarint);
        assert_eq!(err.to_string(), "malformed protobuf at the top level: input ends inside a varint");
    }
}
