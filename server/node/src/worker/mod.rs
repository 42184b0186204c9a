//! One pod's life on this node: resolve what it references, start it in the runtime, keep its
//! API status and events current, run its probes, honour its active deadline, and on deletion
//! stop it within its grace period, remove it from the API and clean up its directory.

mod images;

use crate::NodeAgent;
use crate::lookup::Fetched;
use crate::probes::{self, Report};
use crate::status::{self, Observed};
use crate::translate::{self, PodIdentity};
use k8s_openapi::api::core::v1 as core;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use wasmkube_api::{meta, registry};
use wasmkube_apiserver::events::EventType;
use wasmkube_apiserver::service::update::Part;
use wasmkube_apiserver::service::{DeleteOptions, PatchType, WriteOptions};
use wasmkube_runtime::{ContainerState, PodHandle, PodStatus, StartOptions};

/// What the agent's pod watch tells a worker.
#[derive(Clone)]
pub(crate) enum PodUpdate {
    /// The latest object: the very allocation the shared feed decoded (and the controllers'
    /// caches hold), not a copy — ten thousand pods would otherwise be held twice more.
    Current(Arc<Value>),
    /// The Pod object is gone from the API.
    Deleted,
}

pub(crate) async fn run(agent: NodeAgent, mut updates: watch::Receiver<PodUpdate>) {
    let PodUpdate::Current(pod) = updates.borrow_and_update().clone() else { return };
    let span = tracing::info_span!("pod", namespace = %meta::namespace(&pod), name = %meta::name(&pod));
    let worker = Worker::new(agent, pod);
    tracing::Instrument::instrument(worker.run(updates), span).await;
}

struct Worker {
    agent: NodeAgent,
    pod: Arc<Value>,
    uid: String,
    pod_ip: Option<Ipv4Addr>,
    start_time: String,
    waiting: Option<(String, String)>,
    failure: Option<(String, String)>,
    restart_offset: HashMap<String, u32>,
    image_ids: HashMap<String, String>,
    results: Arc<Mutex<probes::Results>>,
    written: Option<Written>,
    last_runtime: Option<PodStatus>,
    /// hostPort forwarders, ended with the pod.
    forwards: Vec<tokio::task::JoinHandle<()>>,
    /// The pod ended for good and what it held on the node (volumes, host ports) is released.
    released: bool,
}

/// What the agent last wrote of the status, in brief (thousands of pods each keep one): a
/// digest of it without its changing timestamps, and the conditions the agent owns.
struct Written {
    digest: u64,
    own_conditions: Vec<(String, String)>,
}

impl Written {
    fn of(status: &Value) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        serde_json::to_vec(&status::comparable(status)).unwrap_or_default().hash(&mut hasher);
        let own_conditions =
            status::own_conditions(status).into_iter().map(|(t, s)| (t.to_owned(), s.to_owned())).collect();
        Written { digest: hasher.finish(), own_conditions }
    }

    /// Whether `status` (someone else's latest) still shows the conditions we wrote.
    fn conditions_kept(&self, status: &Value) -> bool {
        let theirs = status::own_conditions(status);
        self.own_conditions.iter().map(|(t, s)| (t.as_str(), s.as_str())).eq(theirs)
    }
}

enum Next {
    Continue,
    Done,
}

impl Worker {
    fn new(agent: NodeAgent, pod: Arc<Value>) -> Self {
        let uid = meta::uid(&pod).to_string();
        let start_time = pod
            .pointer("/status/startTime")
            .and_then(Value::as_str)
            .map_or_else(meta::now_rfc3339, str::to_string);
        Worker {
            agent,
            pod,
            uid,
            pod_ip: None,
            start_time,
            waiting: None,
            failure: None,
            restart_offset: HashMap::new(),
            image_ids: HashMap::new(),
            results: Arc::default(),
            written: None,
            last_runtime: None,
            forwards: Vec::new(),
            released: false,
        }
    }

    fn api_phase(&self) -> &str {
        self.pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending")
    }

    fn restart_policy(&self) -> &str {
        self.pod.pointer("/spec/restartPolicy").and_then(Value::as_str).unwrap_or("Always")
    }

    async fn run(mut self, mut updates: watch::Receiver<PodUpdate>) {
        if matches!(self.api_phase(), "Succeeded" | "Failed") {
            // Finished before (e.g. before a server restart): nothing runs; wait for deletion.
            return self.idle_until_deleted(&mut updates).await;
        }
        if self.resumed_after_restart() && self.restart_policy() == "Never" {
            self.failure = Some((
                "ContainerStatusUnknown".into(),
                "The container could not be located when the node restarted".into(),
            ));
            self.write_status(None).await;
            return self.idle_until_deleted(&mut updates).await;
        }
        let wanted_ip =
            self.pod.pointer("/status/podIP").and_then(Value::as_str).and_then(|s| s.parse().ok());
        self.pod_ip = self
            .agent
            .inner
            .ips
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allocate(wanted_ip);
        let Some(ip) = self.pod_ip else {
            self.failure = Some(("OutOfpods".into(), "the node has no free pod IP".into()));
            self.write_status(None).await;
            return self.idle_until_deleted(&mut updates).await;
        };
        self.agent.inner.policies.learn(&self.pod, ip);
        let Some(handle) = self.start(&mut updates).await else {
            return self.release_ip();
        };
        let handle = Arc::new(handle);
        self.supervise(handle, &mut updates).await;
    }

    /// The pod ran here before this agent started (its status says so): a server restart.
    fn resumed_after_restart(&mut self) -> bool {
        let statuses = ["containerStatuses", "initContainerStatuses"]
            .iter()
            .filter_map(|k| self.pod.pointer(&format!("/status/{k}")).and_then(Value::as_array))
            .flatten()
            .cloned()
            .collect::<Vec<_>>();
        let mut resumed = false;
        for c in statuses {
            let ran = c.pointer("/state/running").is_some() || c.pointer("/state/terminated").is_some();
            let restarts = c.get("restartCount").and_then(Value::as_u64).unwrap_or(0) as u32;
            if ran || restarts > 0 {
                resumed = true;
                let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                self.restart_offset.insert(name, restarts + u32::from(ran));
            }
        }
        resumed
    }

    fn typed_spec(&self) -> Result<core::PodSpec, String> {
        let spec = self.pod.get("spec").cloned().unwrap_or(Value::Null);
        serde_json::from_value(spec).map_err(|e| format!("the pod spec cannot be read: {e}"))
    }

    /// Resolve and start, retrying with back-off while something it needs is missing (an image
    /// not imported yet, a configMap not created yet). `None` when the pod was deleted first.
    async fn start(&mut self, updates: &mut watch::Receiver<PodUpdate>) -> Option<PodHandle> {
        let mut backoff = Duration::from_secs(1);
        let mut attempts = 0u32;
        loop {
            if self.deleting() {
                self.delete_from_api().await;
                return None;
            }
            match self.prepare().await {
                Ok(spec) => {
                    self.waiting = None;
                    self.record_pulled(&spec.0);
                    match self.forward_host_ports(&spec.1) {
                        Ok(()) => match self.agent.inner.runtime.start_pod(spec.0, StartOptions::default()) {
                            Ok(handle) => return Some(handle),
                            Err(e) => self.waiting = Some(("CreateContainerError".into(), e.to_string())),
                        },
                        Err(message) => self.waiting = Some(("CreateContainerError".into(), message)),
                    }
                }
                Err(waiting) => self.waiting = Some(waiting),
            }
            attempts += 1;
            if let Some((reason, message)) = self.waiting.clone() {
                let events = &self.agent.inner.events;
                if reason == "ErrImagePull" && attempts > 1 {
                    let image = message.split('"').nth(1).unwrap_or_default();
                    events.event(
                        &self.pod,
                        EventType::Normal,
                        "BackOff",
                        format!("Back-off pulling image \"{image}\""),
                    );
                    self.waiting =
                        Some(("ImagePullBackOff".into(), format!("Back-off pulling image \"{image}\"")));
                } else {
                    events.event(&self.pod, EventType::Warning, "Failed", message);
                }
            }
            self.write_status(None).await;
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                r = updates.changed() => if r.is_err() { return None },
            }
            if !self.take_update(updates) {
                return None;
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Take the latest object; false when the pod is gone from the API.
    fn take_update(&mut self, updates: &mut watch::Receiver<PodUpdate>) -> bool {
        match updates.borrow_and_update().clone() {
            // Older than what we hold (our own status write's answer, say): nothing to learn.
            PodUpdate::Current(pod) if revision(&pod) < revision(&self.pod) => true,
            PodUpdate::Current(pod) => {
                // Someone else changed conditions that are ours (the node lifecycle controller
                // marks pods NotReady while their node is away): ours are written again, as the
                // kubelet's status manager does.
                if self.written.as_ref().is_some_and(|w| !w.conditions_kept(&pod["status"])) {
                    self.written = None;
                }
                self.pod = pod;
                true
            }
            PodUpdate::Deleted => false,
        }
    }

    fn deleting(&self) -> bool {
        meta::is_deleting(&self.pod)
    }

    /// Images, configMaps, secrets and claims -> a runtime spec; or why the pod must wait.
    async fn prepare(
        &mut self,
    ) -> Result<(wasmkube_runtime::PodSpec, Vec<translate::HostPort>), (String, String)> {
        let spec = self.typed_spec().map_err(|m| ("CreateContainerConfigError".to_string(), m))?;
        let images = self.agent.inner.runtime.images();
        // Per container: whether its image is a container image (not a component).
        let mut kinds = Vec::new();
        for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
            let reference = c.image.as_deref().unwrap_or_default();
            let policy = c.image_pull_policy.as_deref().unwrap_or("IfNotPresent");
            let local = images.resolve(reference);
            // `Always` pulls what names a registry; an image imported under a bare name (the
            // usual way to run local wasm components, whose `:latest` tag defaults the policy to
            // Always) is used as it is, as there is no registry it could come from.
            let pull = match policy {
                "Never" => false,
                "Always" => images::names_registry(reference) || local.is_err(),
                _ => local.is_err(),
            };
            if pull {
                let pulled = self.pull(&spec, &c.name, reference, policy == "Always").await;
                // `Always` with a registry is a credential check too (as with upstream's
                // AlwaysPullImages): a failed pull fails even with a copy on the node.
                if let Err(message) = pulled
                    && (policy != "Always" || local.is_err() || images::names_registry(reference))
                {
                    return Err((
                        "ErrImagePull".into(),
                        format!("Failed to pull image \"{reference}\": {message}"),
                    ));
                }
            }
            match images.resolve(reference) {
                Ok(image) => {
                    self.image_ids.insert(reference.to_string(), image.digest.clone());
                    kinds.push((c, image.container.is_some()));
                }
                Err(e) if policy == "Never" => {
                    let _ = e;
                    let message =
                        format!("Container image \"{reference}\" is not present with pull policy of Never");
                    return Err(("ErrImageNeverPull".into(), message));
                }
                Err(e) => {
                    return Err((
                        "ErrImagePull".into(),
                        format!("Failed to pull image \"{reference}\": {e}"),
                    ));
                }
            }
        }
        self.check_runtime_class(&spec, &kinds).await?;
        let ns = meta::namespace(&self.pod).to_string();
        let fetched = Fetched::fetch(&self.agent.inner.api, images, &ns, &spec, &self.agent.inner.config)
            .await
            .map_err(|e| ("CreateContainerConfigError".to_string(), e.message.clone()))?;
        let labels = string_map(self.pod.pointer("/metadata/labels"));
        let annotations = string_map(self.pod.pointer("/metadata/annotations"));
        let host_ip = self.agent.inner.config.address.to_string();
        let id = PodIdentity {
            uid: &self.uid,
            name: meta::name(&self.pod),
            namespace: &ns,
            pod_ip: self.pod_ip,
            node_name: &self.agent.inner.config.name,
            host_ip: &host_ip,
            service_account: spec.service_account_name.as_deref().unwrap_or("default"),
            labels: Some(&labels),
            annotations: Some(&annotations),
        };
        let mut translated = translate::translate(&id, &spec, &fetched)
            .map_err(|m| ("CreateContainerConfigError".to_string(), m))?;
        if spec.restart_policy.is_none() {
            translated.spec.restart_policy = wasmkube_runtime::RestartPolicy::Always;
        }
        Ok((translated.spec, translated.host_ports))
    }

    /// hostPorts listen on the node's address and forward into the pod's port (all or none).
    fn forward_host_ports(&mut self, ports: &[translate::HostPort]) -> Result<(), String> {
        let mut listeners = Vec::new();
        for hp in ports {
            let addr = (self.agent.inner.config.address, hp.host_port);
            let listener =
                std::net::TcpListener::bind(addr).map_err(|e| format!("hostPort {}: {e}", hp.host_port))?;
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            listeners.push((
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?,
                hp.container_port,
            ));
        }
        let ip = self.pod_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        for (listener, port) in listeners {
            let net = self.agent.inner.runtime.network().clone();
            self.forwards
                .push(tokio::spawn(wasmkube_runtime::network::forward_host_port(listener, net, ip, port)));
        }
        Ok(())
    }

    /// Watch the running pod until it is deleted.
    async fn supervise(&mut self, handle: Arc<PodHandle>, updates: &mut watch::Receiver<PodUpdate>) {
        let mut runtime_status = handle.watch();
        self.agent
            .inner
            .pods
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(self.uid.clone(), runtime_status.clone());
        let spec = self.typed_spec().unwrap_or_default();
        let probe_list = probes::of_pod(&spec);
        *self.results.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            probes::initial(&probe_list);
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let mut probe_tasks = tokio::task::JoinSet::new();
        for probe in probe_list {
            let ctx = probes::Context {
                net: self.agent.inner.runtime.network().clone(),
                pod_ip: self.pod_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                status: runtime_status.clone(),
                results: self.results.clone(),
                reports: reports_tx.clone(),
            };
            probe_tasks.spawn(probes::run(probe, ctx));
        }
        let deadline = self.active_deadline();
        let eviction = crate::eviction::watch(crate::eviction::limits(&spec, &handle));
        tokio::pin!(eviction);
        // A cached component is Running within a millisecond: report that as the first status
        // instead of PodInitializing followed at once by Running (one durable write and one
        // watch event fewer per pod start). A slow start still reports within FIRST_REPORT.
        let _ = tokio::time::timeout(FIRST_REPORT, runtime_status.wait_for(progressed)).await;
        let current = runtime_status.borrow_and_update().clone();
        self.observe(&current);
        self.write_status(Some(&current)).await;
        loop {
            let next = tokio::select! {
                r = runtime_status.changed() => {
                    if r.is_err() { Next::Done } else {
                        let current = runtime_status.borrow_and_update().clone();
                        self.observe(&current);
                        self.write_status(Some(&current)).await;
                        if current.ended {
                            self.release_terminated(&handle).await;
                        }
                        Next::Continue
                    }
                }
                Some(report) = reports.recv() => {
                    self.on_probe(&handle, report);
                    self.write_status(Some(&handle.status())).await;
                    Next::Continue
                }
                r = updates.changed() => {
                    if r.is_err() || !self.take_update(updates) {
                        handle.stop(Duration::ZERO).await;
                        Next::Done
                    } else if self.deleting() {
                        self.terminate(&handle).await;
                        self.delete_from_api().await;
                        Next::Done
                    } else {
                        // Only when someone else changed our conditions (`take_update`).
                        if self.written.is_none() {
                            self.write_status(Some(&handle.status())).await;
                        }
                        Next::Continue
                    }
                }
                message = &mut eviction, if self.failure.is_none() && !self.released && !self.critical() => {
                    self.agent.inner.events.event(&self.pod, EventType::Warning, "Evicted", &message);
                    self.failure = Some(("Evicted".into(), message));
                    let final_status = handle.stop(Duration::ZERO).await;
                    self.write_status(Some(&final_status)).await;
                    Next::Continue
                }
                () = sleep_until_opt(deadline), if self.failure.is_none() => {
                    self.failure = Some(("DeadlineExceeded".into(), "Pod was active on the node longer than the specified deadline".into()));
                    self.agent.inner.events.event(&self.pod, EventType::Normal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline");
                    let final_status = handle.stop(Duration::ZERO).await;
                    self.write_status(Some(&final_status)).await;
                    Next::Continue
                }
            };
            if matches!(next, Next::Done) {
                break;
            }
        }
        probe_tasks.abort_all();
        self.release_host_ports();
        self.agent.inner.pods.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.uid);
        self.release_ip();
        if let Ok(handle) = Arc::try_unwrap(handle) {
            // Wait for the runtime to let go of the pod's files before removing them.
            handle.wait().await;
            if let Err(e) = handle.remove() {
                tracing::warn!(error = %e, "could not remove the pod's directory");
            }
        }
    }

    fn release_host_ports(&mut self) {
        for f in self.forwards.drain(..) {
            f.abort();
        }
    }

    /// Nothing of the pod runs any more (it succeeded, failed or was evicted): as the kubelet
    /// does for a terminated pod, give its host ports back and tear its volumes down (emptyDir
    /// contents go; logs stay for `kubectl logs` until the pod is deleted).
    async fn release_terminated(&mut self, handle: &Arc<PodHandle>) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        self.release_host_ports();
        let handle = handle.clone();
        match tokio::task::spawn_blocking(move || handle.remove_volumes()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not remove the terminated pod's volumes"),
            Err(e) => tracing::warn!(error = %e, "removing the terminated pod's volumes failed"),
        }
    }

    /// A static pod, or one of system-critical priority: the kubelet never evicts those.
    fn critical(&self) -> bool {
        let mirrored = crate::static_pods::mirror_hash(&self.pod).is_some();
        let priority = self.pod.pointer("/spec/priority").and_then(Value::as_i64).unwrap_or(0);
        mirrored || priority >= 2_000_000_000
    }

    fn release_ip(&mut self) {
        if let Some(ip) = self.pod_ip {
            self.agent.inner.policies.forget(&self.pod, ip);
            self.agent.inner.ips.lock().unwrap_or_else(std::sync::PoisonError::into_inner).release(ip);
        }
    }

    fn active_deadline(&self) -> Option<tokio::time::Instant> {
        let secs = self.pod.pointer("/spec/activeDeadlineSeconds").and_then(Value::as_u64)?;
        let started = chrono::DateTime::parse_from_rfc3339(&self.start_time).ok()?;
        let elapsed = (chrono::Utc::now() - started.with_timezone(&chrono::Utc)).to_std().unwrap_or_default();
        Some(tokio::time::Instant::now() + Duration::from_secs(secs).saturating_sub(elapsed))
    }

    fn on_probe(&mut self, handle: &PodHandle, report: Report) {
        let events = &self.agent.inner.events;
        match report {
            Report::Changed => {}
            Report::Unhealthy { container, kind, message } => {
                let path = container_path(&self.pod, &container);
                events.container_event(
                    &self.pod,
                    &path,
                    EventType::Warning,
                    "Unhealthy",
                    format!("{kind:?} probe failed: {message}"),
                );
            }
            Report::Unsupported { container, message } => {
                let path = container_path(&self.pod, &container);
                events.container_event(&self.pod, &path, EventType::Warning, "ProbeNotSupported", message);
            }
            Report::Kill { container, message } => {
                let path = container_path(&self.pod, &container);
                let text = format!("Container {container} failed liveness probe, will be restarted");
                tracing::info!(%container, %message, "liveness probe failed; killing the container");
                events.container_event(&self.pod, &path, EventType::Normal, "Killing", text);
                handle.kill_container(&container, self.grace());
            }
        }
    }

    fn grace(&self) -> Duration {
        let secs = self
            .pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .or_else(|| self.pod.pointer("/spec/terminationGracePeriodSeconds"))
            .and_then(Value::as_u64)
            .unwrap_or(30);
        Duration::from_secs(secs)
    }

    /// Stop the containers within the grace period and report their final states.
    async fn terminate(&mut self, handle: &PodHandle) {
        let running = handle.status();
        for c in running.all().filter(|c| matches!(c.state, ContainerState::Running { .. })) {
            let path = container_path(&self.pod, &c.name);
            self.agent.inner.events.container_event(
                &self.pod,
                &path,
                EventType::Normal,
                "Killing",
                format!("Stopping container {}", c.name),
            );
        }
        let done = handle.stop(self.grace()).await;
        self.write_status(Some(&done)).await;
    }

    /// Events for what changed since the last observation.
    fn observe(&mut self, current: &PodStatus) {
        let events = &self.agent.inner.events;
        for c in current.all() {
            let before = self.last_runtime.as_ref().and_then(|s| s.container(&c.name));
            let path = container_path(&self.pod, &c.name);
            match &c.state {
                ContainerState::Running { started_at } => {
                    let new_run = !matches!(before.map(|b| &b.state), Some(ContainerState::Running { started_at: s }) if s == started_at);
                    if new_run {
                        events.container_event(
                            &self.pod,
                            &path,
                            EventType::Normal,
                            "Created",
                            format!("Created container {}", c.name),
                        );
                        events.container_event(
                            &self.pod,
                            &path,
                            EventType::Normal,
                            "Started",
                            format!("Started container {}", c.name),
                        );
                    }
                }
                ContainerState::Waiting { reason } if reason == "CrashLoopBackOff" => {
                    let again = before.is_some_and(|b| b.restart_count == c.restart_count);
                    if !again {
                        let message = format!(
                            "Back-off restarting failed container {} in pod {}",
                            c.name,
                            meta::name(&self.pod)
                        );
                        events.container_event(&self.pod, &path, EventType::Warning, "BackOff", message);
                    }
                }
                ContainerState::Terminated { reason, message, .. } if reason == "CreateContainerError" => {
                    let fresh = !before.is_some_and(|b| b.state.is_terminated());
                    if fresh {
                        events.container_event(
                            &self.pod,
                            &path,
                            EventType::Warning,
                            "Failed",
                            message.clone().unwrap_or_default(),
                        );
                    }
                }
                _ => {}
            }
        }
        self.last_runtime = Some(current.clone());
    }

    /// Patch the status when it differs from what was last written.
    async fn write_status(&mut self, runtime: Option<&PodStatus>) {
        let (ready, started) = {
            let results = self.results.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (results.ready.clone(), results.started.clone())
        };
        let host_ip = self.agent.inner.config.address.to_string();
        let observed = Observed {
            pod: &self.pod,
            runtime,
            pod_ip: self.pod_ip,
            host_ip: &host_ip,
            start_time: &self.start_time,
            waiting: self.waiting.as_ref(),
            failure: self.failure.as_ref(),
            ready: &ready,
            started: &started,
            restart_offset: &self.restart_offset,
            image_ids: &self.image_ids,
        };
        let new = status::build(&observed);
        let brief = Written::of(&new);
        if self.written.as_ref().is_some_and(|w| w.digest == brief.digest) {
            return;
        }
        let def = registry::by_storage("pods").expect("pods are served");
        let opts = WriteOptions { field_manager: Some("kubelet".into()), ..Default::default() };
        let patch = json!({"status": new});
        let result = self
            .agent
            .inner
            .api
            .patch(
                def,
                meta::namespace(&self.pod),
                meta::name(&self.pod),
                PatchType::Merge,
                &patch,
                Part::Status,
                false,
                &opts,
            )
            .await;
        match result {
            Ok((written, _)) => {
                // Until the watch brings this revision (then shared with the feed).
                self.pod = Arc::new(written.object);
                self.written = Some(brief);
            }
            Err(e) if e.code == 404 => {}
            Err(e) => tracing::warn!(error = %e, "could not write the pod's status"),
        }
    }

    /// Remove the terminated pod from the API (the kubelet's delete with grace 0).
    async fn delete_from_api(&self) {
        let def = registry::by_storage("pods").expect("pods are served");
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            precondition_uid: Some(self.uid.clone()),
            ..Default::default()
        };
        match self.agent.inner.api.delete(def, meta::namespace(&self.pod), meta::name(&self.pod), &opts).await
        {
            Ok(_) => {}
            Err(e) if e.code == 404 || e.code == 409 => {}
            Err(e) => tracing::warn!(error = %e, "could not delete the terminated pod"),
        }
    }

    /// A finished pod: nothing runs; remove it from the API when it is deleted, and its files
    /// when it is gone.
    async fn idle_until_deleted(mut self, updates: &mut watch::Receiver<PodUpdate>) {
        loop {
            if self.deleting() {
                self.delete_from_api().await;
            }
            if updates.changed().await.is_err() || !self.take_update(updates) {
                break;
            }
        }
        let dir = self.agent.inner.runtime.pod_dir(&self.uid);
        if dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            tracing::warn!(error = %e, "could not remove the pod's directory");
        }
    }
}

/// The longest a pod's first status report waits for its containers to start.
const FIRST_REPORT: Duration = Duration::from_millis(100);

/// Some container started or ended, or the pod could not start at all.
fn progressed(s: &PodStatus) -> bool {
    s.ended
        || s.message.is_some()
        || s.all()
            .any(|c| matches!(c.state, ContainerState::Running { .. } | ContainerState::Terminated { .. }))
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn string_map(v: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// `spec.containers{name}` / `spec.initContainers{name}`, as the kubelet's event field paths.
fn container_path(pod: &Value, container: &str) -> String {
    let is_init = pod
        .pointer("/spec/initContainers")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c.get("name").and_then(Value::as_str) == Some(container)));
    if is_init {
        format!("spec.initContainers{{{container}}}")
    } else {
        format!("spec.containers{{{container}}}")
    }
}

/// An object's resourceVersion as a number (the store's revision; 0 if absent).
fn revision(object: &Value) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
