//! A pod's images as the kubelet handles them: pulls with the pod's pull secrets (one at a
//! time per reference on the node) and their events, and `runtimeClassName`.

use super::{Worker, container_path};
use serde_json::Value;
use std::sync::Arc;
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::events::EventType;

impl Worker {
    /// `runtimeClassName` forces the runtime: its RuntimeClass's handler must be this node's,
    /// and every image must be of that kind (a component for `wasmtime`, a container image for
    /// the node's OCI runtime, `runc` or `crun`). Without it, each image's kind decides.
    pub(super) async fn check_runtime_class(
        &self,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        kinds: &[(&k8s_openapi::api::core::v1::Container, bool)],
    ) -> Result<(), (String, String)> {
        let Some(class) = spec.runtime_class_name.as_deref().filter(|c| !c.is_empty()) else { return Ok(()) };
        let config_error = |m: String| ("CreateContainerConfigError".to_string(), m);
        let def = registry::by_storage("node.k8s.io/runtimeclasses").expect("runtimeclasses are served");
        let found = self.agent.inner.api.get(def, "", class).await;
        let found = found.map_err(|_| config_error(format!("RuntimeClass \"{class}\" not found")))?;
        let handler = found.get("handler").and_then(Value::as_str).unwrap_or_default();
        let handlers = crate::register::runtime_handlers(&self.agent);
        if !handlers.iter().any(|h| h == handler) {
            return Err(config_error(format!(
                "RuntimeClass \"{class}\" has handler \"{handler}\", which this node does not have (it has {})",
                handlers.join(", ")
            )));
        }
        let oci = self.agent.inner.runtime.config().oci_handler();
        for (c, container_image) in kinds {
            let reference = c.image.as_deref().unwrap_or_default();
            let kind = if *container_image { oci.as_str() } else { "wasmtime" };
            if kind != handler {
                let what = if *container_image { "a container image" } else { "a wasm component" };
                return Err(config_error(format!(
                    "container {:?}: image \"{reference}\" is {what}, but RuntimeClass \"{class}\" runs everything with {handler}",
                    c.name
                )));
            }
        }
        Ok(())
    }

    /// Pull `reference` from its registry with the pod's pull secrets, as the kubelet does
    /// (events `Pulling`, then `Pulled` or `Failed`). Pulls of one reference take turns; one
    /// that waited for another pod's finds the image there (unless `always`, which checks the
    /// pod's own access to the registry each time).
    pub(super) async fn pull(
        &self,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        container: &str,
        reference: &str,
        always: bool,
    ) -> Result<(), String> {
        let gate = {
            let mut pulling =
                self.agent.inner.pulling.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            pulling.entry(reference.to_string()).or_default().clone()
        };
        let t0 = std::time::Instant::now();
        let turn = gate.lock().await;
        let result = if !always && self.agent.inner.runtime.images().resolve(reference).is_ok() {
            let message = format!(
                "Successfully pulled image \"{reference}\" in {:.3}s (pulled for another pod meanwhile)",
                t0.elapsed().as_secs_f64()
            );
            let path = container_path(&self.pod, container);
            self.agent.inner.events.container_event(&self.pod, &path, EventType::Normal, "Pulled", message);
            Ok(())
        } else {
            self.pull_now(spec, container, reference).await
        };
        drop(turn);
        let mut pulling = self.agent.inner.pulling.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Nobody else waits (the map's reference and ours are the only ones): forget the gate.
        if Arc::strong_count(&gate) == 2 {
            pulling.remove(reference);
        }
        result
    }

    async fn pull_now(
        &self,
        spec: &k8s_openapi::api::core::v1::PodSpec,
        container: &str,
        reference: &str,
    ) -> Result<(), String> {
        let path = container_path(&self.pod, container);
        let events = &self.agent.inner.events;
        events.container_event(
            &self.pod,
            &path,
            EventType::Normal,
            "Pulling",
            format!("Pulling image \"{reference}\""),
        );
        let ns = meta::namespace(&self.pod).to_string();
        let mut credentials = None;
        for secret in spec.image_pull_secrets.iter().flatten() {
            let def = registry::by_storage("secrets").expect("secrets are served");
            let Ok(found) = self.agent.inner.api.get(def, &ns, &secret.name).await else { continue };
            let config = found.pointer("/data/.dockerconfigjson").and_then(Value::as_str).and_then(|b| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            });
            if let Some(found) =
                config.and_then(|c| wasmkube_runtime::registry::credentials_for(reference, &c))
            {
                credentials = Some(found);
                break;
            }
        }
        let t0 = std::time::Instant::now();
        let images = self.agent.inner.runtime.images();
        match wasmkube_runtime::registry::pull(images, reference, credentials.as_ref()).await {
            Ok(info) => {
                let message = format!(
                    "Successfully pulled image \"{reference}\" in {:.3}s. Image size: {} bytes.",
                    t0.elapsed().as_secs_f64(),
                    info.size
                );
                events.container_event(&self.pod, &path, EventType::Normal, "Pulled", message);
                Ok(())
            }
            Err(e) => {
                let message = format!("Failed to pull image \"{reference}\": {e}");
                events.container_event(&self.pod, &path, EventType::Warning, "Failed", message);
                Err(e.to_string())
            }
        }
    }

    pub(super) fn record_pulled(&self, spec: &wasmkube_runtime::PodSpec) {
        for c in spec.init_containers.iter().chain(&spec.containers) {
            let image = self.image_of(&c.name);
            let path = container_path(&self.pod, &c.name);
            self.agent.inner.events.container_event(
                &self.pod,
                &path,
                EventType::Normal,
                "Pulled",
                format!("Container image \"{image}\" already present on machine"),
            );
        }
    }

    fn image_of(&self, container: &str) -> String {
        ["containers", "initContainers"]
            .iter()
            .filter_map(|k| self.pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
            .and_then(|c| c.get("image").and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    }
}

/// Whether an image reference names its registry (`host.domain/...`, `host:port/...`,
/// `localhost/...`), as the distribution reference grammar tells a registry from a path.
pub(super) fn names_registry(reference: &str) -> bool {
    match reference.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}
