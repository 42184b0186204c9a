//! The node's image store: content-addressed components under `DATA_DIR/images/`.
//!
//! Layout: `blobs/sha256/<hex>` holds each component once; `index.json` maps `name:tag` to a
//! digest. The index is replaced atomically (temp file + rename) under an exclusive lock on
//! `index.lock`, so `wasmkube image import` can run while a server reads the store.

use crate::spec::ImageSpec;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} is not a WebAssembly component ({1})")]
    NotAComponent(PathBuf, &'static str),
    #[error("invalid image name {0:?}")]
    InvalidName(String),
    #[error("image {0:?} not found in the local image store (import it with `wasmkube image import`)")]
    NotFound(String),
    #[error("corrupt image index {path}: {source}")]
    Index { path: PathBuf, source: serde_json::Error },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// An entry of the store, as `wasmkube image ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// `name:tag`.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    images: BTreeMap<String, String>,
}

/// Handle on `DATA_DIR/images/`; cheap, holds no open files between calls.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// `kv` -> `kv:latest`; `host:5000/repo` -> `host:5000/repo:latest` (a tag follows the last `/`).
pub fn normalize_reference(reference: &str) -> Result<String, Error> {
    let valid = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    if reference.is_empty() || !reference.chars().all(valid) || reference.starts_with(['/', ':', '.']) {
        return Err(Error::InvalidName(reference.to_owned()));
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    Ok(if last.contains(':') { reference.to_owned() } else { format!("{reference}:latest") })
}

/// Check the header: `\0asm`, then the component-model layer (a core module has version 1).
fn check_component(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(Error::NotAComponent(
            path.to_owned(),
            "it is a core wasm module; wrap it with `wasm-tools component new`",
        )),
        _ => Err(Error::NotAComponent(path.to_owned(), "no wasm header")),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl ImageStore {
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        let root = data_dir.join("images");
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
        Ok(ImageStore { root })
    }

    fn blob_path(&self, hex: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(hex)
    }

    /// Add a component; `name` defaults to the file stem with tag `latest`.
    pub fn import(&self, file: &Path, name: Option<&str>) -> Result<ImageInfo, Error> {
        let name = match name {
            Some(n) => normalize_reference(n)?,
            None => {
                let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                normalize_reference(&stem.to_ascii_lowercase())?
            }
        };
        let bytes = std::fs::read(file).map_err(io(file))?;
        check_component(file, &bytes)?;
        let hex = sha256_hex(&bytes);
        let blob = self.blob_path(&hex);
        if !blob.exists() {
            write_atomic(&blob, &bytes)?;
        }
        let digest = format!("sha256:{hex}");
        self.update_index(|index| {
            index.images.insert(name.clone(), digest.clone());
        })?;
        tracing::info!(image = %name, %digest, size = bytes.len(), "image imported");
        Ok(ImageInfo { name, digest, size: bytes.len() as u64 })
    }

    pub fn list(&self) -> Result<Vec<ImageInfo>, Error> {
        let index = self.with_lock(false, |store| store.read_index())?;
        Ok(index.images.into_iter().map(|(name, digest)| self.info(name, digest)).collect())
    }

    fn info(&self, name: String, digest: String) -> ImageInfo {
        let size = std::fs::metadata(self.blob_path(hex_of(&digest))).map(|m| m.len()).unwrap_or(0);
        ImageInfo { name, digest, size }
    }

    /// Remove a name (or every name of a digest); the blob goes when no name refers to it.
    pub fn remove(&self, reference: &str) -> Result<Vec<ImageInfo>, Error> {
        let mut removed = Vec::new();
        self.update_index(|index| {
            let wanted = normalize_reference(reference).ok();
            index.images.retain(|name, digest| {
                let hit = Some(name) == wanted.as_ref() || digest == reference;
                if hit {
                    removed.push((name.clone(), digest.clone()));
                }
                !hit
            });
            for (_, digest) in &removed {
                if !index.images.values().any(|d| d == digest) {
                    let _ = std::fs::remove_file(self.blob_path(hex_of(digest)));
                }
            }
        })?;
        if removed.is_empty() {
            return Err(Error::NotFound(reference.to_owned()));
        }
        Ok(removed.into_iter().map(|(name, digest)| ImageInfo { name, digest, size: 0 }).collect())
    }

    /// The digest and blob path of `reference` (`name[:tag]` or `sha256:<hex>`).
    pub fn resolve(&self, reference: &str) -> Result<ImageSpec, Error> {
        let index = self.with_lock(false, |store| store.read_index())?;
        let digest = match reference.strip_prefix("sha256:") {
            Some(_) if index.images.values().any(|d| d == reference) => reference.to_owned(),
            _ => {
                let name = normalize_reference(reference)?;
                index.images.get(&name).cloned().ok_or_else(|| Error::NotFound(reference.to_owned()))?
            }
        };
        let path = self.blob_path(hex_of(&digest));
        if !path.exists() {
            return Err(Error::NotFound(reference.to_owned()));
        }
        Ok(ImageSpec { digest, path })
    }

    fn update_index(&self, change: impl FnOnce(&mut Index)) -> Result<(), Error> {
        self.with_lock(true, |store| {
            let mut index = store.read_index()?;
            change(&mut index);
            let json = serde_json::to_vec_pretty(&index).expect("an index always serialises");
            write_atomic(&store.root.join("index.json"), &json)
        })
    }

    fn read_index(&self) -> Result<Index, Error> {
        let path = self.root.join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| Error::Index { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Run `f` holding `index.lock` (exclusive for writers, shared for readers); the lock is
    /// released when the file closes, even if this process dies.
    fn with_lock<R>(&self, exclusive: bool, f: impl FnOnce(&Self) -> Result<R, Error>) -> Result<R, Error> {
        let path = self.root.join("index.lock");
        let lock = File::options().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        if exclusive { lock.lock() } else { lock.lock_shared() }.map_err(io(&path))?;
        f(self)
    }
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Write to a temp file in the same directory, then rename: readers see all or nothing.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
