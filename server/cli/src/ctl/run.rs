//! `wasmkube run NAME --image=IMAGE`: the quickest way to get a wasm component running. By
//! default a Deployment (as `kubectl create deployment`: label `app=NAME`, container named after
//! the image); with `--restart=Never|OnFailure` a bare Pod (as `kubectl run`: label `run=NAME`).
//! Arguments after `--` become the component's argv (`args`).

use super::client::JSON;
use super::get::print_object;
use super::kubeconfig::ConnArgs;
use super::{Ctx, target};
use anyhow::{Context, bail};
use hyper::Method;
use serde_json::{Map, Value, json};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Name of the Deployment or Pod.
    name: String,
    /// The wasm image from the node's image store, e.g. `http-hello:latest`.
    #[arg(long)]
    image: String,
    /// How many pods the Deployment keeps running.
    #[arg(long, default_value_t = 1)]
    replicas: u32,
    /// The port the component listens on (containerPort).
    #[arg(long)]
    port: Option<u16>,
    /// Environment variables, `KEY=VALUE` (repeatable).
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Labels, `k=v,k2=v2` (default: app=NAME for a Deployment, run=NAME for a Pod).
    #[arg(short, long)]
    labels: Option<String>,
    /// `Always` makes a Deployment; `OnFailure` or `Never` a bare Pod.
    #[arg(long, default_value = "Always", value_parser = ["Always", "OnFailure", "Never"])]
    restart: String,
    /// `client` prints the object without sending it; `server` has the server check it only.
    #[arg(long, default_value = "none", value_parser = ["none", "client", "server"])]
    dry_run: String,
    /// Print the created object instead of a line.
    #[arg(short, long, value_parser = ["json", "yaml", "name"])]
    output: Option<String>,
    /// Arguments passed to the component (its argv after the program name).
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn run(mut ctx: Ctx, args: RunArgs) -> anyhow::Result<ExitCode> {
    refuse_local_file(&args.image)?;
    let deployment = args.restart == "Always";
    let obj = if deployment { deployment_object(&args)? } else { pod_object(&args)? };
    let disco = ctx.discovery().await?;
    let r =
        disco.by_kind(obj["apiVersion"].as_str().unwrap_or(""), obj["kind"].as_str().unwrap_or(""))?.clone();
    let created = match args.dry_run.as_str() {
        "client" => obj,
        dry => {
            let path = r.collection(Some(ctx.namespace()));
            let path = if dry == "server" { format!("{path}?dryRun=All") } else { path };
            let body = Some((JSON, serde_json::to_vec(&obj)?));
            ctx.client.call(Method::POST, &path, JSON, body).await?.1
        }
    };
    let reference = target::object_ref(&r, &args.name);
    match args.output.as_deref() {
        Some("name") => println!("{reference}"),
        Some(format) => print_object(&mut std::io::stdout().lock(), &created, format == "yaml")?,
        None => {
            let dry = match args.dry_run.as_str() {
                "client" => " (dry run)",
                "server" => " (server dry run)",
                _ => "",
            };
            println!("{reference} created{dry}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The image store is the node's: a path to a .wasm file here means nothing to the cluster.
fn refuse_local_file(image: &str) -> anyhow::Result<()> {
    let path = std::path::Path::new(image);
    if image.ends_with(".wasm") && path.is_file() {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("NAME");
        bail!(
            "--image={image} is a local file; pods run images from the node's store: import it with `wasmkube image import --data-dir DATA_DIR {image}` and run --image={stem}:latest"
        );
    }
    Ok(())
}

fn labels(args: &RunArgs, default_key: &str) -> anyhow::Result<Map<String, Value>> {
    let Some(spec) = &args.labels else {
        return Ok(Map::from_iter([(default_key.to_string(), json!(args.name))]));
    };
    spec.split(',')
        .map(|pair| {
            let (k, v) = pair.split_once('=').with_context(|| format!("label {pair:?} is not key=value"))?;
            Ok((k.trim().to_string(), json!(v.trim())))
        })
        .collect()
}

fn container(args: &RunArgs, name: &str) -> anyhow::Result<Value> {
    let mut c = json!({"name": name, "image": args.image});
    if let Some(p) = args.port {
        c["ports"] = json!([{"containerPort": p}]);
    }
    if !args.env.is_empty() {
        let env: anyhow::Result<Vec<Value>> = args
            .env
            .iter()
            .map(|e| {
                let (k, v) = e.split_once('=').with_context(|| format!("--env {e:?} is not KEY=VALUE"))?;
                Ok(json!({"name": k, "value": v}))
            })
            .collect();
        c["env"] = json!(env?);
    }
    if !args.args.is_empty() {
        c["args"] = json!(args.args);
    }
    Ok(c)
}

fn deployment_object(args: &RunArgs) -> anyhow::Result<Value> {
    let labels = labels(args, "app")?;
    Ok(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": args.name, "labels": labels},
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [container(args, &container_name(&args.image))?]}},
        },
    }))
}

fn pod_object(args: &RunArgs) -> anyhow::Result<Value> {
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": args.name, "labels": labels(args, "run")?},
        "spec": {"restartPolicy": args.restart, "containers": [container(args, &args.name)?]},
    }))
}

/// `registry/team/http-hello:v2` -> `http-hello`, as `kubectl create deployment` names it.
fn container_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let base = last.split(['@', ':']).next().unwrap_or(last);
    let name: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let name = name.trim_matches('-');
    if name.is_empty() { "app".into() } else { name.chars().take(63).collect() }
}

#[cfg(test)]
mod tests {
    use super::container_name;

    #[test]
    fn container_names_from_images() {
        assert_eq!(container_name("http-hello:latest"), "http-hello");
        assert_eq!(container_name("example.org:5000/team/My_App@sha256:ab"), "my-app");
    }
}
