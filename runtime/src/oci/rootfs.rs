//! An image's root filesystem: its layers applied in order, once per image, into
//! `DATA_DIR/oci/rootfs/<manifest hex>/`, which every container of the image then uses as the
//! read-only lower layer of its own overlay. Applying follows the image spec's changesets:
//! `.wh.NAME` deletes NAME from the layers below, `.wh..wh..opq` empties its directory first;
//! a path that would leave the root (absolute, `..`, or through a symlink) is refused.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::spec::{ImageSpec, Layer};

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

/// The unpacked root of `image` under `root`, unpacking it first if needed (blocking).
pub(crate) fn unpacked(root: &Path, image: &ImageSpec) -> Result<PathBuf, String> {
    let Some(container) = &image.container else { return Err("not a container image".into()) };
    let hex = image.digest.strip_prefix("sha256:").unwrap_or(&image.digest);
    let done = root.join(hex);
    if done.is_dir() {
        return Ok(done);
    }
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    // Unpacked beside its final place and renamed: a crash or a concurrent unpack never
    // leaves a half-applied root under the final name.
    let scratch =
        root.join(format!("{hex}.unpacking.{}.{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let applied = container
        .layers
        .iter()
        .try_for_each(|layer| apply(&scratch, layer).map_err(|e| format!("layer {}: {e}", layer.digest)));
    if let Err(e) = applied {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(e);
    }
    if std::fs::rename(&scratch, &done).is_err() {
        // Someone else finished first.
        let _ = std::fs::remove_dir_all(&scratch);
        if !done.is_dir() {
            return Err(format!("could not place the unpacked root at {}", done.display()));
        }
    }
    Ok(done)
}

/// Remove the unpacked roots under `root` whose image is gone (`present(manifest hex)` is
/// false) — except one a container's overlay still has as its lower layer (changing the layers
/// under a mounted overlay is not allowed): that one goes at a later sweep. Blocking.
pub(crate) fn sweep(root: &Path, present: impl Fn(&str) -> bool) {
    // Exclusive, or not at all: a container between unpacking and mounting holds it shared.
    let Ok(lock) = lock_file(root) else { return };
    if lock.try_lock().is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else { return };
    let orphans: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A scratch directory (`<hex>.unpacking...`) may be an unpack in progress.
            !name.contains('.') && !present(&name)
        })
        .map(|entry| entry.path())
        .collect();
    if orphans.is_empty() {
        return;
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for path in orphans {
        if !mounts.contains(&format!("lowerdir={},", mountinfo_escaped(&path))) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// `root`'s lock: held shared from unpacking an image's root until a container's overlay is on
/// it, exclusively by [`sweep`], so a root is never removed between the two. A file lock, as
/// `wasmkube image rm` sweeps from another process. (`.lock` is never taken for a root.)
pub(crate) fn lock_file(root: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(root)?;
    std::fs::File::options().create(true).truncate(false).write(true).open(root.join(".lock"))
}

/// A path as overlayfs shows its `lowerdir` in `/proc/self/mountinfo`: space, tab, newline and
/// backslash octal-escaped (`=` is not, as checked on this kernel; a path with `,` or `:` could
/// not have been mounted as a lower layer at all).
fn mountinfo_escaped(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn open(layer: &Layer) -> std::io::Result<Box<dyn Read>> {
    use std::io::BufRead;
    let mut file = std::io::BufReader::new(std::fs::File::open(&layer.path)?);
    if file.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::GzDecoder::new(file)))
    } else if layer.media_type.ends_with("+zstd") {
        Err(std::io::Error::other("zstd-compressed layers are not supported"))
    } else {
        Ok(Box::new(file))
    }
}

/// `path` (from a layer) as a relative path of plain components, or None. A leading `/` is
/// dropped, as Docker and containerd do; `..` anywhere refuses the entry.
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// `rel`'s parent directories inside `root` are real directories (no symlink on the way out).
fn parents_inside(root: &Path, rel: &Path) -> bool {
    let mut at = root.to_path_buf();
    let parents: Vec<_> = rel.parent().map(|p| p.components().collect()).unwrap_or_default();
    for c in parents {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return false,
            _ => {}
        }
    }
    true
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Apply one layer onto `root`.
pub(crate) fn apply(root: &Path, layer: &Layer) -> std::io::Result<()> {
    // Opaque directories first: they hide what the layers below put there, not what this
    // layer adds.
    let mut archive = tar::Archive::new(open(layer)?);
    for entry in archive.entries()? {
        let entry = entry?;
        let Some(path) = clean(&entry.path()?) else { continue };
        if path.file_name().is_some_and(|n| n == OPAQUE)
            && parents_inside(root, &path)
            && let Some(dir) = path.parent()
            && let Ok(children) = std::fs::read_dir(root.join(dir))
        {
            for child in children.flatten() {
                remove(&child.path());
            }
        }
    }
    let mut archive = tar::Archive::new(open(layer)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive.set_unpack_xattrs(false);
    archive.set_preserve_ownerships(rustix::process::geteuid().is_root());
    for entry in archive.entries()? {
        let mut entry = entry?;
        let Some(path) = clean(&entry.path()?) else { continue };
        if !parents_inside(root, &path) {
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name == OPAQUE {
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            // `.wh..` would name the parent directory (and `.wh...` the root's own parent).
            if !hidden.is_empty() && hidden != "." && hidden != ".." && !hidden.contains('/') {
                remove(&root.join(path.with_file_name(hidden)));
            }
            continue;
        }
        // A path changing kind (a directory becoming a file or the reverse) is replaced.
        let target = root.join(&path);
        let is_dir = entry.header().entry_type().is_dir();
        if let Ok(meta) = std::fs::symlink_metadata(&target)
            && (meta.is_dir() != is_dir || meta.file_type().is_symlink())
        {
            remove(&target);
        }
        // `unpack_in` refuses anything that would land outside `root`.
        entry.unpack_in(root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &Path, name: &str, entries: &[(&str, Option<&str>)], gzip: bool) -> Layer {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).unwrap();
        let write: Box<dyn std::io::Write> = if gzip {
            Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()))
        } else {
            Box::new(file)
        };
        let mut builder = tar::Builder::new(write);
        for (p, content) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            match content {
                Some(text) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(text.len() as u64);
                    h.set_mode(0o644);
                    builder.append_data(&mut h, p, text.as_bytes()).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    h.set_mode(0o755);
                    builder.append_data(&mut h, p, std::io::empty()).unwrap();
                }
            }
        }
        builder.into_inner().unwrap().flush().unwrap();
        Layer { digest: format!("sha256:{name}"), media_type: String::new(), path }
    }

    #[test]
    fn layers_apply_in_order_with_whiteouts_and_opaque_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let base = layer(
            dir.path(),
            "base",
            &[
                ("etc", None),
                ("etc/a", Some("a1")),
                ("etc/b", Some("b1")),
                ("var", None),
                ("var/x", Some("x")),
            ],
            true,
        );
        let top = layer(
            dir.path(),
            "top",
            &[
                ("etc/.wh.b", Some("")),
                ("etc/a", Some("a2")),
                ("var/.wh..wh..opq", Some("")),
                ("var/y", Some("y")),
            ],
            false,
        );
        apply(&root, &base).unwrap();
        apply(&root, &top).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("etc/a")).unwrap(), "a2");
        assert!(!root.join("etc/b").exists(), "whited out");
        assert!(!root.join("var/x").exists(), "hidden by the opaque directory");
        assert_eq!(
            std::fs::read_to_string(root.join("var/y")).unwrap(),
            "y",
            "the opaque layer's own file stays"
        );
    }

    #[test]
    fn nothing_lands_outside_the_root_even_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("keep"), "mine").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let evil = layer(dir.path(), "evil", &[("link/.wh.keep", Some("")), ("link/new", Some("x"))], false);
        let _ = apply(&root, &evil);
        assert!(outside.join("keep").exists(), "a whiteout through a symlink is refused");
        assert!(!outside.join("new").exists(), "a file through a symlink is refused");
        assert_eq!(clean(Path::new("../etc/passwd")), None);
        assert_eq!(
            clean(Path::new("/etc/passwd")),
            Some(PathBuf::from("etc/passwd")),
            "a leading / is dropped"
        );
        // A whiteout of `..` would delete what is beside the root.
        std::fs::write(dir.path().join("beside"), "keep").unwrap();
        let dots = layer(dir.path(), "dots", &[(".wh...", Some("")), (".wh..", Some(""))], false);
        apply(&root, &dots).unwrap();
        assert!(dir.path().join("beside").exists() && root.exists());
    }
}
