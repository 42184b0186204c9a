//! The pod's filesystem namespace: volumes become host directories under
//! `DATA_DIR/pods/<uid>/volumes/<name>` and are preopened at each mount path.
//!
//! **Architecture Invariant:** a guest reaches the host filesystem only through preopens.
//! wasmtime-wasi resolves every guest path with cap-std relative to a preopened directory
//! handle, so `..`, absolute paths and symlinks cannot lead outside it.

use crate::spec::{MountSpec, PodSpec, VolumeSource};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("volume {volume:?}: {path}: {source}")]
    Io { volume: String, path: PathBuf, source: std::io::Error },
    #[error("volume {0:?}: hostPath volumes are not allowed on this node")]
    HostPathNotAllowed(String),
    #[error("volume {volume:?}: path {path:?} must be relative and stay inside the volume")]
    BadPath { volume: String, path: String },
    #[error("mount of {volume:?} at {mount_path:?}: no such volume in the pod")]
    UnknownVolume { volume: String, mount_path: String },
    #[error("mount path {0:?} must be absolute")]
    RelativeMountPath(String),
    #[error("preopening {path} at {mount_path}: {message}")]
    Preopen { path: PathBuf, mount_path: String, message: String },
    #[error(
        "volume {volume:?}: subPath {path:?} leads through something that is not a directory (a symlink?)"
    )]
    SubPathNotDirectory { volume: String, path: String },
}

/// One volume, ready to mount.
#[derive(Debug)]
struct VolumeDir {
    path: PathBuf,
    /// configMap/secret/downwardAPI content is read-only whatever the mount says.
    always_read_only: bool,
}

/// The volumes of one pod, created before its first container starts.
#[derive(Debug)]
pub struct PodVolumes {
    dirs: HashMap<String, VolumeDir>,
}

/// Accept only plain relative paths (`a/b.txt`): no root, no `..`, no `.` games.
fn checked_relative(volume: &str, path: &str) -> Result<PathBuf, Error> {
    let p = Path::new(path);
    let ok = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok { Ok(p.to_owned()) } else { Err(Error::BadPath { volume: volume.into(), path: path.into() }) }
}

impl PodVolumes {
    /// Create every volume of `spec` under `pod_dir`.
    pub fn create(pod_dir: &Path, spec: &PodSpec, allow_host_path: bool) -> Result<Self, Error> {
        let mut dirs = HashMap::new();
        for volume in &spec.volumes {
            let name = &volume.name;
            checked_relative(name, name)?;
            let local = volume_dir(pod_dir, name);
            let io = |path: &Path| {
                let path = path.to_owned();
                move |source| Error::Io { volume: name.clone(), path, source }
            };
            let dir = match &volume.source {
                VolumeSource::EmptyDir => {
                    std::fs::create_dir_all(&local).map_err(io(&local))?;
                    VolumeDir { path: local, always_read_only: false }
                }
                VolumeSource::Files { files } => {
                    std::fs::create_dir_all(&local).map_err(io(&local))?;
                    for (relative, contents) in files {
                        let path = local.join(checked_relative(name, relative)?);
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent).map_err(io(parent))?;
                        }
                        std::fs::write(&path, contents).map_err(io(&path))?;
                    }
                    VolumeDir { path: local, always_read_only: true }
                }
                VolumeSource::HostPath { path } if allow_host_path => {
                    VolumeDir { path: path.clone(), always_read_only: false }
                }
                VolumeSource::HostPath { .. } => return Err(Error::HostPathNotAllowed(name.clone())),
                VolumeSource::Persistent { path } => {
                    std::fs::create_dir_all(path).map_err(io(path))?;
                    VolumeDir { path: path.clone(), always_read_only: false }
                }
            };
            dirs.insert(name.clone(), dir);
        }
        Ok(PodVolumes { dirs })
    }

    /// The host directory behind a mount, and whether it is read-only: what a wasm container
    /// preopens and an OCI container bind-mounts, so both see the same files.
    pub fn host_dir(&self, mount: &MountSpec) -> Result<(PathBuf, bool), Error> {
        if !mount.mount_path.starts_with('/') {
            return Err(Error::RelativeMountPath(mount.mount_path.clone()));
        }
        let volume = self.dirs.get(&mount.volume).ok_or_else(|| Error::UnknownVolume {
            volume: mount.volume.clone(),
            mount_path: mount.mount_path.clone(),
        })?;
        let mut path = volume.path.clone();
        if let Some(sub) = &mount.sub_path {
            // Step by step, never following a link: a container may have planted one in the
            // volume (kubelet's CVE-2017-1002101), and the mount would follow it out.
            for part in checked_relative(&mount.volume, sub)?.components() {
                path.push(part);
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => {
                        return Err(Error::SubPathNotDirectory {
                            volume: mount.volume.clone(),
                            path: sub.clone(),
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !volume.always_read_only => {
                        std::fs::create_dir(&path).map_err(|source| Error::Io {
                            volume: mount.volume.clone(),
                            path: path.clone(),
                            source,
                        })?;
                    }
                    Err(source) => {
                        return Err(Error::Io { volume: mount.volume.clone(), path: path.clone(), source });
                    }
                }
            }
        }
        Ok((path, mount.read_only || volume.always_read_only))
    }

    /// Preopen each mount into a container's WASI context.
    pub fn preopen(&self, builder: &mut WasiCtxBuilder, mounts: &[MountSpec]) -> Result<(), Error> {
        for mount in mounts {
            let (path, read_only) = self.host_dir(mount)?;
            let perms = if read_only { FsPerms::ReadOnly } else { FsPerms::ReadWrite };
            builder.preopened_dir(&path, &mount.mount_path, perms).map_err(|e| Error::Preopen {
                path: path.clone(),
                mount_path: mount.mount_path.clone(),
                message: format!("{e:#}"),
            })?;
        }
        Ok(())
    }
}

/// Where the pod's volumes live (emptyDir, configMap, ...; not hostPath).
pub(crate) fn volumes_root(pod_dir: &Path) -> PathBuf {
    pod_dir.join("volumes")
}

/// Where the pod's volume `name` lives.
pub(crate) fn volume_dir(pod_dir: &Path, name: &str) -> PathBuf {
    volumes_root(pod_dir).join(name)
}

/// The disk space `dir` and everything under it take, as `du` counts it (allocated blocks; a
/// file with several links counted once). The walk opens every directory relative to its
/// parent without following links, so a guest that swaps a directory for a symbolic link while
/// it is measured cannot lead it elsewhere. What vanishes meanwhile counts as nothing.
pub fn disk_usage(dir: &Path) -> u64 {
    use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, fstat, openat, statat};
    use std::sync::Arc;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let Ok(root) = openat(CWD, dir, flags, Mode::empty()) else { return 0 };
    let blocks = |st: &rustix::fs::Stat| u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512);
    let mut total = fstat(&root).map(|st| blocks(&st)).unwrap_or(0);
    let mut seen = std::collections::HashSet::new();
    // Directories still to read, each as (its parent, its name): only the parents of pending
    // directories are held open.
    let mut pending: Vec<(Arc<rustix::fd::OwnedFd>, std::ffi::CString)> = Vec::new();
    let mut read = |fd: Arc<rustix::fd::OwnedFd>, pending: &mut Vec<_>| {
        let Ok(entries) = Dir::read_from(&*fd) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let Ok(st) = statat(&*fd, name, AtFlags::SYMLINK_NOFOLLOW) else { continue };
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            if st.st_nlink > 1 && !is_dir && !seen.insert((st.st_dev, st.st_ino)) {
                continue;
            }
            total = total.saturating_add(blocks(&st));
            if is_dir {
                pending.push((fd.clone(), name.to_owned()));
            }
        }
    };
    read(Arc::new(root), &mut pending);
    while let Some((parent, name)) = pending.pop() {
        if let Ok(fd) = openat(&*parent, name.as_c_str(), flags, Mode::empty()) {
            drop(parent);
            read(Arc::new(fd), &mut pending);
        }
    }
    total
}

/// Remove everything the pod left on disk (volumes and logs); hostPath volumes are the host's
/// and live outside `pod_dir`, so they are untouched.
pub fn remove_pod_dir(pod_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(pod_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{VolumeSource, VolumeSpec};

    #[test]
    fn a_sub_path_never_follows_a_link_planted_in_the_volume() {
        let dir = tempfile::tempdir().unwrap();
        let spec = PodSpec {
            uid: "u".into(),
            name: "p".into(),
            namespace: "default".into(),
            hostname: "p".into(),
            pod_ip: std::net::Ipv4Addr::new(10, 244, 0, 2),
            volumes: vec![VolumeSpec { name: "data".into(), source: VolumeSource::EmptyDir }],
            init_containers: Vec::new(),
            containers: Vec::new(),
            restart_policy: Default::default(),
        };
        let volumes = PodVolumes::create(dir.path(), &spec, false).unwrap();
        let mount = |sub: &str| MountSpec {
            volume: "data".into(),
            mount_path: "/x".into(),
            read_only: false,
            sub_path: Some(sub.into()),
        };
        let (made, _) = volumes.host_dir(&mount("a/b")).unwrap();
        assert!(made.is_dir() && made.ends_with("volumes/data/a/b"));
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("volumes/data/evil")).unwrap();
        assert!(matches!(volumes.host_dir(&mount("evil")), Err(Error::SubPathNotDirectory { .. })));
        assert!(matches!(volumes.host_dir(&mount("evil/new")), Err(Error::SubPathNotDirectory { .. })));
        assert!(!outside.join("new").exists(), "nothing made through the link");
    }

    #[test]
    fn disk_usage_counts_blocks_once_per_file_and_does_not_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let empty = disk_usage(dir.path());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![1u8; 1 << 20]).unwrap();
        std::fs::hard_link(dir.path().join("sub/a"), dir.path().join("b")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![1u8; 4 << 20]).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let used = disk_usage(dir.path()) - empty;
        assert!((1 << 20..2 << 20).contains(&used), "{used}");
    }
}
