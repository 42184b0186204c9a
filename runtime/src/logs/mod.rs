//! Container logs: CRI-format files with size-bounded rotation.
//!
//! Each line is stored as `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>` (the format
//! kubelet's CRI logs use, `P` marking a line split because it was too long), in
//! `DATA_DIR/pods/<uid>/logs/<container>/<attempt>.log`, rotated to `<attempt>.log.1` ... when it
//! passes `max_file_bytes`. Nothing is kept in memory beyond one partial line per stream.

mod read;
mod write;

pub use read::{LogQuery, follow_logs, read_logs};
pub use write::{LogSink, LogStream};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("log file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no logs for container {0:?}")]
    NotFound(String),
}

impl Error {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io { path: path.to_owned(), source }
    }
}

/// Rotation policy, as kubelet's `containerLogMaxSize` / `containerLogMaxFiles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfig {
    pub max_file_bytes: u64,
    /// Files kept per container attempt, the live one included.
    pub max_files: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { max_file_bytes: 10 << 20, max_files: 2 }
    }
}

/// Which output of the guest a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Sees every complete line as it is logged (e.g. `wasmkube play` printing `[name] line`).
pub trait LogObserver: Send + Sync {
    fn line(&self, container: &str, stream: Stream, line: &str);
}

/// The directory holding one container's log files.
pub fn container_log_dir(pod_dir: &Path, container: &str) -> PathBuf {
    pod_dir.join("logs").join(container)
}

/// Attempt numbers present in `dir`, ascending (each run of a container is one attempt).
fn attempts(dir: &Path) -> Vec<u32> {
    let mut found: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    found.sort_unstable();
    found
}

/// The live file of `attempt` and its rotated predecessors, oldest first.
fn attempt_files(dir: &Path, attempt: u32, max_files: u32) -> Vec<PathBuf> {
    let live = dir.join(format!("{attempt}.log"));
    let mut files: Vec<PathBuf> =
        (1..max_files.max(1)).rev().map(|n| rotated_path(&live, n)).filter(|p| p.exists()).collect();
    files.push(live);
    files
}

fn rotated_path(live: &Path, n: u32) -> PathBuf {
    let mut name = live.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}
