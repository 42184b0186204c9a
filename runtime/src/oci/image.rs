//! OCI image documents as the image store keeps them: manifests (OCI and Docker v2, which share
//! a shape), indexes (manifest lists) and the image config, reduced to what running a container
//! needs. Unknown fields are ignored, as the image spec asks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Layer media types of a WebAssembly component stored as an OCI artifact.
pub const WASM_LAYERS: [&str; 2] = ["application/vnd.wasm.content.layer.v1+wasm", "application/wasm"];
/// The config media type of the CNCF wasm OCI artifact layout.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A reference to a blob by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// The parts of the image config (`config` in the image JSON) a container starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub config: Option<ContainerConfig>,
}

/// A document by its shape: an index (it lists manifests) or a manifest (it has layers).
pub enum Document {
    Index(Index),
    Manifest(Manifest),
}

pub fn parse(bytes: &[u8]) -> Result<Document, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("manifests").is_some() {
        serde_json::from_value(value).map(Document::Index).map_err(|e| format!("bad image index: {e}"))
    } else if value.get("layers").is_some() {
        serde_json::from_value(value).map(Document::Manifest).map_err(|e| format!("bad image manifest: {e}"))
    } else {
        Err("neither an image manifest nor an index (a schema 1 manifest is not supported)".into())
    }
}

/// This machine's platform in OCI terms.
pub fn this_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    ("linux", arch)
}

/// The entry of an index for this machine's platform (a descriptor without a platform is
/// taken only when nothing matches and it is the only one).
pub fn pick_platform(index: &Index) -> Option<&Descriptor> {
    let (os, arch) = this_platform();
    index
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| p.os == os && p.architecture == arch))
        .or_else(|| match index.manifests.as_slice() {
            [only] if only.platform.is_none() => Some(only),
            _ => None,
        })
}

impl Manifest {
    /// The component, if this manifest is a wasm artifact (one wasm layer).
    pub fn wasm_layer(&self) -> Option<&Descriptor> {
        match self.layers.as_slice() {
            [layer] if WASM_LAYERS.contains(&layer.media_type.as_str()) => Some(layer),
            _ if self.config.media_type == WASM_CONFIG => {
                self.layers.iter().find(|l| WASM_LAYERS.contains(&l.media_type.as_str()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart_and_the_platform_is_picked() {
        let index = br#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,"platform":{"architecture":"arm64","os":"linux"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}"#;
        let Ok(Document::Index(index)) = parse(index) else { panic!("an index") };
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(pick_platform(&index).unwrap().digest, "sha256:bb");
        }
        let wasm = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.wasm.config.v0+json","digest":"sha256:cc","size":2},
            "layers":[{"mediaType":"application/wasm","digest":"sha256:dd","size":3}]}"#;
        let Ok(Document::Manifest(m)) = parse(wasm) else { panic!("a manifest") };
        assert_eq!(m.wasm_layer().unwrap().digest, "sha256:dd");
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cc","size":2},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:ee","size":3}]}"#;
        let Ok(Document::Manifest(m)) = parse(image) else { panic!("a manifest") };
        assert!(m.wasm_layer().is_none());
        assert!(parse(br#"{"schemaVersion":1,"fsLayers":[]}"#).is_err());
    }
}
