//! Container logs: CRI records, rotation bounded in size, tail/since/timestamps/limit/previous.

use std::time::Duration;
use wasmkube_runtime::logs::{LogSink, read_logs};
use wasmkube_runtime::{LogConfig, LogQuery, Stream};

fn read(dir: &std::path::Path, query: LogQuery) -> String {
    let mut out = Vec::new();
    read_logs(dir, "c", &query, 3, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn rotation_bounds_the_files_and_tail_reads_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { max_file_bytes: 2_000, max_files: 3 };
    let sink = LogSink::create(dir.path(), "c", config, None).unwrap();
    for i in 0..500 {
        sink.write(Stream::Stdout, format!("line {i}\n").as_bytes());
    }
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(files.len(), 3, "live file + 2 rotated");
    for f in &files {
        assert!(f.metadata().unwrap().len() <= 2_000);
    }
    let tail = read(dir.path(), LogQuery { tail_lines: Some(3), ..Default::default() });
    assert_eq!(tail, "line 497\nline 498\nline 499\n");
    let all = read(dir.path(), LogQuery::default());
    assert!(all.ends_with("line 499\n") && !all.contains("line 0\n"), "old lines rotated away");
    let limited = read(dir.path(), LogQuery { limit_bytes: Some(10), ..Default::default() });
    assert_eq!(limited.len(), 10);
}

#[test]
fn since_timestamps_partial_lines_and_previous() {
    let dir = tempfile::tempdir().unwrap();
    let first = LogSink::create(dir.path(), "c", LogConfig::default(), None).unwrap();
    first.write(Stream::Stdout, b"from the first attempt\n");
    let sink = LogSink::create(dir.path(), "c", LogConfig::default(), None).unwrap();
    sink.write(Stream::Stdout, b"old\n");
    std::thread::sleep(Duration::from_millis(20));
    let cut = chrono::Utc::now();
    sink.write(Stream::Stderr, b"new\nunterminated");
    sink.close();

    assert_eq!(read(dir.path(), LogQuery::default()), "old\nnew\nunterminated");
    assert_eq!(read(dir.path(), LogQuery { since: Some(cut), ..Default::default() }), "new\nunterminated");
    let stamped = read(dir.path(), LogQuery { timestamps: true, tail_lines: Some(1), ..Default::default() });
    let (ts, text) = stamped.split_once(' ').unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    assert!(ts.len() >= "2024-01-01T00:00:00.000000000Z".len(), "nanosecond precision: {ts}");
    assert_eq!(text, "unterminated");
    assert_eq!(
        read(dir.path(), LogQuery { previous: true, ..Default::default() }),
        "from the first attempt\n"
    );
}

#[test]
fn a_first_run_touches_no_disk_until_it_writes_or_ends_and_the_next_run_counts_past_it() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("logs").join("c");
    let quiet = LogSink::create(&dir, "c", LogConfig::default(), None).unwrap();
    assert!(!dir.exists(), "nothing created before the first write");
    assert_eq!(read(&dir, LogQuery::default()), "", "a quiet running container has an empty log");
    quiet.close();
    assert!(dir.join("0.log").exists(), "the ended run is marked");
    let next = LogSink::create(&dir, "c", LogConfig::default(), None).unwrap();
    assert!(dir.join("1.log").exists(), "a later run is marked at once");
    next.write(Stream::Stdout, b"second run\n");
    assert_eq!(read(&dir, LogQuery::default()), "second run\n");
    assert_eq!(read(&dir, LogQuery { previous: true, ..Default::default() }), "", "the quiet run");
}

#[test]
fn a_line_without_newline_is_split_instead_of_growing_memory() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::create(dir.path(), "c", LogConfig::default(), None).unwrap();
    sink.write(Stream::Stdout, &vec![b'x'; 40_000]);
    let raw = std::fs::read_to_string(dir.path().join("0.log")).unwrap();
    assert_eq!(raw.lines().filter(|l| l.contains(" stdout P ")).count(), 2, "two 16 KiB partial records");
}

#[tokio::test]
async fn follow_streams_new_lines_until_told_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let sink = LogSink::create(dir.path(), "c", LogConfig::default(), None).unwrap();
    sink.write(Stream::Stdout, b"before\n");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let path = dir.path().to_owned();
    let follower = tokio::spawn(async move {
        let mut out = Vec::new();
        let until = async {
            stop_rx.await.ok();
        };
        wasmkube_runtime::logs::follow_logs(&path, "c", &LogQuery::default(), 2, &mut out, until)
            .await
            .unwrap();
        String::from_utf8(out).unwrap()
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    sink.write(Stream::Stdout, b"after\n");
    tokio::time::sleep(Duration::from_millis(250)).await;
    stop_tx.send(()).unwrap();
    assert_eq!(follower.await.unwrap(), "before\nafter\n");
}
