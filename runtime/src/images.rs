//! The node's image store: content-addressed blobs under `DATA_DIR/images/`.
//!
//! Layout: `blobs/sha256/<hex>` holds each blob once — a wasm component, or the manifest, config
//! and layers of an OCI container image; `index.json` maps `name:tag` to a digest (a component's
//! or a container image manifest's). The index is replaced atomically (temp file + rename) under
//! an exclusive lock on `index.lock`, so `wasmkube image import` can run while a server reads
//! the store; blobs are written and collected under the same lock. Container images arrive as
//! `docker save` tarballs or OCI layouts ([`crate::oci::archive`]).

use crate::oci::image::{self as oci, Document};
use crate::spec::{ContainerImage, ImageSpec, Layer};
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
    #[error("{0}: {1}")]
    BadArchive(PathBuf, String),
    #[error("image {0:?}: {1}")]
    BadImage(String, String),
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

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `bytes` start like a wasm binary (component or core module).
pub(crate) fn is_wasm(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm")
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

    /// Unpacked container roots (`DATA_DIR/oci/rootfs`) of images no longer stored go, unless
    /// a container still runs on one.
    pub(crate) fn sweep_roots(&self) {
        let Some(data_dir) = self.root.parent() else { return };
        crate::oci::rootfs::sweep(&data_dir.join("oci").join("rootfs"), |hex| self.blob_path(hex).exists());
    }

    /// A scratch directory inside the store (same filesystem as the blobs) for unpacking.
    pub(crate) fn scratch_dir(&self) -> PathBuf {
        self.root.join(format!("unpack.{}", std::process::id()))
    }

    /// Where the blob of `digest` (`sha256:<hex>`) is, whether or not it exists.
    pub fn blob(&self, digest: &str) -> PathBuf {
        self.blob_path(hex_of(digest))
    }

    /// Store `bytes` (if not there yet); returns `sha256:<hex>`. Call under the store's lock.
    pub(crate) fn put_blob(&self, bytes: &[u8]) -> Result<String, Error> {
        let hex = sha256_hex(bytes);
        let blob = self.blob_path(&hex);
        if !blob.exists() {
            write_atomic(&blob, bytes)?;
        }
        Ok(format!("sha256:{hex}"))
    }

    /// Copy a file into the store, checking it against `expected` (`sha256:<hex>`) if given;
    /// returns its digest. Streams: layers can be large. Call under the store's lock.
    pub(crate) fn put_blob_file(&self, file: &Path, expected: Option<&str>) -> Result<String, Error> {
        use std::io::{Read, Write};
        let mut input = File::open(file).map_err(io(file))?;
        let tmp = self.root.join(format!("incoming.{}.{}", std::process::id(), unique()));
        let mut out = File::create(&tmp).map_err(io(&tmp))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = input.read(&mut buf).map_err(io(file))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io(&tmp))?;
        }
        drop(out);
        let digest = format!("sha256:{}", hex(&hasher.finalize()));
        if let Some(expected) = expected.filter(|e| *e != digest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::BadArchive(
                file.to_owned(),
                format!("digest {digest} where {expected} was expected"),
            ));
        }
        let blob = self.blob(&digest);
        if blob.exists() {
            let _ = std::fs::remove_file(&tmp);
        } else {
            std::fs::rename(&tmp, &blob).map_err(io(&blob))?;
        }
        Ok(digest)
    }

    /// Add images from a file: a wasm component (named FILE-STEM:latest unless `name` is
    /// given), a `docker save` tarball or an OCI layout (a directory or a tar of one; named as
    /// their own tags say unless `name` is given). Returns what was added.
    pub fn import(&self, file: &Path, name: Option<&str>) -> Result<ImageInfo, Error> {
        let mut head = [0u8; 512];
        let is_dir = file.is_dir();
        if !is_dir {
            use std::io::Read;
            let mut f = File::open(file).map_err(io(file))?;
            let n = f.read(&mut head).map_err(io(file))?;
            if !is_wasm(&head[..n]) {
                let is_tar = n >= 262 && &head[257..262] == b"ustar";
                if !is_tar {
                    return Err(Error::NotAComponent(
                        file.to_owned(),
                        "neither a wasm component, a docker save tarball nor an OCI layout",
                    ));
                }
            }
        }
        if is_dir || !is_wasm(&head) {
            let name = name.map(normalize_reference).transpose()?;
            let (name, digest) = self.with_lock(true, |store| {
                let (name, digest) = crate::oci::archive::import(store, file, name)?;
                store.change_index(|index| {
                    index.images.insert(name.clone(), digest.clone());
                })?;
                Ok((name, digest))
            })?;
            let info = self.info(name, digest);
            tracing::info!(image = %info.name, digest = %info.digest, size = info.size, "image imported");
            return Ok(info);
        }
        let name = match name {
            Some(n) => normalize_reference(n)?,
            None => {
                let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                normalize_reference(&stem.to_ascii_lowercase())?
            }
        };
        let bytes = std::fs::read(file).map_err(io(file))?;
        check_component(file, &bytes)?;
        let digest = self.with_lock(true, |store| {
            let digest = store.put_blob(&bytes)?;
            store.change_index(|index| {
                index.images.insert(name.clone(), digest.clone());
            })?;
            Ok(digest)
        })?;
        tracing::info!(image = %name, %digest, size = bytes.len(), "image imported");
        Ok(ImageInfo { name, digest, size: bytes.len() as u64 })
    }

    /// Name an image already stored (a component or a manifest), as a pull does.
    pub fn tag(&self, name: &str, digest: &str) -> Result<ImageInfo, Error> {
        let name = normalize_reference(name)?;
        self.update_index(|index| {
            index.images.insert(name.clone(), digest.to_string());
        })?;
        Ok(self.info(name, digest.to_string()))
    }

    pub fn list(&self) -> Result<Vec<ImageInfo>, Error> {
        let index = self.with_lock(false, |store| store.read_index())?;
        Ok(index.images.into_iter().map(|(name, digest)| self.info(name, digest)).collect())
    }

    fn info(&self, name: String, digest: String) -> ImageInfo {
        let size = self
            .referenced(&digest)
            .iter()
            .map(|d| std::fs::metadata(self.blob(d)).map_or(0, |m| m.len()))
            .sum();
        ImageInfo { name, digest, size }
    }

    /// The blobs an indexed digest stands for: itself, and a manifest's config and layers.
    fn referenced(&self, digest: &str) -> Vec<String> {
        let mut blobs = vec![digest.to_string()];
        if let Ok(bytes) = std::fs::read(self.blob(digest))
            && !is_wasm(&bytes)
            && let Ok(Document::Manifest(m)) = oci::parse(&bytes)
        {
            blobs.push(m.config.digest);
            blobs.extend(m.layers.into_iter().map(|l| l.digest));
        }
        blobs
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
            // Blobs nothing named refers to any more (layers may be shared between images).
            let kept: std::collections::HashSet<String> =
                index.images.values().flat_map(|d| self.referenced(d)).collect();
            for (_, digest) in &removed {
                for blob in self.referenced(digest) {
                    if !kept.contains(&blob) {
                        let _ = std::fs::remove_file(self.blob(&blob));
                    }
                }
            }
        })?;
        if removed.is_empty() {
            return Err(Error::NotFound(reference.to_owned()));
        }
        self.sweep_roots();
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
        let head = read_head(&path).map_err(|_| Error::NotFound(reference.to_owned()))?;
        if is_wasm(&head) {
            return Ok(ImageSpec { digest, path, container: None });
        }
        let container = self.container_image(reference, &path)?;
        Ok(ImageSpec { digest, path, container: Some(container) })
    }

    /// A container image's manifest, config and layers, all present.
    fn container_image(&self, reference: &str, manifest: &Path) -> Result<ContainerImage, Error> {
        let bad = |why: String| Error::BadImage(reference.to_owned(), why);
        let bytes = std::fs::read(manifest).map_err(io(manifest))?;
        let Document::Manifest(m) = oci::parse(&bytes).map_err(bad)? else {
            return Err(bad("an index is stored where a manifest was expected".into()));
        };
        let config_path = self.blob(&m.config.digest);
        let config = std::fs::read(&config_path)
            .map_err(|_| bad(format!("config blob {} missing", m.config.digest)))?;
        let config: oci::ImageConfig =
            serde_json::from_slice(&config).map_err(|e| bad(format!("bad image config: {e}")))?;
        let (os, _) = oci::this_platform();
        if !config.os.is_empty() && config.os != os {
            return Err(bad(format!("built for {}, not {os}", config.os)));
        }
        let layers = m
            .layers
            .into_iter()
            .map(|l| {
                let path = self.blob(&l.digest);
                if path.exists() {
                    Ok(Layer { digest: l.digest, media_type: l.media_type, path })
                } else {
                    Err(bad(format!("layer blob {} missing", l.digest)))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(ContainerImage { config, layers })
    }

    fn update_index(&self, change: impl FnOnce(&mut Index)) -> Result<(), Error> {
        self.with_lock(true, |store| store.change_index(change))
    }

    /// Change the index; the caller holds the exclusive lock.
    fn change_index(&self, change: impl FnOnce(&mut Index)) -> Result<(), Error> {
        let mut index = self.read_index()?;
        change(&mut index);
        let json = serde_json::to_vec_pretty(&index).expect("an index always serialises");
        write_atomic(&self.root.join("index.json"), &json)
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
    pub(crate) fn with_lock<R>(
        &self,
        exclusive: bool,
        f: impl FnOnce(&Self) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let path = self.root.join("index.lock");
        let lock = File::options().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        if exclusive { lock.lock() } else { lock.lock_shared() }.map_err(io(&path))?;
        f(self)
    }
}

/// A number no other call in this process gets (for temporary file names).
pub(crate) fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = vec![0u8; 8];
    let n = File::open(path)?.read(&mut head)?;
    head.truncate(n);
    Ok(head)
}

fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Write to a temp file in the same directory, then rename: readers see all or nothing.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp{}.{}", std::process::id(), unique()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
