//! `wasmkube logs`: a container's output streamed from `pods/NAME/log`. For `deploy/NAME`,
//! `job/NAME` and the other workloads it picks one pod by the owner's selector, preferring the
//! one kubectl would (scheduled, running, ready, oldest).

use super::kubeconfig::ConnArgs;
use super::wait::parse_duration;
use super::{Ctx, target};
use anyhow::{Context, bail};
use serde_json::Value;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LogsArgs {
    /// POD, pod/NAME, or a workload: deploy/NAME, rs/NAME, job/NAME, sts/NAME, ds/NAME.
    #[arg(value_name = "POD|TYPE/NAME")]
    target: String,
    /// The container (as a second argument, like kubectl's `logs POD CONTAINER`).
    #[arg(value_name = "CONTAINER")]
    container_arg: Option<String>,
    /// The container (default: the pod's default-container annotation, else the first).
    #[arg(short, long)]
    container: Option<String>,
    /// Keep streaming new output.
    #[arg(short, long)]
    follow: bool,
    /// Only the last N lines (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    tail: i64,
    /// Only output newer than this, e.g. 30s, 5m, 1h.
    #[arg(long)]
    since: Option<String>,
    /// Only output after this RFC 3339 time.
    #[arg(long)]
    since_time: Option<String>,
    /// Prefix each line with its RFC 3339 timestamp.
    #[arg(long)]
    timestamps: bool,
    /// The previous (terminated) instance of the container.
    #[arg(short, long)]
    previous: bool,
    /// Stop after this many bytes.
    #[arg(long)]
    limit_bytes: Option<u64>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn run(mut ctx: Ctx, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let pod = find_pod(&mut ctx, &args.target).await?;
    let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let container = args.container.clone().or(args.container_arg.clone()).or_else(|| default_container(&pod));
    let mut query: Vec<(&str, String)> = Vec::new();
    query.extend(container.map(|c| ("container", c)));
    for (flag, key) in [(args.follow, "follow"), (args.timestamps, "timestamps"), (args.previous, "previous")]
    {
        if flag {
            query.push((key, "true".into()));
        }
    }
    if args.tail >= 0 {
        query.push(("tailLines", args.tail.to_string()));
    }
    if let Some(s) = &args.since {
        query.push(("sinceSeconds", parse_duration(s)?.as_secs().max(1).to_string()));
    }
    query.extend(args.since_time.clone().map(|t| ("sinceTime", t)));
    query.extend(args.limit_bytes.map(|b| ("limitBytes", b.to_string())));
    let path = format!(
        "/api/v1/namespaces/{}/pods/{name}/log?{}",
        ctx.namespace(),
        serde_urlencoded::to_string(&query).context("encoding the query")?
    );
    let mut body = ctx.client.stream(&path, "text/plain, */*").await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = body.chunk().await? {
        // A reader that went away (`| head`) is the end, not an error.
        if out.write_all(&chunk).and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// kubectl 1.32 picks the first container of a multi-container pod and says so.
fn default_container(pod: &Value) -> Option<String> {
    let annotated = pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].as_str();
    let names: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    if names.len() <= 1 || annotated.is_some() {
        return annotated.map(String::from);
    }
    eprintln!("Defaulted container \"{}\" out of: {}", names[0], names.join(", "));
    Some(names[0].to_string())
}

async fn find_pod(ctx: &mut Ctx, target: &str) -> anyhow::Result<Value> {
    let Some((kind, name)) = target.split_once('/') else {
        return ctx.client.get(&format!("/api/v1/namespaces/{}/pods/{target}", ctx.namespace())).await;
    };
    let r = ctx.discovery().await?.resolve(kind)?.clone();
    let owner = ctx.client.get(&r.object(ctx.namespace(), name)).await?;
    if r.kind == "Pod" {
        return Ok(owner);
    }
    let selector = selector_string(&owner["spec"]["selector"]).with_context(|| {
        format!("{} has no pod selector to find its pods by", target::object_ref(&r, name))
    })?;
    let query = serde_urlencoded::to_string([("labelSelector", &selector)])?;
    let list = ctx.client.get(&format!("/api/v1/namespaces/{}/pods?{query}", ctx.namespace())).await?;
    let mut pods = list["items"].as_array().cloned().unwrap_or_default();
    if pods.is_empty() {
        bail!("no pods found for {} (selector {selector})", target::object_ref(&r, name));
    }
    pods.sort_by_key(logging_rank);
    if pods.len() > 1 {
        eprintln!(
            "Found {} pods, using pod/{}",
            pods.len(),
            pods[0]["metadata"]["name"].as_str().unwrap_or("")
        );
    }
    Ok(pods.swap_remove(0))
}

/// Lower is better: scheduled, then Running, then ready, then the oldest.
fn logging_rank(pod: &Value) -> (bool, u8, bool, String) {
    let phase = match pod["status"]["phase"].as_str() {
        Some("Running") => 0,
        Some("Unknown") => 1,
        Some("Pending") => 3,
        _ => 2,
    };
    let ready = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let scheduled = pod["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty());
    let created = pod["metadata"]["creationTimestamp"].as_str().unwrap_or("").to_string();
    (!scheduled, phase, !ready, created)
}

/// A LabelSelector (or an RC's plain map) as a query string selector.
pub fn selector_string(sel: &Value) -> Option<String> {
    let map = sel.as_object()?;
    let mut parts = Vec::new();
    let labels = if map.contains_key("matchLabels") || map.contains_key("matchExpressions") {
        sel["matchLabels"].as_object().cloned().unwrap_or_default()
    } else {
        map.clone()
    };
    for (k, v) in &labels {
        parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> =
            e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    (!parts.is_empty()).then(|| parts.join(","))
}
