//! Bodies that must be rejected with a clear error, and fuzz-ish sweeps that must never panic.

use serde_json::json;
use wasmkube_protobuf::{Error, Malformed, decode};

use crate::builder::{Msg, envelope};
use crate::kubectl_fixtures::{FIXTURES, fixture};

fn error_of(body: &[u8]) -> Error {
    decode(body).expect_err("body must be rejected")
}

#[test]
fn bad_magic() {
    for body in [&b""[..], b"k8s", b"k8s\x01\x0a\x00", br#"{"kind":"Pod"}"#] {
        assert!(matches!(error_of(body), Error::BadMagic), "{body:?}");
    }
    assert!(error_of(b"PK").to_string().contains("k8s\\0"));
}

#[test]
fn truncated_varint() {
    let err = error_of(b"k8s\0\x0a\x80");
    assert!(matches!(err, Error::Malformed { problem: Malformed::TruncatedVarint, .. }), "{err}");
}

#[test]
fn length_running_past_the_end() {
    let err = error_of(b"k8s\0\x12\x05ab");
    assert_eq!(err.to_string(), "malformed protobuf at the top level: length 5 runs past the 2 bytes left");
}

#[test]
fn wrong_wire_type_names_the_field_path() {
    let deployment = Msg::new().msg(2, Msg::new().str(1, "two"));
    let err = error_of(&envelope("apps/v1", "Deployment", deployment));
    assert_eq!(
        err.to_string(),
        "malformed protobuf at spec.replicas: field 1 has wire type LEN, \
         DeploymentSpec expects VARINT"
    );
    let err = error_of(&envelope("v1", "Namespace", Msg::new().int(1, 7)));
    assert!(err.to_string().contains("at metadata: field 1 has wire type VARINT"), "{err}");
    let err = error_of(b"k8s\0\x08\x01");
    assert!(err.to_string().contains("runtime.Unknown expects LEN"), "{err}");
}

#[test]
fn unknown_kind_names_the_kind() {
    let err = error_of(&envelope("example.com/v1", "Widget", Msg::new()));
    assert!(matches!(&err, Error::UnknownKind { kind, .. } if kind == "Widget"));
    assert_eq!(err.to_string(), "no protobuf schema for kind \"Widget\" in apiVersion \"example.com/v1\"");
    let err = error_of(&envelope("apps/v1", "Pod", Msg::new()));
    assert!(matches!(err, Error::UnknownKind { .. }));
}

#[test]
fn missing_kind() {
    assert!(matches!(error_of(&envelope("v1", "", Msg::new())), Error::MissingKind));
    assert!(matches!(error_of(b"k8s\0"), Error::MissingKind));
}

#[test]
fn unsupported_envelope_encodings() {
    let base = Msg::new().msg(1, Msg::new().str(1, "v1").str(2, "Namespace"));
    let gzip = [b"k8s\0".as_slice(), &base.clone().str(3, "gzip").into_bytes()].concat();
    assert!(matches!(error_of(&gzip), Error::UnsupportedContentEncoding(e) if e == "gzip"));
    let json = [b"k8s\0".as_slice(), &base.str(4, "application/json").into_bytes()].concat();
    assert!(matches!(error_of(&json), Error::UnsupportedContentType(_)));
}

#[test]
fn invalid_utf8_and_bad_special_values() {
    let bad_name = Msg::new().msg(1, Msg::new().bytes(1, &[0xff, 0xfe]));
    let err = error_of(&envelope("v1", "Namespace", bad_name));
    assert_eq!(err.to_string(), "malformed protobuf at metadata.name: string is not valid UTF-8");

    let port = Msg::new().msg(4, Msg::new().int(1, 7));
    let service = Msg::new().msg(2, Msg::new().msg(1, port));
    let err = error_of(&envelope("v1", "Service", service));
    assert!(err.to_string().contains("spec.ports.targetPort: IntOrString type 7"), "{err}");

    let list = Msg::new().msg(2, Msg::new().bytes(1, b"{not json"));
    let err = error_of(&envelope("v1", "List", list));
    assert!(err.to_string().contains("at items: embedded object is not valid JSON"), "{err}");
}

#[test]
fn groups_and_field_zero_are_rejected() {
    let err = error_of(&envelope("v1", "Namespace", Msg::new().key(5, 3)));
    assert!(err.to_string().contains("wire type 3 is not supported"), "{err}");
    let err = error_of(&envelope("v1", "Namespace", Msg::new().key(0, 0).raw(&[0])));
    assert!(err.to_string().contains("field number 0"), "{err}");
}

#[test]
fn nesting_is_bounded() {
    let mut body = envelope("v1", "Namespace", Msg::new());
    for _ in 0..200 {
        body = envelope("v1", "List", Msg::new().msg(2, Msg::new().bytes(1, &body)));
    }
    let err = error_of(&body);
    assert!(matches!(err, Error::Malformed { problem: Malformed::TooDeep(_), .. }), "{err}");
}

/// Every prefix of every captured body either fails cleanly or ends on a field boundary of the
/// envelope: before `raw` (an empty object) or after it (the whole object).
#[test]
fn every_truncation_of_every_fixture_fails_cleanly() {
    for name in FIXTURES {
        let body = fixture(name);
        let full = decode(&body).unwrap();
        let empty = json!({"apiVersion": full["apiVersion"], "kind": full["kind"]});
        for len in 0..body.len() {
            if let Ok(partial) = decode(&body[..len]) {
                assert!(partial == full || partial == empty, "{name} cut at {len}: {partial}");
            }
        }
    }
}

/// Flipping bits anywhere in a real body may make it invalid or change a value, never panic.
#[test]
fn bit_flips_never_panic() {
    for name in FIXTURES {
        let body = fixture(name);
        for index in 0..body.len() {
            for mask in [0x01, 0x02, 0x08, 0x40, 0x80, 0xff] {
                let mut mutated = body.clone();
                mutated[index] ^= mask;
                let _ = decode(&mutated);
            }
        }
    }
}

/// Random bytes after the magic, from a fixed-seed xorshift so failures reproduce.
#[test]
fn random_bodies_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let deployment = fixture("deployment");
    for _ in 0..5_000 {
        let len = (next() % 64) as usize;
        let mut body = b"k8s\0".to_vec();
        body.extend((0..len).map(|_| next() as u8));
        let _ = decode(&body);
        // The same garbage spliced into a real body reaches deeper into the schema.
        let at = 4 + (next() as usize) % (deployment.len() - 4);
        let spliced = [&deployment[..at], &body[4..], &deployment[at..]].concat();
        let _ = decode(&spliced);
    }
}
