//! `wasmkube scale KIND/NAME --replicas N`: through the `/scale` subresource, so it works for
//! every kind that has one (Deployment, ReplicaSet, StatefulSet, ReplicationController).

use super::client::MERGE_PATCH;
use super::kubeconfig::ConnArgs;
use super::{Ctx, exit, report, target};
use anyhow::bail;
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ScaleArgs {
    /// TYPE NAME... or TYPE/NAME... (e.g. `deploy/web`).
    #[arg(required = true, value_name = "TYPE[/NAME]")]
    what: Vec<String>,
    /// The new number of replicas.
    #[arg(long)]
    replicas: u32,
    /// Only scale when the current number of replicas is this (a precondition).
    #[arg(long)]
    current_replicas: Option<u32>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn run(mut ctx: Ctx, args: ScaleArgs) -> anyhow::Result<ExitCode> {
    let targets = target::parse(ctx.discovery().await?, &args.what)?;
    if targets.iter().any(|t| t.name.is_none()) {
        bail!("scale needs the name of each object, e.g. `wasmkube scale deploy/web --replicas 3`");
    }
    if let Some(t) = targets.iter().find(|t| !t.resource.subresources.iter().any(|s| s == "scale")) {
        bail!("{} cannot be scaled: they have no scale subresource", t.resource.plural_ref());
    }
    let mut failed = false;
    for t in targets {
        let name = t.name.as_deref().unwrap_or_default();
        let path = format!("{}/scale", t.resource.object(ctx.namespace(), name));
        let result = async {
            if let Some(expected) = args.current_replicas {
                let scale = ctx.client.get(&path).await?;
                let now = scale["spec"]["replicas"].as_u64().unwrap_or(0);
                if now != u64::from(expected) {
                    bail!("Expected replicas to be {expected}, was {now}");
                }
            }
            let body = json!({"spec": {"replicas": args.replicas}}).to_string().into_bytes();
            ctx.client.patch(&path, MERGE_PATCH, body).await
        }
        .await;
        match result {
            Ok(_) => println!("{} scaled", target::object_ref(&t.resource, name)),
            Err(e) => {
                failed = true;
                report(&e);
            }
        }
    }
    Ok(exit(failed))
}
