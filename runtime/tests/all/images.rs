//! The image store: import, list, resolve, remove; bad input refused clearly.

use crate::support::*;
use wasmkube_runtime::ImageStore;

#[test]
fn import_list_resolve_remove_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let kv = store.import(&guest("kv"), None).unwrap();
    assert_eq!(kv.name, "kv:latest");
    assert!(kv.digest.starts_with("sha256:") && kv.digest.len() == 71, "{}", kv.digest);
    let named = store.import(&guest("hello"), Some("greeter")).unwrap();
    assert_eq!(named.name, "greeter:latest");
    store.import(&guest("hello"), Some("registry.local:5000/team/greeter:v1")).unwrap();

    let names: Vec<_> = store.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["greeter:latest", "kv:latest", "registry.local:5000/team/greeter:v1"]);

    let resolved = store.resolve("kv").unwrap();
    assert_eq!(resolved.digest, kv.digest);
    assert_eq!(std::fs::read(&resolved.path).unwrap(), std::fs::read(guest("kv")).unwrap());
    assert_eq!(store.resolve(&kv.digest).unwrap().path, resolved.path);

    store.remove("greeter").unwrap();
    let blob = store.resolve("registry.local:5000/team/greeter:v1").unwrap().path;
    assert!(blob.exists(), "a blob still named elsewhere is kept");
    store.remove("registry.local:5000/team/greeter:v1").unwrap();
    assert!(!blob.exists(), "the last name's removal deletes the blob");
    assert!(store.resolve("greeter").is_err());
    assert!(store.remove("greeter").unwrap_err().to_string().contains("not found"));
}

#[test]
fn import_refuses_what_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "hello").unwrap();
    let err = store.import(&text, None).unwrap_err().to_string();
    assert!(err.contains("not a WebAssembly component"), "{err}");
    let module = dir.path().join("core.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let err = store.import(&module, None).unwrap_err().to_string();
    assert!(err.contains("core wasm module"), "{err}");
    assert!(store.list().unwrap().is_empty());
}
