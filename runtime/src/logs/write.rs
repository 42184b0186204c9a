//! Writing: the guest's stdout/stderr become [`LogStream`]s that append CRI lines to a
//! [`LogSink`]. Writes are synchronous and small (one line at a time), so the output of a
//! container that exits is on disk the moment its call returns.

use super::{Error, LogConfig, LogObserver, Stream, attempts, rotated_path};
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Longest line kept whole; longer output is split into `P` (partial) records, which bounds the
/// memory a guest can make the host hold by never writing a newline.
const MAX_LINE: usize = 16 * 1024;

/// One container attempt's log file, shared by its stdout and stderr.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<SinkInner>>,
}

struct SinkInner {
    container: String,
    live: PathBuf,
    /// Opened on the first write: an idle container (most HTTP pods) holds no descriptor, which
    /// is what lets a node with a 20k descriptor limit hold 10k pods.
    file: Option<File>,
    size: u64,
    config: LogConfig,
    partial: [Vec<u8>; 2],
    observer: Option<Arc<dyn LogObserver>>,
}

impl LogSink {
    /// Start the next attempt's file in `dir` (the previous attempt stays for `previous` reads).
    ///
    /// A container's first run touches no disk until it writes (or ends): creating directories
    /// is the costliest step of a pod start, and most HTTP pods never log. A later run marks its
    /// attempt with an empty file at once, so readers never take the previous run for it.
    pub fn create(
        dir: &Path,
        container: &str,
        config: LogConfig,
        observer: Option<Arc<dyn LogObserver>>,
    ) -> Result<Self, Error> {
        let earlier = attempts(dir);
        let attempt = earlier.last().map_or(0, |a| a + 1);
        let live = dir.join(format!("{attempt}.log"));
        if !earlier.is_empty() {
            // The empty file marks this attempt without staying open.
            drop(open_append(&live)?);
        }
        let inner = SinkInner {
            container: container.to_owned(),
            live,
            file: None,
            size: 0,
            config,
            partial: [Vec::new(), Vec::new()],
            observer,
        };
        Ok(LogSink { inner: Arc::new(Mutex::new(inner)) })
    }

    pub fn stream(&self, stream: Stream) -> LogStream {
        LogStream { sink: self.clone(), stream }
    }

    pub fn write(&self, stream: Stream, bytes: &[u8]) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).write(stream, bytes);
    }

    /// Write out unterminated lines (the guest exited mid-line) as partial records, so readers
    /// reproduce the output byte for byte.
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut inner.partial[stream as usize]);
            if !rest.is_empty() {
                inner.emit(stream, &rest, false);
            }
        }
        // The container ended: its attempt exists on disk from now on (even if it wrote
        // nothing, so the next run counts past it), and its descriptor goes back (a late write
        // would reopen it).
        if inner.file.is_none()
            && let Err(e) = open_append(&inner.live)
        {
            tracing::warn!(container = %inner.container, error = %e, "cannot mark the container's log");
        }
        inner.file = None;
    }
}

/// Open (creating it and its directory if needed) a log file for appending.
fn open_append(path: &Path) -> Result<File, Error> {
    let open = || OpenOptions::new().create(true).append(true).open(path);
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
            }
            open().map_err(Error::io(path))
        }
        other => other.map_err(Error::io(path)),
    }
}

impl SinkInner {
    fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let mut buf = std::mem::take(&mut self.partial[stream as usize]);
        buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            self.emit(stream, &buf[start..start + pos], true);
            start += pos + 1;
        }
        while buf.len() - start > MAX_LINE {
            self.emit(stream, &buf[start..start + MAX_LINE], false);
            start += MAX_LINE;
        }
        buf.drain(..start);
        self.partial[stream as usize] = buf;
    }

    fn emit(&mut self, stream: Stream, line: &[u8], full: bool) {
        let text = String::from_utf8_lossy(line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true);
        let record = format!("{now} {} {} {text}\n", stream.as_str(), if full { 'F' } else { 'P' });
        if let Err(e) = self.append(record.as_bytes()) {
            tracing::warn!(container = %self.container, error = %e, "cannot write container log");
        }
        if let Some(observer) = &self.observer {
            observer.line(&self.container, stream, text);
        }
    }

    fn append(&mut self, record: &[u8]) -> Result<(), Error> {
        if self.size > 0 && self.size + record.len() as u64 > self.config.max_file_bytes {
            self.rotate()?;
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(open_append(&self.live)?),
        };
        file.write_all(record).map_err(Error::io(&self.live))?;
        self.size += record.len() as u64;
        Ok(())
    }

    /// `N.log.k` -> `N.log.k+1` (the oldest falls off), `N.log` -> `N.log.1`, fresh `N.log`.
    fn rotate(&mut self) -> Result<(), Error> {
        let keep = self.config.max_files.max(1) - 1;
        if keep == 0 {
            if let Some(f) = &self.file {
                f.set_len(0).map_err(Error::io(&self.live))?;
            }
        } else {
            let _ = std::fs::remove_file(rotated_path(&self.live, keep));
            for n in (1..keep).rev() {
                let _ = std::fs::rename(rotated_path(&self.live, n), rotated_path(&self.live, n + 1));
            }
            let first = rotated_path(&self.live, 1);
            std::fs::rename(&self.live, &first).map_err(Error::io(&first))?;
            self.file = Some(open_append(&self.live)?);
        }
        self.size = 0;
        Ok(())
    }
}

/// One output stream of a guest, handed to `WasiCtxBuilder::stdout`/`stderr`.
#[derive(Clone)]
pub struct LogStream {
    sink: LogSink,
    stream: Stream,
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.sink.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.sink.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
