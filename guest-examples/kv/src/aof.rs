//! `--dir PATH`: an append-only file of the writes (in the replication stream's form), replayed
//! on start. FLUSHALL truncates it, so a replica's full resync does not grow it without bound.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use crate::resp::{Command, Parsed, parse};

pub struct Aof {
    path: PathBuf,
    file: File,
    failed: bool,
}

impl Aof {
    /// Opens (creating) `dir/appendonly.aof` and returns the writes it holds, to replay.
    pub fn open(dir: &str) -> Result<(Aof, Vec<Command>), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create --dir {dir}: {e}"))?;
        let path = PathBuf::from(dir).join("appendonly.aof");
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (commands, valid) = replayable(&bytes);
        if valid < bytes.len() {
            // A write cut short by a crash: drop it, so later appends stay parseable.
            eprintln!("kv: ignoring {} trailing bytes of {}", bytes.len() - valid, path.display());
            file.set_len(valid as u64).map_err(|e| format!("cannot truncate {}: {e}", path.display()))?;
        }
        Ok((Aof { path, file, failed: false }, commands))
    }

    /// Appends one encoded write; `truncate_first` for FLUSHALL.
    pub fn append(&mut self, encoded: &[u8], truncate_first: bool) {
        let result = if truncate_first { self.file.set_len(0) } else { Ok(()) }
            .and_then(|()| self.file.write_all(encoded));
        match result {
            Ok(()) => self.failed = false,
            Err(e) if !self.failed => {
                self.failed = true;
                eprintln!("kv: cannot append to {}: {e} (writes are not persisted)", self.path.display());
            }
            Err(_) => {}
        }
    }
}

/// The complete commands at the start of `bytes` and how many bytes they span.
fn replayable(bytes: &[u8]) -> (Vec<Command>, usize) {
    let mut commands = Vec::new();
    let mut at = 0;
    while let Parsed::Request(args, used) = parse(&bytes[at..]) {
        at += used;
        if !args.is_empty() {
            commands.push(args);
        }
    }
    (commands, at)
}
