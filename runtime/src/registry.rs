//! Images from OCI registries, by the distribution API (`oci-client`): pulled into the image
//! store with every blob checked against its digest — an image index resolved to this
//! machine's platform, a wasm artifact (one wasm layer) stored as its component, anything else
//! as a container image. Registries on loopback addresses are spoken to in plain HTTP (as
//! Docker treats them), all others over HTTPS. `push_component` publishes a component as a
//! wasm artifact.

use crate::images::{Error as StoreError, ImageInfo, ImageStore, normalize_reference};
use crate::oci::image::{self as oci, Document};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::path::Path;

/// User name and password for a registry (from an `imagePullSecret`, or given to the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Why a pull or push failed, in words a `kubectl describe` reader can act on.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid image reference {0:?}: {1}")]
    Reference(String, String),
    #[error("{0}")]
    Registry(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The media types a pull accepts for manifests.
const MANIFEST_TYPES: [&str; 4] = [oci::OCI_MANIFEST, oci::OCI_INDEX, oci::DOCKER_MANIFEST, oci::DOCKER_LIST];

fn client_for(reference: &Reference) -> Result<Client, RegistryError> {
    // reqwest builds a TLS config even for plain HTTP and wants a process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = reference.resolve_registry().to_string();
    let host = registry.rsplit_once(':').map_or(registry.as_str(), |(h, _)| h).trim_matches(['[', ']']);
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let protocol = if loopback { ClientProtocol::HttpsExcept(vec![registry]) } else { ClientProtocol::Https };
    let config = ClientConfig {
        protocol,
        connect_timeout: Some(std::time::Duration::from_secs(10)),
        read_timeout: Some(std::time::Duration::from_secs(60)),
        ..Default::default()
    };
    Client::try_from(config).map_err(|e| RegistryError::Registry(describe(&e)))
}

fn auth(credentials: Option<&Credentials>) -> RegistryAuth {
    match credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
        None => RegistryAuth::Anonymous,
    }
}

/// A registry failure as one line: the registry's own error codes and messages when it sent
/// them, the cause chain otherwise.
fn describe(e: &oci_client::errors::OciDistributionError) -> String {
    use oci_client::errors::OciDistributionError as E;
    match e {
        E::UnauthorizedError { .. } => "unauthorized: authentication required".into(),
        E::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .map(|x| format!("{}: {}", format!("{:?}", x.code).to_lowercase(), x.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

fn parse(reference: &str) -> Result<Reference, RegistryError> {
    reference
        .parse()
        .map_err(|e: oci_client::ParseError| RegistryError::Reference(reference.into(), e.to_string()))
}

/// Pull `reference` into `store` and name it so; returns what was stored.
pub async fn pull(
    store: &ImageStore,
    reference: &str,
    credentials: Option<&Credentials>,
) -> Result<ImageInfo, RegistryError> {
    let image = parse(reference)?;
    let client = client_for(&image)?;
    let auth = auth(credentials);
    let failed = |e: oci_client::errors::OciDistributionError| RegistryError::Registry(describe(&e));
    let (mut bytes, mut digest) =
        client.pull_manifest_raw(&image, &auth, &MANIFEST_TYPES).await.map_err(failed)?;
    let manifest = loop {
        match oci::parse(&bytes).map_err(RegistryError::Registry)? {
            Document::Manifest(m) => break m,
            Document::Index(index) => {
                let (os, arch) = oci::this_platform();
                let chosen = oci::pick_platform(&index).ok_or_else(|| {
                    RegistryError::Registry(format!("no image for {os}/{arch} in the index"))
                })?;
                let by_digest = image.clone_with_digest(chosen.digest.clone());
                (bytes, digest) =
                    client.pull_manifest_raw(&by_digest, &auth, &MANIFEST_TYPES).await.map_err(failed)?;
            }
        }
    };
    let fetch = async |digest: &str| -> Result<String, RegistryError> {
        // Blobs are content-addressed and were checked when stored: never fetched twice.
        if store.blob(digest).exists() {
            return Ok(digest.to_string());
        }
        let scratch = store.scratch_dir().with_file_name(format!(
            "pull.{}.{}",
            std::process::id(),
            crate::images::unique()
        ));
        let file = tokio::fs::File::create(&scratch)
            .await
            .map_err(|source| StoreError::Io { path: scratch.clone(), source })?;
        let mut writer = tokio::io::BufWriter::new(file);
        let pulled = client.pull_blob(&image, digest, &mut writer).await;
        let flushed = tokio::io::AsyncWriteExt::flush(&mut writer).await;
        let stored = match (pulled, flushed) {
            (Ok(()), Ok(())) => {
                let (store, scratch, digest) = (store.clone(), scratch.clone(), digest.to_string());
                off_thread(move || store.put_blob_file(&scratch, Some(&digest)).map_err(RegistryError::from))
                    .await
            }
            (Err(e), _) => Err(failed(e)),
            (_, Err(e)) => Err(RegistryError::Registry(format!("writing blob {digest}: {e}"))),
        };
        let _ = tokio::fs::remove_file(&scratch).await;
        stored
    };
    let name = normalize_reference(reference)?;
    let store = store.clone();
    if let Some(layer) = manifest.wasm_layer() {
        let component = fetch(&layer.digest).await?;
        return off_thread(move || {
            if !crate::images::is_wasm(&crate::images::read_head(&store.blob(&component)).unwrap_or_default())
            {
                return Err(RegistryError::Registry("its wasm layer is not a WebAssembly binary".into()));
            }
            Ok(store.tag(&name, &component)?)
        })
        .await;
    }
    fetch(&manifest.config.digest).await?;
    for layer in &manifest.layers {
        fetch(&layer.digest).await?;
    }
    off_thread(move || {
        let stored = store.put_blob(&bytes)?;
        if stored != digest {
            return Err(RegistryError::Registry(format!(
                "manifest digest {stored}, where the registry said {digest}"
            )));
        }
        Ok(store.tag(&name, &stored)?)
    })
    .await
}

/// Store work (hashing and copying blobs, the store's lock) off the async threads.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, RegistryError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(RegistryError::Registry(format!("storing the image failed: {e}"))))
}

/// Publish a component at `reference` as a wasm artifact; returns the manifest's URL.
pub async fn push_component(
    file: &Path,
    reference: &str,
    credentials: Option<&Credentials>,
) -> Result<String, RegistryError> {
    let bytes = std::fs::read(file).map_err(|source| StoreError::Io { path: file.to_owned(), source })?;
    if !crate::images::is_wasm(&bytes) {
        return Err(StoreError::NotAComponent(file.to_owned(), "no wasm header").into());
    }
    let image = parse(reference)?;
    let client = client_for(&image)?;
    let layers = vec![ImageLayer::new(bytes, oci::WASM_LAYERS[0].to_string(), None)];
    let config = Config::new(b"{}".to_vec(), oci::WASM_CONFIG.to_string(), None);
    let pushed = client
        .push(&image, &layers, config, &auth(credentials), None)
        .await
        .map_err(|e| RegistryError::Registry(describe(&e)))?;
    Ok(pushed.manifest_url)
}

/// Credentials for `reference`'s registry from `kubernetes.io/dockerconfigjson` contents
/// (`{"auths": {"host[:port]": {"auth": base64(user:pass)} | {"username", "password"}}}`).
pub fn credentials_for(reference: &str, dockerconfigjson: &[u8]) -> Option<Credentials> {
    let image: Reference = reference.parse().ok()?;
    let wanted = image.registry();
    let config: serde_json::Value = serde_json::from_slice(dockerconfigjson).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let same = |key: &str| {
        let host = key.trim_start_matches("https://").trim_start_matches("http://");
        let host = host.split('/').next().unwrap_or(host);
        let docker = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
        host == wanted || (docker(host) && docker(wanted))
    };
    let (_, entry) = auths.iter().find(|(key, _)| same(key))?;
    if let (Some(u), Some(p)) =
        (entry.get("username").and_then(|v| v.as_str()), entry.get("password").and_then(|v| v.as_str()))
    {
        return Some(Credentials { username: u.into(), password: p.into() });
    }
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(entry.get("auth")?.as_str()?).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credentials { username: username.into(), password: password.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_secrets_give_the_credentials_of_the_images_registry() {
        let config = br#"{"auths": {
            "127.0.0.1:5000": {"auth": "YWxpY2U6czNjcmV0"},
            "https://index.docker.io/v1/": {"username": "bob", "password": "pw"}}}"#;
        let alice = credentials_for("127.0.0.1:5000/demo/bb:1", config).unwrap();
        assert_eq!((alice.username.as_str(), alice.password.as_str()), ("alice", "s3cret"));
        assert_eq!(credentials_for("busybox:latest", config).unwrap().username, "bob");
        assert_eq!(credentials_for("other.example/x:1", config), None);
    }
}
