//! `wasmkube apply -f`: server-side apply of every object in the manifests, reported as kubectl
//! does (`deployment.apps/web created|configured|unchanged`), going on past failed objects.

use super::client::{APPLY_PATCH, ApiStatus};
use super::discovery::Discovery;
use super::get::print_object;
use super::kubeconfig::ConnArgs;
use super::target::{object_ref, read_manifests};
use super::{Ctx, exit, report};
use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// Manifest file, directory of manifests, or `-` for stdin (repeatable).
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE|DIR|-")]
    files: Vec<String>,
    /// Take over fields another field manager owns instead of failing with a conflict.
    #[arg(long)]
    force_conflicts: bool,
    /// The field manager recorded for the applied fields.
    #[arg(long, default_value = "wasmkube")]
    field_manager: String,
    /// `server` asks the server to validate and default without persisting.
    #[arg(long, value_parser = ["none", "server"], default_value = "none")]
    dry_run: String,
    /// Print the applied objects instead of a line each.
    #[arg(short, long, value_parser = ["name", "json", "yaml"])]
    output: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Where one manifest object goes.
struct Placement {
    path: String,
    reference: String,
}

pub async fn run(mut ctx: Ctx, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let objects = read_manifests(&args.files)?;
    let default_ns = ctx.namespace().to_string();
    let disco = ctx.discovery().await?;
    let mut placed = Vec::new();
    // Resolve everything first so a typo in the last document fails before anything changes.
    for mut obj in objects {
        let at = place(disco, &args.conn, &default_ns, &mut obj)?;
        placed.push((at, obj));
    }
    let mut failed = false;
    for (at, obj) in placed {
        match apply_one(&ctx, &args, &at, &obj).await {
            Ok(line) => print_result(&args, &at, &line)?,
            Err(e) => {
                failed = true;
                report(&e.context(at.reference.clone()));
            }
        }
    }
    Ok(exit(failed))
}

/// Resolve the object's resource and namespace, and set the namespace in it.
fn place(disco: &Discovery, conn: &ConnArgs, default_ns: &str, obj: &mut Value) -> anyhow::Result<Placement> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    if api_version.is_empty() || kind.is_empty() {
        bail!(
            "every object needs apiVersion and kind; found one without (metadata.name {})",
            obj["metadata"]["name"]
        );
    }
    let r = disco.by_kind(&api_version, &kind)?;
    let name = obj["metadata"]["name"].as_str().filter(|n| !n.is_empty()).map(String::from);
    let Some(name) = name else {
        bail!("a {kind} without metadata.name cannot be applied (generateName needs create)")
    };
    let reference = object_ref(r, &name);
    if !r.namespaced {
        return Ok(Placement { path: r.object("", &name), reference });
    }
    let ns = match (obj["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()), &conn.namespace) {
        (Some(own), Some(flag)) if own != flag => bail!(
            "the namespace from the provided object \"{own}\" does not match the namespace \"{flag}\". You must pass '--namespace={own}' to perform this operation."
        ),
        (Some(own), _) => own.to_string(),
        (None, _) => default_ns.to_string(),
    };
    obj["metadata"]["namespace"] = json!(ns);
    Ok(Placement { path: r.object(&ns, &name), reference })
}

/// Apply one object; returns the applied object and the verb kubectl would print.
async fn apply_one(
    ctx: &Ctx,
    args: &ApplyArgs,
    at: &Placement,
    obj: &Value,
) -> anyhow::Result<(Value, &'static str)> {
    let before = ctx.client.get_opt(&at.path).await?;
    let mut query = vec![("fieldManager", args.field_manager.as_str())];
    query.push(("force", if args.force_conflicts { "true" } else { "false" }));
    if args.dry_run == "server" {
        query.push(("dryRun", "All"));
    }
    let url = format!("{}?{}", at.path, serde_urlencoded::to_string(&query).context("encoding the query")?);
    let body = serde_json::to_vec(obj).context("encoding the manifest")?;
    let (_, after) =
        ctx.client.patch(&url, APPLY_PATCH, body).await.map_err(|e| match e.downcast::<ApiStatus>() {
            Ok(s) if s.code == 409 => {
                anyhow!("{} (apply with --force-conflicts to take these fields over)", s.message)
            }
            Ok(s) => s.into(),
            Err(e) => e,
        })?;
    let rv = |o: &Value| o["metadata"]["resourceVersion"].as_str().map(String::from);
    let verb = match before {
        None => "created",
        Some(b) if rv(&b) == rv(&after) => "unchanged",
        Some(_) => "configured",
    };
    Ok((after, verb))
}

fn print_result(args: &ApplyArgs, at: &Placement, (obj, verb): &(Value, &str)) -> anyhow::Result<()> {
    let dry = if args.dry_run == "server" { " (server dry run)" } else { "" };
    match args.output.as_deref() {
        Some("name") => println!("{}", at.reference),
        Some(format) => print_object(&mut std::io::stdout().lock(), obj, format == "yaml")?,
        None => println!("{} {verb}{dry}", at.reference),
    }
    Ok(())
}
