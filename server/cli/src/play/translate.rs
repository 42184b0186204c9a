//! Kubernetes Pod -> runtime `PodSpec`. Free of CLI concerns so the node agent can reuse it:
//! whatever must be looked up (images, configMaps, secrets) comes through a [`Lookup`].

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use wasmkube_runtime::{
    ContainerKind, ContainerSpec, ImageSpec, Limits, MountSpec, PodSpec, VolumeSource, VolumeSpec,
};

/// What translation needs from the outside world.
pub trait Lookup {
    fn image(&self, reference: &str) -> Result<ImageSpec, String>;
    fn config_map(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>>;
}

/// A container port published on the host (`hostPort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub container: String,
    pub container_port: u16,
    pub host_port: u16,
}

/// The runtime spec plus what the caller must wire up around it.
#[derive(Debug, Clone)]
pub struct Translated {
    pub spec: PodSpec,
    pub host_ports: Vec<HostPort>,
}

/// Identity of the pod instance (from metadata, or made up by the caller).
pub struct PodIdentity<'a> {
    pub uid: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub pod_ip: Ipv4Addr,
}

pub fn translate(
    id: &PodIdentity<'_>,
    pod: &core::PodSpec,
    lookup: &dyn Lookup,
) -> Result<Translated, String> {
    let volumes =
        pod.volumes.iter().flatten().map(|v| volume(id, v, lookup)).collect::<Result<Vec<_>, _>>()?;
    let containers =
        |list: &[core::Container]| list.iter().map(|c| container(c, lookup)).collect::<Result<Vec<_>, _>>();
    let init_containers = containers(pod.init_containers.as_deref().unwrap_or_default())?;
    let main = containers(&pod.containers)?;
    let host_ports = pod.containers.iter().flat_map(host_ports).collect();
    let hostname = pod.hostname.clone().unwrap_or_else(|| id.name.to_owned());
    let spec = PodSpec {
        uid: id.uid.to_owned(),
        name: id.name.to_owned(),
        namespace: id.namespace.to_owned(),
        hostname,
        pod_ip: id.pod_ip,
        volumes,
        init_containers,
        containers: main,
    };
    Ok(Translated { spec, host_ports })
}

fn host_ports(c: &core::Container) -> Vec<HostPort> {
    c.ports
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(HostPort {
                container: c.name.clone(),
                container_port: u16::try_from(p.container_port).ok()?,
                host_port: u16::try_from(p.host_port?).ok()?,
            })
        })
        .collect()
}

fn container(c: &core::Container, lookup: &dyn Lookup) -> Result<ContainerSpec, String> {
    let reference = c.image.as_deref().ok_or_else(|| format!("container {:?} has no image", c.name))?;
    let image = lookup.image(reference).map_err(|e| format!("container {:?}: {e}", c.name))?;
    let mut args: Vec<String> = c.command.iter().flatten().skip(1).cloned().collect();
    args.extend(c.args.iter().flatten().cloned());
    let env = c
        .env
        .iter()
        .flatten()
        .map(|e| Ok((e.name.clone(), env_value(c, e)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let ports = c.ports.iter().flatten().filter_map(|p| u16::try_from(p.container_port).ok()).collect();
    let mounts = c.volume_mounts.iter().flatten().map(mount).collect();
    Ok(ContainerSpec {
        name: c.name.clone(),
        image,
        args,
        env,
        working_dir: c.working_dir.clone(),
        mounts,
        kind: ContainerKind::Detect { ports },
        limits: limits(c)?,
    })
}

/// Literal values only: `valueFrom` needs the API (the node agent resolves it before calling).
fn env_value(c: &core::Container, e: &core::EnvVar) -> Result<String, String> {
    match (&e.value, &e.value_from) {
        (_, Some(_)) => Err(format!(
            "container {:?}: env {:?} uses valueFrom, which is not supported here",
            c.name, e.name
        )),
        (value, None) => Ok(value.clone().unwrap_or_default()),
    }
}

fn mount(m: &core::VolumeMount) -> MountSpec {
    MountSpec {
        volume: m.name.clone(),
        mount_path: m.mount_path.clone(),
        read_only: m.read_only.unwrap_or(false),
        sub_path: m.sub_path.clone().filter(|s| !s.is_empty()),
    }
}

fn limits(c: &core::Container) -> Result<Limits, String> {
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let get = |key: &str| limits.and_then(|l| l.get(key));
    let memory_bytes = get("memory")
        .map(|q| parse_bytes(q).map_err(|e| format!("container {:?}: {e}", c.name)))
        .transpose()?;
    let cpu_millis = get("cpu")
        .map(|q| parse_millis(q).map_err(|e| format!("container {:?}: {e}", c.name)))
        .transpose()?;
    Ok(Limits { memory_bytes, cpu_millis })
}

fn split_number(q: &str) -> (&str, &str) {
    let at = q.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(q.len());
    q.split_at(at)
}

/// `128Mi`, `1G`, `512000`, `1.5Gi` -> bytes.
pub fn parse_bytes(q: &Quantity) -> Result<u64, String> {
    let (number, suffix) = split_number(q.0.trim());
    let factor: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "m" => 1e-3,
        _ => return Err(format!("unsupported memory quantity {:?}", q.0)),
    };
    let value: f64 = number.parse().map_err(|_| format!("invalid memory quantity {:?}", q.0))?;
    Ok((value * factor).ceil() as u64)
}

/// `500m`, `2`, `0.25` -> millicores.
pub fn parse_millis(q: &Quantity) -> Result<u32, String> {
    let (number, suffix) = split_number(q.0.trim());
    let value: f64 = number.parse().map_err(|_| format!("invalid cpu quantity {:?}", q.0))?;
    match suffix {
        "m" => Ok(value.ceil() as u32),
        "" => Ok((value * 1000.0).ceil() as u32),
        _ => Err(format!("unsupported cpu quantity {:?}", q.0)),
    }
}

fn volume(id: &PodIdentity<'_>, v: &core::Volume, lookup: &dyn Lookup) -> Result<VolumeSpec, String> {
    let missing = |kind: &str, name: &str| format!("volume {:?}: {kind} {name:?} not found", v.name);
    let source = if v.empty_dir.is_some() {
        VolumeSource::EmptyDir
    } else if let Some(cm) = &v.config_map {
        let data = lookup.config_map(id.namespace, &cm.name).ok_or_else(|| missing("configMap", &cm.name))?;
        VolumeSource::Files { files: project(data, cm.items.as_deref()) }
    } else if let Some(secret) = &v.secret {
        let name = secret.secret_name.clone().unwrap_or_default();
        let data = lookup.secret(id.namespace, &name).ok_or_else(|| missing("secret", &name))?;
        VolumeSource::Files { files: project(data, secret.items.as_deref()) }
    } else if let Some(api) = &v.downward_api {
        VolumeSource::Files { files: downward_api(id, api)? }
    } else if let Some(host) = &v.host_path {
        VolumeSource::HostPath { path: host.path.clone().into() }
    } else {
        return Err(format!(
            "volume {:?}: only emptyDir, configMap, secret, downwardAPI and hostPath are supported",
            v.name
        ));
    };
    Ok(VolumeSpec { name: v.name.clone(), source })
}

/// All keys as files, or only the listed `items` at their paths.
fn project(
    mut data: BTreeMap<String, Vec<u8>>,
    items: Option<&[core::KeyToPath]>,
) -> BTreeMap<String, Vec<u8>> {
    match items {
        None => data,
        Some(items) => items.iter().filter_map(|i| Some((i.path.clone(), data.remove(&i.key)?))).collect(),
    }
}

fn downward_api(
    id: &PodIdentity<'_>,
    api: &core::DownwardAPIVolumeSource,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    for item in api.items.iter().flatten() {
        let field = item.field_ref.as_ref().map(|f| f.field_path.as_str()).unwrap_or_default();
        let value = match field {
            "metadata.name" => id.name.to_owned(),
            "metadata.namespace" => id.namespace.to_owned(),
            "metadata.uid" => id.uid.to_owned(),
            "status.podIP" => id.pod_ip.to_string(),
            other => return Err(format!("downwardAPI field {other:?} is not supported")),
        };
        files.insert(item.path.clone(), value.into_bytes());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        let q = |s: &str| Quantity(s.to_owned());
        assert_eq!(parse_bytes(&q("64Mi")), Ok(64 << 20));
        assert_eq!(parse_bytes(&q("1G")), Ok(1_000_000_000));
        assert_eq!(parse_bytes(&q("1.5Ki")), Ok(1536));
        assert_eq!(parse_bytes(&q("512")), Ok(512));
        assert!(parse_bytes(&q("12Zi")).is_err());
        assert_eq!(parse_millis(&q("250m")), Ok(250));
        assert_eq!(parse_millis(&q("2")), Ok(2000));
        assert_eq!(parse_millis(&q("0.5")), Ok(500));
    }
}
