//! What a pod references, fetched from the API before translation (which is synchronous):
//! configMaps, secrets and claims named by its volumes and env, and its images from the
//! node's image store with `imagePullPolicy` semantics.

use crate::translate::Lookup;
use k8s_openapi::api::core::v1 as core;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use wasmkube_api::registry;
use wasmkube_apiserver::Api;
use wasmkube_runtime::{ImageSpec, ImageStore};

type Data = BTreeMap<String, Vec<u8>>;

pub(crate) struct Fetched<'a> {
    pub images: &'a ImageStore,
    config_maps: HashMap<String, Option<Data>>,
    secrets: HashMap<String, Option<Data>>,
    claims: HashMap<String, Result<PathBuf, String>>,
    /// The `*_SERVICE_HOST` / `*_PORT` variables of the Services that exist as the pod starts.
    service_env: Vec<(String, String)>,
    /// Where `Localhost` seccomp profiles are.
    seccomp_dir: Option<PathBuf>,
}

/// The names a pod spec refers to, by kind.
fn references(spec: &core::PodSpec) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut cms, mut secrets, mut claims) = (Vec::new(), Vec::new(), Vec::new());
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            cms.push(cm.name.clone());
        }
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            secrets.push(s);
        }
        if let Some(c) = &v.persistent_volume_claim {
            claims.push(c.claim_name.clone());
        }
        for p in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            cms.extend(p.config_map.as_ref().map(|c| c.name.clone()));
            secrets.extend(p.secret.as_ref().map(|s| s.name.clone()));
        }
    }
    let all = spec.init_containers.iter().flatten().chain(&spec.containers);
    for c in all {
        for from in c.env_from.iter().flatten() {
            cms.extend(from.config_map_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(from.secret_ref.as_ref().map(|r| r.name.clone()));
        }
        for e in c.env.iter().flatten() {
            let from = e.value_from.as_ref();
            cms.extend(from.and_then(|f| f.config_map_key_ref.as_ref()).map(|r| r.name.clone()));
            secrets.extend(from.and_then(|f| f.secret_key_ref.as_ref()).map(|r| r.name.clone()));
        }
    }
    (cms, secrets, claims)
}

impl<'a> Fetched<'a> {
    pub(crate) async fn fetch(
        api: &Api,
        images: &'a ImageStore,
        namespace: &str,
        spec: &core::PodSpec,
        config: &crate::NodeConfig,
    ) -> Result<Fetched<'a>, wasmkube_api::ApiError> {
        let (cms, secrets, claims) = references(spec);
        let mut out = Fetched {
            images,
            config_maps: HashMap::new(),
            secrets: HashMap::new(),
            claims: HashMap::new(),
            service_env: Vec::new(),
            seccomp_dir: config.seccomp_dir.clone(),
        };
        for name in cms {
            let data =
                optional(api.get(def("configmaps"), namespace, &name).await)?.map(|cm| config_map_data(&cm));
            out.config_maps.insert(name, data);
        }
        for name in secrets {
            let data = optional(api.get(def("secrets"), namespace, &name).await)?.map(|s| secret_data(&s));
            out.secrets.insert(name, data);
        }
        for name in claims {
            let path = claim_path(api, namespace, &name, config).await?;
            out.claims.insert(name, path);
        }
        out.service_env = service_links(api, namespace, spec.enable_service_links != Some(false)).await?;
        Ok(out)
    }
}

/// The kubelet's service links: the Services of the pod's namespace (unless the pod turned
/// `enableServiceLinks` off) and the `kubernetes` Service, as environment variables.
async fn service_links(
    api: &Api,
    namespace: &str,
    enabled: bool,
) -> Result<Vec<(String, String)>, wasmkube_api::ApiError> {
    let mut services: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    if let Some(k) = optional(api.get(def("services"), "default", "kubernetes").await)? {
        services.insert("kubernetes".into(), k);
    }
    if enabled {
        let listed = api.list(def("services"), Some(namespace), &Default::default()).await?;
        for svc in listed.items {
            // The pod's own namespace wins a name clash (even `kubernetes`), as the kubelet has it.
            services.insert(wasmkube_api::meta::name(&svc).to_string(), svc);
        }
    }
    Ok(crate::env::service_links(services.values()))
}

fn def(storage: &str) -> &'static wasmkube_api::ResourceDef {
    registry::by_storage(storage).expect("served resource")
}

fn optional(
    r: Result<serde_json::Value, wasmkube_api::ApiError>,
) -> Result<Option<serde_json::Value>, wasmkube_api::ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

fn config_map_data(cm: &serde_json::Value) -> Data {
    let mut data: Data = BTreeMap::new();
    for (k, v) in cm.get("data").and_then(|d| d.as_object()).into_iter().flatten() {
        data.insert(k.clone(), v.as_str().unwrap_or_default().as_bytes().to_vec());
    }
    for (k, v) in cm.get("binaryData").and_then(|d| d.as_object()).into_iter().flatten() {
        data.insert(k.clone(), decode_base64(v));
    }
    data
}

fn secret_data(secret: &serde_json::Value) -> Data {
    let mut data: Data = BTreeMap::new();
    for (k, v) in secret.get("data").and_then(|d| d.as_object()).into_iter().flatten() {
        data.insert(k.clone(), decode_base64(v));
    }
    for (k, v) in secret.get("stringData").and_then(|d| d.as_object()).into_iter().flatten() {
        data.insert(k.clone(), v.as_str().unwrap_or_default().as_bytes().to_vec());
    }
    data
}

fn decode_base64(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).unwrap_or_default()
}

/// A bound claim's directory: its PersistentVolume's `hostPath` or `local` path, which must lie
/// under the node's volumes directory unless host paths are allowed.
async fn claim_path(
    api: &Api,
    namespace: &str,
    claim: &str,
    config: &crate::NodeConfig,
) -> Result<Result<PathBuf, String>, wasmkube_api::ApiError> {
    let Some(pvc) = optional(api.get(def("persistentvolumeclaims"), namespace, claim).await)? else {
        return Ok(Err(format!("persistentvolumeclaim \"{claim}\" not found")));
    };
    let volume = pvc.pointer("/spec/volumeName").and_then(|v| v.as_str()).unwrap_or("");
    let bound = pvc.pointer("/status/phase").and_then(|v| v.as_str()) == Some("Bound");
    if volume.is_empty() || !bound {
        return Ok(Err(format!("persistentvolumeclaim \"{claim}\" is not bound yet")));
    }
    let Some(pv) = optional(api.get(def("persistentvolumes"), "", volume).await)? else {
        return Ok(Err(format!("persistentvolume \"{volume}\" of claim \"{claim}\" not found")));
    };
    let path = ["/spec/hostPath/path", "/spec/local/path"]
        .iter()
        .find_map(|p| pv.pointer(p).and_then(|v| v.as_str()));
    let Some(path) = path.map(PathBuf::from) else {
        return Ok(Err(format!(
            "persistentvolume \"{volume}\" is not a node-local volume (hostPath or local)"
        )));
    };
    let inside = path.components().all(|c| !matches!(c, std::path::Component::ParentDir))
        && path.starts_with(&config.volumes_dir);
    if !inside && !config.allow_host_path {
        return Ok(Err(format!(
            "persistentvolume \"{volume}\" points outside the node's volumes directory and host paths are not allowed on this node"
        )));
    }
    Ok(Ok(path))
}

impl Lookup for Fetched<'_> {
    fn image(&self, reference: &str) -> Result<ImageSpec, String> {
        self.images.resolve(reference).map_err(|e| e.to_string())
    }

    fn config_map(&self, _namespace: &str, name: &str) -> Option<Data> {
        self.config_maps.get(name).cloned().flatten()
    }

    fn secret(&self, _namespace: &str, name: &str) -> Option<Data> {
        self.secrets.get(name).cloned().flatten()
    }

    fn claim_path(&self, _namespace: &str, claim: &str) -> Result<PathBuf, String> {
        self.claims.get(claim).cloned().unwrap_or_else(|| Err(format!("claim {claim:?} was not fetched")))
    }

    fn service_env(&self) -> Vec<(String, String)> {
        self.service_env.clone()
    }

    fn seccomp_profile(&self, name: &str) -> Result<serde_json::Value, String> {
        match &self.seccomp_dir {
            Some(dir) => crate::translate::read_seccomp_profile(dir, name),
            None => Err(format!("seccomp profile {name:?}: this node has no profile directory")),
        }
    }
}
