//! `wasmkube describe`: kubectl's readable summaries for pods ([`pod`]), Deployments,
//! ReplicaSets and Jobs ([`workload`]), a generic dump for anything else, and the object's
//! Events at the end of each.

mod config;
mod pod;
mod workload;

use super::kubeconfig::ConnArgs;
use super::table::labels;
use super::{Ctx, exit, report, tabwriter, target};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DescribeArgs {
    /// TYPE [NAME...] or TYPE/NAME... (no name: every object of the type).
    #[arg(required = true, value_name = "TYPE[/NAME]")]
    what: Vec<String>,
    /// With no name, only the objects matching this label selector.
    #[arg(short = 'l', long)]
    selector: Option<String>,
    /// With no name, across all namespaces.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn run(mut ctx: Ctx, args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let targets = target::parse(ctx.discovery().await?, &args.what)?;
    let mut objects = Vec::new();
    let mut failed = false;
    for t in targets {
        let result = match &t.name {
            Some(n) => ctx.client.get(&t.resource.object(ctx.namespace(), n)).await.map(|o| vec![o]),
            None => {
                let scope = (!args.all_namespaces).then(|| ctx.namespace());
                let query = serde_urlencoded::to_string([(
                    "labelSelector",
                    args.selector.clone().unwrap_or_default(),
                )])?;
                let list = ctx.client.get(&format!("{}?{query}", t.resource.collection(scope))).await;
                list.map(|l| l["items"].as_array().cloned().unwrap_or_default())
            }
        };
        match result {
            Ok(found) => objects.extend(found.into_iter().map(|o| (t.resource.kind.clone(), o))),
            Err(e) => {
                failed = true;
                report(&e);
            }
        }
    }
    if objects.is_empty() && !failed {
        match args.all_namespaces {
            true => eprintln!("No resources found"),
            false => eprintln!("No resources found in {} namespace.", ctx.namespace()),
        }
    }
    for (i, (kind, obj)) in objects.iter().enumerate() {
        let mut w = Writer::default();
        match kind.as_str() {
            "Pod" => pod::describe(&mut w, obj),
            "Deployment" | "ReplicaSet" | "ReplicationController" | "StatefulSet" | "DaemonSet" => {
                workload::describe(&ctx, &mut w, kind, obj).await?;
            }
            "Job" => workload::describe_job(&mut w, obj),
            "ConfigMap" | "Secret" => config::describe(&mut w, obj),
            _ => generic(&mut w, obj),
        }
        // kubectl shows no events for Secrets.
        if kind != "Secret" {
            events(&ctx, &mut w, obj).await;
        }
        if i > 0 {
            println!("\n");
        }
        print!("{}", w.finish());
    }
    Ok(exit(failed))
}

/// A pod template as describe lays it out (`rollout history --revision` shows it so too).
pub fn pod_template_text(template: &Value) -> String {
    let mut w = Writer::default();
    workload::pod_template(&mut w, template);
    w.finish()
}

/// kubectl's describe output: `Key:\tvalue` lines, two spaces per level, aligned by tabwriter.
#[derive(Default)]
pub struct Writer {
    text: String,
}

impl Writer {
    pub fn kv(&mut self, level: usize, key: &str, value: impl std::fmt::Display) {
        self.text.push_str(&format!("{:indent$}{key}:\t{value}\n", "", indent = level * 2));
    }

    pub fn line(&mut self, level: usize, text: impl std::fmt::Display) {
        self.text.push_str(&format!("{:indent$}{text}\n", "", indent = level * 2));
    }

    /// A key whose values go one per line, the first beside the key (Labels, Annotations).
    pub fn list(&mut self, level: usize, key: &str, values: &[String]) {
        let Some((first, rest)) = values.split_first() else {
            return self.kv(level, key, "<none>");
        };
        self.kv(level, key, first);
        for v in rest {
            self.text.push_str(&format!("{:indent$}\t{v}\n", "", indent = level * 2));
        }
    }

    fn finish(self) -> String {
        tabwriter::align(&self.text, 0, 2)
    }
}

/// Name, namespace, labels and annotations, as every describer starts.
pub fn header(w: &mut Writer, obj: &Value) {
    let meta = &obj["metadata"];
    w.kv(0, "Name", str_or(&meta["name"], ""));
    if let Some(ns) = meta["namespace"].as_str() {
        w.kv(0, "Namespace", ns);
    }
    labels_and_annotations(w, meta);
}

/// The Labels and Annotations lines of `meta` (last-applied-configuration left out, as kubectl does).
pub fn labels_and_annotations(w: &mut Writer, meta: &Value) {
    let labels: Vec<String> = labels(&meta["labels"]).split(',').map(String::from).collect();
    w.list(0, "Labels", &labels);
    let annotations: Vec<String> = meta["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
        .collect();
    w.list(0, "Annotations", &annotations);
}

pub fn str_or<'a>(v: &'a Value, default: &'a str) -> &'a str {
    v.as_str().filter(|s| !s.is_empty()).unwrap_or(default)
}

/// RFC 3339 as kubectl shows times (Go's RFC1123Z): `Mon, 02 Jan 2006 15:04:05 +0000`.
pub fn time(v: &Value) -> String {
    match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(t) => t.format("%a, %d %b %Y %H:%M:%S %z").to_string(),
        None => "<unknown>".to_string(),
    }
}

pub fn age(v: &Value) -> String {
    match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(t) => wasmkube_printers::human_duration(Utc::now() - t.with_timezone(&Utc)),
        None => "<unknown>".to_string(),
    }
}

/// Anything without its own describer: metadata, then every other field as nested keys.
fn generic(w: &mut Writer, obj: &Value) {
    header(w, obj);
    for (k, v) in obj.as_object().into_iter().flatten() {
        if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            dump(w, 0, &capitalize(k), v);
        }
    }
}

fn dump(w: &mut Writer, level: usize, key: &str, v: &Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            w.line(level, format!("{key}:"));
            map.iter().for_each(|(k, v)| dump(w, level + 1, &capitalize(k), v));
        }
        Value::Array(items) if !items.is_empty() => {
            w.line(level, format!("{key}:"));
            for item in items {
                match item {
                    Value::Object(_) => {
                        w.line(level + 1, "-");
                        dump_fields(w, level + 2, item);
                    }
                    other => w.line(level + 1, scalar(other)),
                }
            }
        }
        other => w.kv(level, key, scalar(other)),
    }
}

fn dump_fields(w: &mut Writer, level: usize, v: &Value) {
    v.as_object().into_iter().flatten().for_each(|(k, v)| dump(w, level, &capitalize(k), v));
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) if s.contains('\n') => format!("\n{s}").replace('\t', "    "),
        Value::String(s) => s.replace('\t', "    "),
        Value::Null => "<none>".into(),
        Value::Object(_) | Value::Array(_) => "<none>".into(),
        other => other.to_string(),
    }
}

fn capitalize(k: &str) -> String {
    let mut c = k.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The object's Events, oldest first, as kubectl's table (or `Events: <none>`).
async fn events(ctx: &Ctx, w: &mut Writer, obj: &Value) {
    let Some(uid) = obj["metadata"]["uid"].as_str() else { return };
    let base = match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("/api/v1/namespaces/{ns}/events"),
        None => "/api/v1/events".to_string(),
    };
    let query = serde_urlencoded::to_string([("fieldSelector", format!("involvedObject.uid={uid}"))])
        .unwrap_or_default();
    let mut items = match ctx.client.get(&format!("{base}?{query}")).await {
        Ok(list) => list["items"].as_array().cloned().unwrap_or_default(),
        // Events are a bonus: a describe without them still says what it knows.
        Err(_) => Vec::new(),
    };
    if items.is_empty() {
        return w.kv(0, "Events", "<none>");
    }
    items.sort_by_key(|e| last_seen(e).as_str().unwrap_or_default().to_string());
    w.line(0, "Events:");
    w.line(1, "Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in &items {
        let count = e["count"].as_i64().or(e["series"]["count"].as_i64()).unwrap_or(1);
        let mut when = age(last_seen(e));
        if count > 1 {
            let first = if e["firstTimestamp"].is_string() { &e["firstTimestamp"] } else { &e["eventTime"] };
            when = format!("{when} (x{count} over {})", age(first));
        }
        let from = str_or(&e["source"]["component"], str_or(&e["reportingComponent"], ""));
        let message = str_or(&e["message"], "").trim().replace('\n', " ");
        w.line(
            1,
            format!("{}\t{}\t{when}\t{from}\t{message}", str_or(&e["type"], ""), str_or(&e["reason"], "")),
        );
    }
}

fn last_seen(e: &Value) -> &Value {
    for key in ["lastTimestamp", "eventTime", "firstTimestamp"] {
        if e[key].is_string() {
            return &e[key];
        }
    }
    &e["metadata"]["creationTimestamp"]
}
