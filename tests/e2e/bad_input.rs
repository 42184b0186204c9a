//! Every kind of bad input gets the Status a kubectl user recognises, and changes nothing.

use crate::support::Server;

/// (what, path, content type, body, expected code, expected reason)
type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);

fn store_revision(s: &Server) -> String {
    let r = s.http("GET", "/api/v1/configmaps", None, b"");
    r.json()["metadata"]["resourceVersion"].as_str().unwrap().to_string()
}

#[test]
fn bad_requests_are_rejected_and_change_nothing() {
    let s = Server::start();
    s.k(&["create", "configmap", "existing", "--from-literal=a=b"]);
    let cm_path = "/api/v1/namespaces/default/configmaps";
    let existing = s.http("GET", &format!("{cm_path}/existing"), None, b"").json();
    let stale_rv = existing["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    s.k(&["label", "cm", "existing", "touched=yes"]);
    let before = store_revision(&s);
    let big =
        format!(r#"{{"metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#, "a".repeat(3 * 1024 * 1024 + 10));
    let mut stale = existing.clone();
    stale["data"]["a"] = "lost-update".into();
    let json = Some("application/json");
    let cases: Vec<Case> = vec![
        ("malformed JSON", cm_path.into(), json, b"{\"metadata\": ".to_vec(), 400, "BadRequest"),
        (
            "malformed YAML",
            cm_path.into(),
            Some("application/yaml"),
            b"metadata: [unclosed".to_vec(),
            400,
            "BadRequest",
        ),
        (
            "kind does not match URL",
            cm_path.into(),
            json,
            br#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"k"}}"#.to_vec(),
            400,
            "BadRequest",
        ),
        (
            "namespace differs from URL",
            cm_path.into(),
            json,
            br#"{"metadata":{"name":"n","namespace":"kube-system"}}"#.to_vec(),
            400,
            "BadRequest",
        ),
        ("body over 3 MiB", cm_path.into(), json, big.into_bytes(), 413, "RequestEntityTooLarge"),
        (
            "unknown field under Strict",
            format!("{cm_path}?fieldValidation=Strict"),
            json,
            br#"{"metadata":{"name":"u"},"bogus":1}"#.to_vec(),
            400,
            "BadRequest",
        ),
        (
            "invalid name",
            cm_path.into(),
            json,
            br#"{"metadata":{"name":"Bad_Name"}}"#.to_vec(),
            422,
            "Invalid",
        ),
        (
            "wrong field type",
            cm_path.into(),
            json,
            br#"{"metadata":{"name":"t"},"data":["a"]}"#.to_vec(),
            400,
            "BadRequest",
        ),
        (
            "already exists",
            cm_path.into(),
            json,
            br#"{"metadata":{"name":"existing"}}"#.to_vec(),
            409,
            "AlreadyExists",
        ),
        (
            "unknown media type",
            cm_path.into(),
            Some("text/csv"),
            b"a,b".to_vec(),
            415,
            "UnsupportedMediaType",
        ),
        (
            "namespace that does not exist",
            "/api/v1/namespaces/nope/configmaps".into(),
            json,
            br#"{"metadata":{"name":"x"}}"#.to_vec(),
            404,
            "NotFound",
        ),
        (
            "unknown resource",
            "/api/v1/namespaces/default/widgets".into(),
            json,
            b"{}".to_vec(),
            404,
            "NotFound",
        ),
        (
            "unknown group",
            "/apis/example.com/v1/namespaces/default/widgets".into(),
            json,
            b"{}".to_vec(),
            404,
            "NotFound",
        ),
    ];
    for (what, path, ct, body, code, reason) in &cases {
        let r = s.http("POST", path, *ct, body);
        assert_eq!(r.status, *code, "{what}: {}", String::from_utf8_lossy(&r.body));
        let status = r.json();
        assert_eq!(
            (status["kind"].as_str(), status["reason"].as_str()),
            (Some("Status"), Some(*reason)),
            "{what}: {status}"
        );
        assert!(status["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
    let put = |body: &serde_json::Value| {
        s.http("PUT", &format!("{cm_path}/existing"), json, body.to_string().as_bytes())
    };
    let r = put(&stale);
    assert_eq!((r.status, r.json()["reason"].as_str()), (409, Some("Conflict")), "stale resourceVersion");
    assert!(r.json()["message"].as_str().unwrap().contains("the object has been modified"));
    let mut renamed = existing.clone();
    renamed["metadata"]["name"] = "other".into();
    renamed["metadata"]["resourceVersion"] = serde_json::Value::Null;
    assert_eq!(put(&renamed).status, 400, "name in body differs from URL");
    let r = s.http(
        "PATCH",
        &format!("{cm_path}/existing"),
        Some("application/json-patch+json"),
        b"[{\"op\":\"test\",\"path\":\"/data/a\",\"value\":\"zzz\"}]",
    );
    assert_eq!(r.status, 422, "failed JSON patch test op: {}", String::from_utf8_lossy(&r.body));
    let r =
        s.http("PATCH", &format!("{cm_path}/existing"), Some("application/merge-patch+json"), b"not json");
    assert_eq!(r.status, 400);
    let r = s.http(
        "PATCH",
        &format!("{cm_path}/existing"),
        Some("application/merge-patch+json"),
        br#"{"metadata":{"resourceVersion":"1"},"data":{"a":"z"}}"#,
    );
    assert_eq!(r.status, 409, "a patch pinning an old resourceVersion conflicts");
    let r = s.http("POST", &format!("{cm_path}/existing"), json, b"{}");
    assert_eq!((r.status, r.json()["reason"].as_str()), (405, Some("MethodNotAllowed")), "unknown verb");
    let r = s.http("GET", &format!("{cm_path}?labelSelector=a%20in%20x"), None, b"");
    assert_eq!(r.status, 400, "bad selector");
    let r = s.http("GET", &format!("{cm_path}?watch=true&resourceVersion=abc"), None, b"");
    assert_eq!(r.status, 400, "bad resourceVersion");
    let r =
        s.http("DELETE", &format!("{cm_path}/existing"), json, br#"{"preconditions":{"uid":"not-the-uid"}}"#);
    assert_eq!(r.status, 409, "delete precondition");
    assert_eq!(store_revision(&s), before, "no bad request changed the store");
    let after = s.http("GET", &format!("{cm_path}/existing"), None, b"").json();
    assert_eq!(after["data"]["a"], "b");
    assert_ne!(stale_rv, after["metadata"]["resourceVersion"].as_str().unwrap());
}
