//! Reading: what `kubectl logs` asks for (tail, since, timestamps, limit, previous, follow),
//! streamed from the files so memory stays bounded by `tail` lines, never by the log size.

use super::{Error, attempt_files, attempts};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// What part of a container's log to return (the options of `GET .../pods/NAME/log`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only lines logged at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Prefix each line with its RFC3339Nano timestamp.
    pub timestamps: bool,
    /// Stop after this many bytes of output.
    pub limit_bytes: Option<u64>,
    /// Read the previous attempt of the container instead of the current one.
    pub previous: bool,
}

/// One stored record: `<ts> <stream> <F|P> <text>`.
struct Record<'a> {
    ts: &'a str,
    full: bool,
    text: &'a str,
}

fn parse(line: &str) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, ' ');
    let ts = parts.next()?;
    let _stream = parts.next()?;
    let full = parts.next()? == "F";
    Some(Record { ts, full, text: parts.next().unwrap_or("") })
}

impl LogQuery {
    fn render(&self, record: &Record<'_>) -> Option<String> {
        if let Some(since) = self.since {
            let ts = DateTime::parse_from_rfc3339(record.ts).ok()?;
            if ts < since {
                return None;
            }
        }
        let newline = if record.full { "\n" } else { "" };
        Some(if self.timestamps {
            format!("{} {}{newline}", record.ts, record.text)
        } else {
            format!("{}{newline}", record.text)
        })
    }
}

/// The files to read for `query`, oldest first.
fn files_for(dir: &Path, container: &str, query: &LogQuery, max_files: u32) -> Result<Vec<PathBuf>, Error> {
    let found = attempts(dir);
    let pick = if query.previous { found.len().checked_sub(2) } else { found.len().checked_sub(1) };
    let attempt = match pick {
        Some(i) => found[i],
        // A first run that has written nothing yet has no file (see `LogSink::create`).
        None if !query.previous => 0,
        None => return Err(Error::NotFound(container.to_owned())),
    };
    Ok(attempt_files(dir, attempt, max_files))
}

/// Write the selected lines of the log in `dir` to `out`; returns the bytes written.
pub fn read_logs(
    dir: &Path,
    container: &str,
    query: &LogQuery,
    max_files: u32,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let files = files_for(dir, container, query, max_files)?;
    let mut limit = Limit::new(query.limit_bytes);
    let mut tail: VecDeque<String> = VecDeque::new();
    for path in &files {
        let Ok(file) = std::fs::File::open(path) else { continue };
        for line in BufReader::new(file).lines() {
            let line = line.map_err(Error::io(path))?;
            let Some(text) = parse(&line).and_then(|r| query.render(&r)) else { continue };
            match query.tail_lines {
                Some(n) => {
                    tail.push_back(text);
                    if tail.len() > n {
                        tail.pop_front();
                    }
                }
                None if !limit.write(out, &text).map_err(Error::io(path))? => return Ok(limit.written),
                None => {}
            }
        }
    }
    for text in tail {
        if !limit.write(out, &text).map_err(Error::io(dir))? {
            break;
        }
    }
    Ok(limit.written)
}

/// Honours `limit_bytes` across writes.
struct Limit {
    max: Option<u64>,
    written: u64,
}

impl Limit {
    fn new(max: Option<u64>) -> Self {
        Limit { max, written: 0 }
    }

    /// Writes what fits; false once the limit is reached.
    fn write(&mut self, out: &mut dyn Write, text: &str) -> std::io::Result<bool> {
        let room = self.max.map_or(u64::MAX, |m| m.saturating_sub(self.written));
        let bytes = &text.as_bytes()[..text.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(self.max.is_none_or(|m| self.written < m))
    }
}

/// Like [`read_logs`], then keep streaming lines appended to the live file until `until`
/// completes (e.g. the container terminated), as `kubectl logs -f` does.
pub async fn follow_logs(
    dir: &Path,
    container: &str,
    query: &LogQuery,
    max_files: u32,
    out: &mut (dyn AsyncWrite + Unpin + Send),
    until: impl Future<Output = ()>,
) -> Result<(), Error> {
    let live = files_for(dir, container, query, max_files)?
        .pop()
        .ok_or_else(|| Error::NotFound(container.into()))?;
    let mut offset = std::fs::metadata(&live).map(|m| m.len()).unwrap_or(0);
    let mut first = Vec::new();
    let written = read_logs(dir, container, query, max_files, &mut first)?;
    out.write_all(&first).await.map_err(Error::io(&live))?;
    let mut limit = Limit { max: query.limit_bytes, written };
    let follow_query = LogQuery { since: None, tail_lines: None, ..query.clone() };
    tokio::pin!(until);
    loop {
        let finished = tokio::select! {
            () = &mut until => true,
            () = tokio::time::sleep(Duration::from_millis(100)) => false,
        };
        let mut chunk = Vec::new();
        offset = read_new_lines(&live, offset, &follow_query, &mut limit, &mut chunk)?;
        out.write_all(&chunk).await.map_err(Error::io(&live))?;
        out.flush().await.map_err(Error::io(&live))?;
        if finished || limit.max.is_some_and(|m| limit.written >= m) {
            return Ok(());
        }
    }
}

/// Render the complete lines after `offset`; returns the new offset. A file shorter than the
/// offset was rotated: continue from its start (lines written just before rotation are lost to
/// followers, as with kubelet).
fn read_new_lines(
    live: &Path,
    offset: u64,
    query: &LogQuery,
    limit: &mut Limit,
    out: &mut Vec<u8>,
) -> Result<u64, Error> {
    let Ok(mut file) = std::fs::File::open(live) else { return Ok(offset) };
    let len = file.metadata().map_err(Error::io(live))?.len();
    let start = if len < offset { 0 } else { offset };
    file.seek(SeekFrom::Start(start)).map_err(Error::io(live))?;
    let mut bytes = Vec::new();
    file.take(len - start).read_to_end(&mut bytes).map_err(Error::io(live))?;
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    for line in String::from_utf8_lossy(&bytes[..complete]).lines() {
        if let Some(text) = parse(line).and_then(|r| query.render(&r))
            && !limit.write(out, &text).map_err(Error::io(live))?
        {
            break;
        }
    }
    Ok(start + complete as u64)
}
