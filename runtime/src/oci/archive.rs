//! Images from files, for devices with no registry: `docker save` tarballs (the legacy layout
//! with `manifest.json`, which Docker 25+ still writes beside its OCI layout) and OCI image
//! layouts (`oci-layout` + `index.json` + `blobs/`, a directory or a tar of one). Every blob is
//! copied into the store and checked against its digest where the archive names one. A wasm
//! artifact (one wasm layer) is stored as the component itself.

use super::image::{self as oci, Descriptor, Document, Manifest};
use crate::images::{Error, ImageStore, normalize_reference};
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

/// Import the one image in `path`; returns its name and the digest to index.
pub(crate) fn import(
    store: &ImageStore,
    path: &Path,
    name: Option<String>,
) -> Result<(String, String), Error> {
    if path.is_dir() {
        return from_dir(store, path, path, name);
    }
    let scratch = store.scratch_dir();
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|source| Error::Io { path: scratch.clone(), source })?;
    let unpacked = (|| {
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        // `unpack` refuses entries that would land outside `scratch`.
        archive
            .unpack(&scratch)
            .map_err(|e| Error::BadArchive(path.to_owned(), format!("unpacking: {e}")))?;
        from_dir(store, &scratch, path, name)
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    unpacked
}

fn from_dir(
    store: &ImageStore,
    dir: &Path,
    origin: &Path,
    name: Option<String>,
) -> Result<(String, String), Error> {
    if dir.join("manifest.json").is_file() {
        docker_save(store, dir, origin, name)
    } else if dir.join("index.json").is_file() {
        oci_layout(store, dir, origin, name)
    } else {
        Err(bad(origin, "no manifest.json (docker save) or index.json (OCI layout) in it"))
    }
}

fn bad(origin: &Path, why: impl Into<String>) -> Error {
    Error::BadArchive(origin.to_owned(), why.into())
}

/// The file `rel` inside `dir`, refusing absolute paths and `..`, and links that lead out of
/// `dir` (an archive's link could name any file of the host; the legacy `docker save` layout
/// links a repeated layer to its first copy, which stays inside).
fn inside(dir: &Path, rel: &str, origin: &Path) -> Result<PathBuf, Error> {
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(bad(origin, format!("path {rel:?} leaves the archive")));
    }
    plain_file(dir, rel, origin)
}

fn plain_file(dir: &Path, rel: &Path, origin: &Path) -> Result<PathBuf, Error> {
    let root = std::fs::canonicalize(dir).map_err(|e| bad(origin, format!("{}: {e}", dir.display())))?;
    let path =
        std::fs::canonicalize(dir.join(rel)).map_err(|e| bad(origin, format!("{}: {e}", rel.display())))?;
    if !path.starts_with(&root) {
        return Err(bad(origin, format!("{} links out of the archive", rel.display())));
    }
    if !path.is_file() {
        return Err(bad(origin, format!("{} is not a file", rel.display())));
    }
    Ok(path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, origin: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|e| bad(origin, format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(origin, format!("{}: {e}", path.display())))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SaveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn is_gzip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == [0x1f, 0x8b]
}

fn docker_save(
    store: &ImageStore,
    dir: &Path,
    origin: &Path,
    name: Option<String>,
) -> Result<(String, String), Error> {
    let entries: Vec<SaveEntry> = read_json(&dir.join("manifest.json"), origin)?;
    let entry = match entries.as_slice() {
        [one] => one,
        [] => return Err(bad(origin, "manifest.json lists no image")),
        more => return Err(bad(origin, format!("it holds {} images; save them one at a time", more.len()))),
    };
    let config_file = inside(dir, &entry.config, origin)?;
    let _: oci::ImageConfig = read_json(&config_file, origin)?;
    let config = Descriptor {
        media_type: oci::OCI_CONFIG.into(),
        digest: store.put_blob_file(&config_file, None)?,
        size: size(&config_file),
        platform: None,
        annotations: Default::default(),
    };
    let mut layers = Vec::new();
    for layer in &entry.layers {
        let file = inside(dir, layer, origin)?;
        let media_type = if is_gzip(&file) { oci::OCI_LAYER_GZIP } else { oci::OCI_LAYER };
        layers.push(Descriptor {
            media_type: media_type.into(),
            digest: store.put_blob_file(&file, None)?,
            size: size(&file),
            platform: None,
            annotations: Default::default(),
        });
    }
    let manifest = Manifest { schema_version: 2, media_type: oci::OCI_MANIFEST.into(), config, layers };
    let digest = store.put_blob(&serde_json::to_vec(&manifest).expect("a manifest serialises"))?;
    let name = match name {
        Some(name) => name,
        None => match entry.repo_tags.iter().flatten().next() {
            Some(tag) => normalize_reference(tag)?,
            None => return Err(bad(origin, "the image has no RepoTags; name it with --name")),
        },
    };
    Ok((name, digest))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

fn oci_layout(
    store: &ImageStore,
    dir: &Path,
    origin: &Path,
    name: Option<String>,
) -> Result<(String, String), Error> {
    let index: oci::Index = read_json(&dir.join("index.json"), origin)?;
    let top = match index.manifests.as_slice() {
        [] => return Err(bad(origin, "index.json lists no image")),
        [one] => one,
        _ => oci::pick_platform(&index).unwrap_or(&index.manifests[0]),
    };
    let digest = import_descriptor(store, dir, origin, top, 0)?;
    let name = match name {
        Some(name) => name,
        None => layout_name(top, origin)?,
    };
    Ok((name, digest))
}

/// The name an OCI layout gives its image: a full reference, or a bare tag (as umoci writes
/// it) on the layout's own file name.
fn layout_name(top: &Descriptor, origin: &Path) -> Result<String, Error> {
    if let Some(full) = top.annotations.get(CONTAINERD_NAME) {
        return normalize_reference(full);
    }
    let stem = origin.file_stem().and_then(|s| s.to_str()).unwrap_or("image").to_ascii_lowercase();
    match top.annotations.get(REF_NAME) {
        Some(r) if r.contains('/') || r.contains(':') => normalize_reference(r),
        Some(tag) => normalize_reference(&format!("{stem}:{tag}")),
        None => normalize_reference(&stem),
    }
}

/// Copy what `d` refers to into the store: an index's manifest for this platform, a
/// manifest's config and layers, or a wasm artifact's component. Returns the digest to index.
fn import_descriptor(
    store: &ImageStore,
    dir: &Path,
    origin: &Path,
    d: &Descriptor,
    depth: usize,
) -> Result<String, Error> {
    if depth > 4 {
        return Err(bad(origin, "indexes nested too deep"));
    }
    let blob = |digest: &str| -> Result<PathBuf, Error> {
        let (algorithm, hex) =
            digest.split_once(':').ok_or_else(|| bad(origin, format!("bad digest {digest:?}")))?;
        if algorithm != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(origin, format!("unsupported digest {digest:?}")));
        }
        plain_file(dir, &Path::new("blobs").join(algorithm).join(hex), origin)
    };
    let path = blob(&d.digest)?;
    let bytes = std::fs::read(&path).map_err(|e| bad(origin, format!("blob {}: {e}", d.digest)))?;
    match oci::parse(&bytes).map_err(|e| bad(origin, format!("{}: {e}", d.digest)))? {
        Document::Index(index) => {
            let chosen = oci::pick_platform(&index).ok_or_else(|| {
                let (os, arch) = oci::this_platform();
                bad(origin, format!("no image for {os}/{arch} in the index"))
            })?;
            import_descriptor(store, dir, origin, chosen, depth + 1)
        }
        Document::Manifest(m) => {
            if let Some(layer) = m.wasm_layer() {
                let file = blob(&layer.digest)?;
                let head =
                    std::fs::read(&file).map_err(|e| bad(origin, format!("blob {}: {e}", layer.digest)))?;
                if !crate::images::is_wasm(&head) {
                    return Err(bad(origin, "its wasm layer is not a WebAssembly binary"));
                }
                return store.put_blob_file(&file, Some(&layer.digest));
            }
            store.put_blob_file(&blob(&m.config.digest)?, Some(&m.config.digest))?;
            for layer in &m.layers {
                store.put_blob_file(&blob(&layer.digest)?, Some(&layer.digest))?;
            }
            store.put_blob_file(&path, Some(&d.digest))
        }
    }
}
