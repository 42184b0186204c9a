use super::*;
use crate::types::EventType;
use bytes::Bytes;
use futures::StreamExt;

fn open(dir: &tempfile::TempDir, history: u64) -> RedbStore {
    let mut config = RedbStoreConfig::new(dir.path().join("store.redb"));
    config.history_revisions = history;
    RedbStore::open(config).unwrap()
}

fn key(name: &str) -> Key {
    Key::new("configmaps", "default", name)
}

fn create(name: &str, v: &'static str) -> Op {
    Op::Create { key: key(name), value: Bytes::from_static(v.as_bytes()) }
}

#[tokio::test]
async fn crud_with_optimistic_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 1000);
    let r1 = s.write(create("a", "1")).await.unwrap().rev;
    assert_eq!(r1, 1);
    assert!(matches!(s.write(create("a", "x")).await, Err(Error::AlreadyExists)));
    let stale = Op::Update { key: key("a"), value: Bytes::from_static(b"2"), expected_rev: Some(99) };
    assert!(matches!(s.write(stale).await, Err(Error::Conflict { expected: 99, found: 1 })));
    let ok = Op::Update { key: key("a"), value: Bytes::from_static(b"2"), expected_rev: Some(r1) };
    let out = s.write(ok).await.unwrap();
    assert_eq!((out.rev, out.prev.unwrap().value), (2, Bytes::from_static(b"1")));
    let got = s.get(&key("a")).await.unwrap().unwrap();
    assert_eq!((got.mod_rev, got.value), (2, Bytes::from_static(b"2")));
    let missing = Op::Update { key: key("zz"), value: Bytes::new(), expected_rev: None };
    assert!(matches!(s.write(missing).await, Err(Error::NotFound)));
    s.write(Op::Delete { key: key("a"), expected_rev: None }).await.unwrap();
    assert!(s.get(&key("a")).await.unwrap().is_none());
    assert_eq!(s.current_rev(), 3, "failed writes do not consume revisions");
}

#[tokio::test]
async fn list_at_an_older_revision_undoes_later_events() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 1000);
    s.write(create("a", "a1")).await.unwrap();
    s.write(create("b", "b1")).await.unwrap();
    let at = s.current_rev();
    s.write(Op::Update { key: key("a"), value: Bytes::from_static(b"a2"), expected_rev: None })
        .await
        .unwrap();
    s.write(Op::Delete { key: key("b"), expected_rev: None }).await.unwrap();
    s.write(create("c", "c1")).await.unwrap();
    let prefix = Prefix::resource("configmaps", Some("default"));
    let old = s.list(&prefix, Some(at)).await.unwrap();
    let got: Vec<_> =
        old.items.iter().map(|kv| (kv.key.name.as_str(), kv.value.clone(), kv.mod_rev)).collect();
    assert_eq!(got, vec![("a", Bytes::from_static(b"a1"), 1), ("b", Bytes::from_static(b"b1"), 2)]);
    let now = s.list(&prefix, None).await.unwrap();
    assert_eq!(now.rev, 5);
    assert_eq!(now.items.iter().map(|kv| kv.key.name.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert!(matches!(s.list(&prefix, Some(99)).await, Err(Error::FutureRevision { .. })));
}

#[tokio::test]
async fn watch_replays_history_then_follows_live_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 1000);
    s.write(create("a", "1")).await.unwrap();
    s.write(Op::Create { key: Key::new("secrets", "default", "x"), value: Bytes::new() }).await.unwrap();
    let mut w = s.watch(Prefix::resource("configmaps", None), 0).unwrap();
    let first = w.next().await.unwrap().unwrap();
    assert_eq!((first.rev, first.kind), (1, EventType::Added));
    s.write(Op::Delete { key: key("a"), expected_rev: None }).await.unwrap();
    let second = w.next().await.unwrap().unwrap();
    assert_eq!((second.rev, second.kind), (3, EventType::Deleted), "the secret is filtered out");
    assert_eq!(second.value, Bytes::from_static(b"1"), "a delete carries the last state");
}

#[tokio::test]
async fn compaction_expires_old_watches_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 10);
    for i in 0..40 {
        let op = Op::Create { key: key(&format!("k{i}")), value: Bytes::new() };
        s.write(op).await.unwrap();
    }
    let compacted = s.compacted_rev();
    assert!((20..=30).contains(&compacted), "history bounded near 10 revisions: {compacted}");
    assert!(matches!(s.watch(Prefix::all(), 1), Err(Error::Compacted { requested: 1, .. })));
    assert!(matches!(s.list(&Prefix::all(), Some(1)).await, Err(Error::Compacted { .. })));
    let mut w = s.watch(Prefix::all(), compacted).unwrap();
    assert_eq!(w.next().await.unwrap().unwrap().rev, compacted + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_get_distinct_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir, 10_000));
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let op = Op::Create { key: key(&format!("c{i}")), value: Bytes::new() };
                s.write(op).await.unwrap().rev
            })
        })
        .collect();
    let mut revs = Vec::new();
    for t in tasks {
        revs.push(t.await.unwrap());
    }
    revs.sort_unstable();
    assert_eq!(revs, (1..=300).collect::<Vec<_>>());
}

#[tokio::test]
async fn reopening_keeps_objects_revisions_and_history() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(&dir, 1000);
        s.write(create("a", "1")).await.unwrap();
        s.write(create("b", "2")).await.unwrap();
    }
    // The writer thread of the first store may still hold the file briefly after drop.
    let s = loop {
        let mut config = RedbStoreConfig::new(dir.path().join("store.redb"));
        config.history_revisions = 1000;
        match RedbStore::open(config) {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    assert_eq!(s.current_rev(), 2);
    assert_eq!(s.get(&key("b")).await.unwrap().unwrap().value, Bytes::from_static(b"2"));
    let mut w = s.watch(Prefix::all(), 0).unwrap();
    assert_eq!(w.next().await.unwrap().unwrap().key.name, "a");
}
