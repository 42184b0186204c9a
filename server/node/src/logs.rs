//! `pods/log` served from this node's container log files, with upstream's answers for the
//! usual mistakes (no container named in a multi-container pod, a container still waiting,
//! no previous instance).

use crate::NodeAgent;
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value;
use wasmkube_api::{ApiError, meta};
use wasmkube_apiserver::logs::{LogStream, PodLogOptions, PodLogs};
use wasmkube_runtime::{ContainerState, LogQuery, PodStatus};

pub(crate) struct NodeLogs {
    pub(crate) agent: NodeAgent,
}

impl PodLogs for NodeLogs {
    fn logs(&self, pod: Value, opts: PodLogOptions) -> BoxFuture<'static, Result<LogStream, ApiError>> {
        let agent = self.agent.clone();
        Box::pin(async move { stream(agent, pod, opts).await })
    }
}

fn names(pod: &Value, key: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{key}"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from)).collect())
        .unwrap_or_default()
}

/// The container to read: the named one, the default-container annotation, or the only one.
fn pick_container(pod: &Value, wanted: Option<&str>) -> Result<String, ApiError> {
    let name = meta::name(pod);
    let (main, init) = (names(pod, "containers"), names(pod, "initContainers"));
    if let Some(w) = wanted {
        if main.iter().chain(&init).any(|c| c == w) {
            return Ok(w.to_string());
        }
        return Err(ApiError::bad_request(format!("container {w} is not valid for pod {name}")));
    }
    let default =
        pod.pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container").and_then(Value::as_str);
    if let Some(d) = default.filter(|d| main.iter().any(|c| c == d)) {
        return Ok(d.to_string());
    }
    if main.len() == 1 {
        return Ok(main[0].clone());
    }
    let mut message =
        format!("a container name must be specified for pod {name}, choose one of: [{}]", main.join(" "));
    if !init.is_empty() {
        message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
    }
    Err(ApiError::bad_request(message))
}

fn container_state<'a>(status: &'a Value, container: &str) -> Option<&'a Value> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| status.get(*k).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
}

async fn stream(agent: NodeAgent, pod: Value, opts: PodLogOptions) -> Result<LogStream, ApiError> {
    let name = meta::name(&pod).to_string();
    let node = pod.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::bad_request(format!("pod {name} is not scheduled to a node yet")));
    }
    if node != agent.name() {
        return Err(ApiError::bad_request(format!(
            "pod {name} runs on node {node}, whose logs this server does not hold"
        )));
    }
    let container = pick_container(&pod, opts.container.as_deref())?;
    let status = pod.get("status").cloned().unwrap_or(Value::Null);
    let state = container_state(&status, &container);
    if opts.previous && state.and_then(|s| s.get("restartCount")).and_then(Value::as_u64).unwrap_or(0) == 0 {
        return Err(ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        )));
    }
    let waiting = state.and_then(|s| s.pointer("/state/waiting/reason")).and_then(Value::as_str);
    let never_ran = state.is_none_or(|s| {
        s.get("containerID").is_none() && s.get("restartCount").and_then(Value::as_u64).unwrap_or(0) == 0
    });
    if !opts.previous && never_ran {
        let reason = waiting.unwrap_or("ContainerCreating");
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    let query = LogQuery {
        tail_lines: opts.tail_lines.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        since: opts.since_time.or_else(|| {
            opts.since_seconds.map(|s| {
                chrono::Utc::now() - chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
            })
        }),
        timestamps: opts.timestamps,
        limit_bytes: opts.limit_bytes,
        previous: opts.previous,
    };
    let runtime = agent.inner.runtime.clone();
    let uid = meta::uid(&pod).to_string();
    let live = agent.inner.pods.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&uid).cloned();
    if !opts.follow || opts.previous || live.is_none() {
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            runtime.read_logs(&uid, &container, &query, &mut out).map(|_| out)
        });
        let bytes = read.await.map_err(|e| ApiError::internal(e.to_string()))?.map_err(log_error)?;
        return Ok(futures::stream::once(async move { Ok(Bytes::from(bytes)) }).boxed());
    }
    let mut live = live.expect("checked above");
    let (writer, reader) = tokio::io::duplex(64 * 1024);
    let dir = runtime.log_dir(&uid, &container);
    let max_files = runtime.config().logs.max_files;
    tokio::spawn(async move {
        let mut writer = writer;
        let current_run = run_of(&live.borrow(), &container);
        let name = container.clone();
        let until = async move {
            let _ = live.wait_for(|s| s.ended || run_of(s, &container) != current_run).await;
        };
        if let Err(e) =
            wasmkube_runtime::logs::follow_logs(&dir, &name, &query, max_files, &mut writer, until).await
        {
            tracing::debug!(error = %e, "log follow ended");
        }
    });
    Ok(read_chunks(reader))
}

/// Identifies one run of a container: its start time while it runs.
fn run_of(s: &PodStatus, container: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    match s.container(container).map(|c| &c.state) {
        Some(ContainerState::Running { started_at }) => Some(*started_at),
        _ => None,
    }
}

fn read_chunks(reader: tokio::io::DuplexStream) -> LogStream {
    use tokio::io::AsyncReadExt;
    futures::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 16 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    })
    .boxed()
}

fn log_error(e: wasmkube_runtime::runtime::Error) -> ApiError {
    match e {
        wasmkube_runtime::runtime::Error::Logs(wasmkube_runtime::logs::Error::NotFound(c)) => {
            ApiError::bad_request(format!("no logs for container \"{c}\" yet"))
        }
        other => ApiError::internal(other.to_string()),
    }
}
