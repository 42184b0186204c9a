//! Kubernetes Pod -> runtime `PodSpec`, for the node agent and `wasmkube play`: whatever must
//! be looked up (images, configMaps, secrets, claims) comes through a [`Lookup`], so this is
//! pure and the caller decides where things come from (the API, or a manifest file).

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use wasmkube_runtime::{
    ContainerKind, ContainerSpec, ImageOverrides, ImageSpec, Limits, MountSpec, PodSpec, RestartPolicy,
    Seccomp, Security, VolumeSource, VolumeSpec,
};

/// What translation needs from the outside world.
pub trait Lookup {
    fn image(&self, reference: &str) -> Result<ImageSpec, String>;
    fn config_map(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>>;
    fn secret(&self, namespace: &str, name: &str) -> Option<BTreeMap<String, Vec<u8>>>;
    /// The node-local directory of a bound PersistentVolumeClaim.
    fn claim_path(&self, namespace: &str, claim: &str) -> Result<PathBuf, String> {
        let _ = namespace;
        Err(format!("persistentVolumeClaim {claim:?}: claims need a cluster"))
    }
    /// The Services' environment variables (`WEB_SERVICE_HOST`, ...), outermost first.
    fn service_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// A `Localhost` seccomp profile, by its `localhostProfile` path.
    fn seccomp_profile(&self, name: &str) -> Result<serde_json::Value, String> {
        Err(format!("seccomp profile {name:?}: this node has no profile directory"))
    }
}

/// Read the `Localhost` seccomp profile `name` from `dir` (the kubelet's `seccomp` directory,
/// here `DATA_DIR/seccomp`): a relative path that stays inside it, holding an OCI seccomp
/// profile (JSON with a `defaultAction`).
pub fn read_seccomp_profile(dir: &std::path::Path, name: &str) -> Result<serde_json::Value, String> {
    let relative = std::path::Path::new(name);
    let inside =
        !name.is_empty() && relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(format!("seccomp profile {name:?} must be a relative path inside {}", dir.display()));
    }
    let path = dir.join(relative);
    let text = std::fs::read(&path).map_err(|e| format!("seccomp profile {}: {e}", path.display()))?;
    let profile: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("seccomp profile {}: {e}", path.display()))?;
    if !profile.get("defaultAction").is_some_and(serde_json::Value::is_string) {
        return Err(format!("seccomp profile {}: no defaultAction", path.display()));
    }
    Ok(profile)
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

/// Identity of the pod instance (from metadata, or made up by the caller): what the downward
/// API exposes.
#[derive(Default)]
pub struct PodIdentity<'a> {
    pub uid: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    pub pod_ip: Option<Ipv4Addr>,
    pub node_name: &'a str,
    pub host_ip: &'a str,
    pub service_account: &'a str,
    pub labels: Option<&'a BTreeMap<String, String>>,
    pub annotations: Option<&'a BTreeMap<String, String>>,
}

impl PodIdentity<'_> {
    fn pod_ip(&self) -> Ipv4Addr {
        self.pod_ip.unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    /// A downward-API `fieldRef` path's value.
    pub(crate) fn field(&self, path: &str) -> Result<String, String> {
        let map_entry = |map: Option<&BTreeMap<String, String>>, key: &str| {
            map.and_then(|m| m.get(key.trim_matches(['\'', '"']))).cloned().unwrap_or_default()
        };
        let lines = |map: Option<&BTreeMap<String, String>>| {
            map.into_iter().flatten().map(|(k, v)| format!("{k}={v:?}\n")).collect::<String>()
        };
        Ok(match path {
            "metadata.name" => self.name.to_owned(),
            "metadata.namespace" => self.namespace.to_owned(),
            "metadata.uid" => self.uid.to_owned(),
            "metadata.labels" => lines(self.labels),
            "metadata.annotations" => lines(self.annotations),
            "spec.nodeName" => self.node_name.to_owned(),
            "spec.serviceAccountName" => self.service_account.to_owned(),
            "status.podIP" | "status.podIPs" => self.pod_ip().to_string(),
            "status.hostIP" | "status.hostIPs" => self.host_ip.to_owned(),
            p if p.starts_with("metadata.labels[") && p.ends_with(']') => {
                map_entry(self.labels, &p["metadata.labels[".len()..p.len() - 1])
            }
            p if p.starts_with("metadata.annotations[") && p.ends_with(']') => {
                map_entry(self.annotations, &p["metadata.annotations[".len()..p.len() - 1])
            }
            other => return Err(format!("downward API field {other:?} is not supported")),
        })
    }
}

pub fn translate(
    id: &PodIdentity<'_>,
    pod: &core::PodSpec,
    lookup: &dyn Lookup,
) -> Result<Translated, String> {
    let volumes =
        pod.volumes.iter().flatten().map(|v| volume(id, v, lookup)).collect::<Result<Vec<_>, _>>()?;
    let containers = |list: &[core::Container]| {
        list.iter().map(|c| container(id, pod, c, lookup)).collect::<Result<Vec<_>, _>>()
    };
    let init_containers = containers(pod.init_containers.as_deref().unwrap_or_default())?;
    let main = containers(&pod.containers)?;
    let host_ports = pod.containers.iter().flat_map(host_ports).collect();
    let hostname = pod.hostname.clone().unwrap_or_else(|| id.name.to_owned());
    let spec = PodSpec {
        uid: id.uid.to_owned(),
        name: id.name.to_owned(),
        namespace: id.namespace.to_owned(),
        hostname,
        pod_ip: id.pod_ip(),
        volumes,
        init_containers,
        containers: main,
        restart_policy: restart_policy(pod.restart_policy.as_deref())?,
    };
    Ok(Translated { spec, host_ports })
}

/// The API defaults `restartPolicy` to Always; a manifest run without the API (`wasmkube play`)
/// leaves it unset and means "run once".
fn restart_policy(policy: Option<&str>) -> Result<RestartPolicy, String> {
    match policy {
        Some("Always") => Ok(RestartPolicy::Always),
        Some("OnFailure") => Ok(RestartPolicy::OnFailure),
        Some("Never") | None => Ok(RestartPolicy::Never),
        Some(other) => Err(format!("restartPolicy {other:?} is not one of Always, OnFailure, Never")),
    }
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

/// The container's securityContext over the pod's, as the kubelet merges them. A privileged
/// container is refused: nothing here may run one.
fn security(pod: &core::PodSpec, c: &core::Container, lookup: &dyn Lookup) -> Result<Security, String> {
    let own = c.security_context.as_ref();
    let shared = pod.security_context.as_ref();
    if own.and_then(|s| s.privileged) == Some(true) {
        return Err(format!("container {:?}: privileged containers are not supported", c.name));
    }
    let id = |v: Option<i64>, what: &str| -> Result<Option<u32>, String> {
        v.map(|n| u32::try_from(n).map_err(|_| format!("container {:?}: {what} {n} is out of range", c.name)))
            .transpose()
    };
    let caps = own.and_then(|s| s.capabilities.as_ref());
    Ok(Security {
        run_as_user: id(own.and_then(|s| s.run_as_user).or(shared.and_then(|s| s.run_as_user)), "runAsUser")?,
        run_as_group: id(
            own.and_then(|s| s.run_as_group).or(shared.and_then(|s| s.run_as_group)),
            "runAsGroup",
        )?,
        run_as_non_root: own.and_then(|s| s.run_as_non_root).or(shared.and_then(|s| s.run_as_non_root))
            == Some(true),
        read_only_root_filesystem: own.and_then(|s| s.read_only_root_filesystem) == Some(true),
        no_new_privileges: own.and_then(|s| s.allow_privilege_escalation) == Some(false),
        add_capabilities: caps.and_then(|c| c.add.clone()).unwrap_or_default(),
        drop_capabilities: caps.and_then(|c| c.drop.clone()).unwrap_or_default(),
        seccomp: seccomp(
            own.and_then(|s| s.seccomp_profile.as_ref()).or(shared.and_then(|s| s.seccomp_profile.as_ref())),
            lookup,
        )
        .map_err(|e| format!("container {:?}: {e}", c.name))?,
    })
}

fn seccomp(profile: Option<&core::SeccompProfile>, lookup: &dyn Lookup) -> Result<Seccomp, String> {
    let Some(profile) = profile else { return Ok(Seccomp::Unconfined) };
    match profile.type_.as_str() {
        "Unconfined" => Ok(Seccomp::Unconfined),
        "RuntimeDefault" => Ok(Seccomp::RuntimeDefault),
        "Localhost" => {
            let name = profile.localhost_profile.as_deref().unwrap_or_default();
            lookup.seccomp_profile(name).map(Seccomp::Localhost)
        }
        other => {
            Err(format!("seccompProfile type {other:?} is not one of RuntimeDefault, Unconfined, Localhost"))
        }
    }
}

fn container(
    id: &PodIdentity<'_>,
    pod: &core::PodSpec,
    c: &core::Container,
    lookup: &dyn Lookup,
) -> Result<ContainerSpec, String> {
    let reference = c.image.as_deref().ok_or_else(|| format!("container {:?} has no image", c.name))?;
    let image = lookup.image(reference).map_err(|e| format!("container {:?}: {e}", c.name))?;
    if image.container.is_some() && pod.host_users == Some(false) {
        return Err(format!(
            "container {:?}: hostUsers: false (a user namespace) is not supported for OCI containers",
            c.name
        ));
    }
    let env = crate::env::resolve(id, c, lookup).map_err(|e| format!("container {:?}: {e}", c.name))?;
    // `$(VAR)` in command and args names the container's environment, as the kubelet expands it.
    let defined: std::collections::HashMap<&str, &str> =
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let expand = |list: &Option<Vec<String>>| -> Option<Vec<String>> {
        list.as_ref().map(|l| l.iter().map(|a| crate::env::expand(a, &defined)).collect())
    };
    let (command, container_args) = (expand(&c.command), expand(&c.args));
    let mut args: Vec<String> = command.iter().flatten().skip(1).cloned().collect();
    args.extend(container_args.iter().flatten().cloned());
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
        sidecar: c.restart_policy.as_deref() == Some("Always"),
        overrides: ImageOverrides { command, args: container_args },
        security: security(pod, c, lookup)?,
    })
}

fn mount(m: &core::VolumeMount) -> MountSpec {
    MountSpec {
        volume: m.name.clone(),
        mount_path: m.mount_path.clone(),
        read_only: m.read_only.unwrap_or(false),
        sub_path: m.sub_path.clone().filter(|s| !s.is_empty()),
    }
}

pub(crate) fn limits(c: &core::Container) -> Result<Limits, String> {
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
        "P" => 1e15,
        "E" => 1e18,
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
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
    } else if let Some(projected) = &v.projected {
        VolumeSource::Files {
            files: projected_files(id, projected, lookup).map_err(|e| format!("volume {:?}: {e}", v.name))?,
        }
    } else if let Some(host) = &v.host_path {
        VolumeSource::HostPath { path: host.path.clone().into() }
    } else if let Some(claim) = &v.persistent_volume_claim {
        let path = lookup
            .claim_path(id.namespace, &claim.claim_name)
            .map_err(|e| format!("volume {:?}: {e}", v.name))?;
        VolumeSource::Persistent { path }
    } else {
        return Err(format!(
            "volume {:?}: only emptyDir, configMap, secret, downwardAPI, projected, hostPath and persistentVolumeClaim are supported",
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
    downward_items(id, api.items.as_deref().unwrap_or_default())
}

fn downward_items(
    id: &PodIdentity<'_>,
    items: &[core::DownwardAPIVolumeFile],
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    for item in items {
        let value = match (&item.field_ref, &item.resource_field_ref) {
            (Some(f), _) => id.field(&f.field_path)?,
            (None, Some(r)) => format!("resourceFieldRef {:?} needs a container", r.resource),
            (None, None) => return Err(format!("downwardAPI item {:?} names no field", item.path)),
        };
        files.insert(item.path.clone(), value.into_bytes());
    }
    Ok(files)
}

/// A projected volume: configMaps, secrets and downward API items merged into one directory.
/// Service account tokens are absent (the API has no authentication yet).
fn projected_files(
    id: &PodIdentity<'_>,
    projected: &core::ProjectedVolumeSource,
    lookup: &dyn Lookup,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    for source in projected.sources.iter().flatten() {
        if let Some(cm) = &source.config_map {
            match lookup.config_map(id.namespace, &cm.name) {
                Some(data) => files.extend(project(data, cm.items.as_deref())),
                None if cm.optional == Some(true) => {}
                None => return Err(format!("configMap {:?} not found", cm.name)),
            }
        }
        if let Some(secret) = &source.secret {
            match lookup.secret(id.namespace, &secret.name) {
                Some(data) => files.extend(project(data, secret.items.as_deref())),
                None if secret.optional == Some(true) => {}
                None => return Err(format!("secret {:?} not found", secret.name)),
            }
        }
        if let Some(api) = &source.downward_api {
            files.extend(downward_items(id, api.items.as_deref().unwrap_or_default())?);
        }
        if source.service_account_token.is_some() {
            return Err(
                "serviceAccountToken projections are not supported (no API authentication yet)".into()
            );
        }
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

    struct NoLookup;

    impl Lookup for NoLookup {
        fn image(&self, _: &str) -> Result<ImageSpec, String> {
            Ok(ImageSpec { digest: "sha256:00".into(), path: "/dev/null".into(), container: None })
        }
        fn config_map(&self, _: &str, _: &str) -> Option<BTreeMap<String, Vec<u8>>> {
            None
        }
        fn secret(&self, _: &str, _: &str) -> Option<BTreeMap<String, Vec<u8>>> {
            None
        }
    }

    #[test]
    fn command_and_args_expand_the_containers_environment_and_privileged_is_refused() {
        let pod: core::PodSpec = serde_json::from_value(serde_json::json!({"containers": [{
            "name": "c", "image": "hello",
            "env": [{"name": "GREETING", "value": "hi"}],
            "command": ["sh", "-c"],
            "args": ["echo $(GREETING) $$(GREETING) $(UNSET)"]}]}))
        .unwrap();
        let id = PodIdentity {
            uid: "u",
            name: "p",
            namespace: "default",
            pod_ip: None,
            node_name: "n",
            host_ip: "127.0.0.1",
            service_account: "default",
            labels: None,
            annotations: None,
        };
        let spec = translate(&id, &pod, &NoLookup).unwrap().spec;
        let c = &spec.containers[0];
        assert_eq!(c.args, ["-c", "echo hi $(GREETING) $(UNSET)"]);
        assert_eq!(c.overrides.args.as_deref(), Some(&["echo hi $(GREETING) $(UNSET)".to_string()][..]));
        let mut privileged = pod.clone();
        privileged.containers[0].security_context =
            Some(core::SecurityContext { privileged: Some(true), ..Default::default() });
        assert!(translate(&id, &privileged, &NoLookup).unwrap_err().contains("privileged"));
        // No user namespaces for OCI containers: refused, not ignored (a wasm pod has no users).
        let mut no_host_users = pod.clone();
        no_host_users.host_users = Some(false);
        assert!(translate(&id, &no_host_users, &NoLookup).is_ok());
        struct Containers;
        impl Lookup for Containers {
            fn image(&self, r: &str) -> Result<ImageSpec, String> {
                let config =
                    serde_json::from_value(serde_json::json!({"architecture": "amd64", "os": "linux"}))
                        .map_err(|e| e.to_string())?;
                let container = Some(wasmkube_runtime::ContainerImage { config, layers: Vec::new() });
                Ok(ImageSpec { container, ..NoLookup.image(r)? })
            }
            fn config_map(&self, _: &str, _: &str) -> Option<BTreeMap<String, Vec<u8>>> {
                None
            }
            fn secret(&self, _: &str, _: &str) -> Option<BTreeMap<String, Vec<u8>>> {
                None
            }
        }
        assert!(translate(&id, &pod, &Containers).is_ok());
        assert!(translate(&id, &no_host_users, &Containers).unwrap_err().contains("hostUsers: false"));
    }

    #[test]
    fn seccomp_profiles_merge_and_localhost_ones_stay_in_their_directory() {
        let profile = |t: &str, name: Option<&str>| core::SeccompProfile {
            type_: t.into(),
            localhost_profile: name.map(str::to_string),
        };
        assert_eq!(seccomp(None, &NoLookup), Ok(Seccomp::Unconfined));
        assert_eq!(seccomp(Some(&profile("RuntimeDefault", None)), &NoLookup), Ok(Seccomp::RuntimeDefault));
        assert!(
            seccomp(Some(&profile("Localhost", Some("p.json"))), &NoLookup)
                .unwrap_err()
                .contains("no profile directory")
        );
        assert!(seccomp(Some(&profile("Strict", None)), &NoLookup).unwrap_err().contains("not one of"));

        let pod: core::PodSpec = serde_json::from_value(serde_json::json!({
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "image": "x"},
                           {"name": "d", "image": "x", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}))
        .unwrap();
        assert_eq!(security(&pod, &pod.containers[0], &NoLookup).unwrap().seccomp, Seccomp::RuntimeDefault);
        assert_eq!(
            security(&pod, &pod.containers[1], &NoLookup).unwrap().seccomp,
            Seccomp::Unconfined,
            "the container's wins"
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        std::fs::write(dir.path().join("profiles/ok.json"), br#"{"defaultAction": "SCMP_ACT_ALLOW"}"#)
            .unwrap();
        std::fs::write(dir.path().join("bad.json"), br#"{"syscalls": []}"#).unwrap();
        let read = |name: &str| read_seccomp_profile(dir.path(), name);
        assert_eq!(read("profiles/ok.json").unwrap()["defaultAction"], "SCMP_ACT_ALLOW");
        assert!(read("bad.json").unwrap_err().contains("no defaultAction"));
        assert!(read("missing.json").is_err());
        for outside in ["../ok.json", "/etc/passwd", "profiles/../../x", ""] {
            assert!(read(outside).unwrap_err().contains("relative path inside"), "{outside}");
        }
    }
}
