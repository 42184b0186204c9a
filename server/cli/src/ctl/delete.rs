//! `wasmkube delete`: by type and names, by label selector (or `--all`), or the objects of
//! manifests; then, like kubectl, wait until they are really gone (finalizers, graceful
//! termination, foreground cascades all take time).

use super::client::is_not_found;
use super::discovery::ApiResource;
use super::kubeconfig::ConnArgs;
use super::target::{self, read_manifests};
use super::wait::{parse_duration, until_gone};
use super::{Ctx, exit, report};
use anyhow::bail;
use clap::ArgAction;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct DeleteArgs {
    /// TYPE NAME..., TYPE/NAME..., or TYPE with -l / --all.
    #[arg(value_name = "TYPE[/NAME]")]
    what: Vec<String>,
    /// Delete the objects of these manifests.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-")]
    files: Vec<String>,
    /// Delete the objects matching this label selector.
    #[arg(short = 'l', long)]
    selector: Option<String>,
    /// Delete every object of the type in the namespace.
    #[arg(long)]
    all: bool,
    /// With -l or --all, across all namespaces.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// A missing object is not an error.
    #[arg(long)]
    ignore_not_found: bool,
    /// Wait until the objects are gone (`--wait=false` returns at once).
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    wait: bool,
    /// Seconds a pod gets to stop; -1 uses the object's own (terminationGracePeriodSeconds).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    grace_period: i64,
    /// Stop at once: the same as --grace-period=1.
    #[arg(long)]
    now: bool,
    /// What happens to dependents: deleted in the background, deleted first (foreground), or kept.
    #[arg(long, default_value = "background", value_parser = ["background", "foreground", "orphan"])]
    cascade: String,
    /// How long --wait waits (0: no limit).
    #[arg(long, default_value = "0s")]
    timeout: String,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// One object to delete.
struct Victim {
    resource: ApiResource,
    namespace: String,
    name: String,
}

pub async fn run(mut ctx: Ctx, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let timeout = match parse_duration(&args.timeout)? {
        d if d.is_zero() => Duration::from_secs(7 * 24 * 3600),
        d => d,
    };
    let victims = victims(&mut ctx, &args).await?;
    if victims.is_empty() {
        eprintln!("No resources found");
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    let mut deleted = Vec::new();
    for v in &victims {
        let path = v.resource.object(&v.namespace, &v.name);
        match ctx.client.delete(&path, &options(&args)).await {
            Ok(answer) => {
                println!("{} \"{}\" deleted", v.resource.kind_ref(), v.name);
                let uid = answer["metadata"]["uid"].as_str().or(answer["details"]["uid"].as_str());
                deleted.push((path, uid.unwrap_or_default().to_string(), v));
            }
            Err(e) if is_not_found(&e) && args.ignore_not_found => {}
            Err(e) => {
                failed = true;
                report(&e);
            }
        }
    }
    if args.wait {
        for (path, uid, v) in deleted {
            if !until_gone(&ctx, &path, &uid, timeout).await? {
                failed = true;
                eprintln!(
                    "wasmkube: timed out waiting for {} \"{}\" to be deleted",
                    v.resource.plural_ref(),
                    v.name
                );
            }
        }
    }
    Ok(exit(failed))
}

/// The DeleteOptions body.
fn options(args: &DeleteArgs) -> Value {
    let policy = match args.cascade.as_str() {
        "foreground" => "Foreground",
        "orphan" => "Orphan",
        _ => "Background",
    };
    let mut o = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
    let grace = if args.now { 1 } else { args.grace_period };
    if grace >= 0 {
        o["gracePeriodSeconds"] = json!(grace);
    }
    o
}

async fn victims(ctx: &mut Ctx, args: &DeleteArgs) -> anyhow::Result<Vec<Victim>> {
    let ns = ctx.namespace().to_string();
    if !args.files.is_empty() {
        if !args.what.is_empty() {
            bail!("give either -f or resource names, not both");
        }
        let disco = ctx.discovery().await?;
        let mut out = Vec::new();
        for obj in read_manifests(&args.files)? {
            let r = disco
                .by_kind(obj["apiVersion"].as_str().unwrap_or(""), obj["kind"].as_str().unwrap_or(""))?;
            let namespace = obj["metadata"]["namespace"].as_str().unwrap_or(&ns).to_string();
            let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
            out.push(Victim { resource: r.clone(), namespace, name });
        }
        return Ok(out);
    }
    if args.what.is_empty() {
        bail!(
            "you must provide one or more resources by argument or filename (e.g. `wasmkube delete pod web` or `-f app.yaml`)"
        );
    }
    let targets = target::parse(ctx.discovery().await?, &args.what)?;
    let by_name = targets.iter().any(|t| t.name.is_some());
    if by_name && (args.selector.is_some() || args.all) {
        bail!("name cannot be provided when a selector or --all is specified");
    }
    if by_name {
        let named = targets.into_iter().map(|t| Victim {
            resource: t.resource,
            namespace: ns.clone(),
            name: t.name.unwrap_or_default(),
        });
        return Ok(named.collect());
    }
    if args.selector.is_none() && !args.all {
        bail!("resource(s) were provided, but no name was specified: give names, -l SELECTOR or --all");
    }
    let mut out = Vec::new();
    for t in targets {
        let scope = (!args.all_namespaces).then_some(ns.as_str());
        let query =
            serde_urlencoded::to_string([("labelSelector", args.selector.clone().unwrap_or_default())])?;
        let list = ctx.client.get(&format!("{}?{query}", t.resource.collection(scope))).await?;
        for item in list["items"].as_array().into_iter().flatten() {
            let meta = &item["metadata"];
            out.push(Victim {
                resource: t.resource.clone(),
                namespace: meta["namespace"].as_str().unwrap_or_default().to_string(),
                name: meta["name"].as_str().unwrap_or_default().to_string(),
            });
        }
    }
    Ok(out)
}
