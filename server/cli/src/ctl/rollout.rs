//! `wasmkube rollout status|restart|undo|history|pause|resume`. Undo and history work client-side
//! from the Deployment's ReplicaSets and their `deployment.kubernetes.io/revision` annotations,
//! exactly as kubectl 1.32 does.

use super::client::{JSON_PATCH, MERGE_PATCH};
use super::discovery::ApiResource;
use super::kubeconfig::ConnArgs;
use super::rollout_status::follow;
use super::wait::parse_duration;
use super::{Ctx, tabwriter, target};
use anyhow::bail;
use clap::{ArgAction, Subcommand};
use serde_json::{Value, json};
use std::process::ExitCode;

const REVISION: &str = "deployment.kubernetes.io/revision";

#[derive(clap::Args)]
pub struct RolloutArgs {
    #[command(subcommand)]
    command: RolloutCommand,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Subcommand)]
enum RolloutCommand {
    /// Follow a rollout until it finishes (exit 0), fails or times out.
    Status {
        #[arg(value_name = "TYPE/NAME", num_args = 1..=2, required = true)]
        what: Vec<String>,
        /// Give up after this long (0: wait forever).
        #[arg(long, default_value = "0s")]
        timeout: String,
        /// Keep watching until the rollout ends (`--watch=false` reports once).
        #[arg(short, long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
        watch: bool,
    },
    /// Restart every pod through a new rollout (sets the restartedAt template annotation).
    Restart {
        #[arg(value_name = "TYPE/NAME", required = true)]
        what: Vec<String>,
    },
    /// Roll a Deployment back to its previous (or a given) revision.
    Undo {
        #[arg(value_name = "TYPE/NAME", num_args = 1..=2, required = true)]
        what: Vec<String>,
        /// The revision to go back to (0: the one before the current).
        #[arg(long, default_value_t = 0)]
        to_revision: i64,
    },
    /// List a Deployment's revisions, or show one with --revision.
    History {
        #[arg(value_name = "TYPE/NAME", num_args = 1..=2, required = true)]
        what: Vec<String>,
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Stop a Deployment's rollouts until resumed.
    Pause {
        #[arg(value_name = "TYPE/NAME", required = true)]
        what: Vec<String>,
    },
    /// Let a paused Deployment roll out again.
    Resume {
        #[arg(value_name = "TYPE/NAME", required = true)]
        what: Vec<String>,
    },
}

pub async fn run(mut ctx: Ctx, args: RolloutArgs) -> anyhow::Result<ExitCode> {
    let what = match &args.command {
        RolloutCommand::Status { what, .. }
        | RolloutCommand::Restart { what }
        | RolloutCommand::Undo { what, .. }
        | RolloutCommand::History { what, .. }
        | RolloutCommand::Pause { what }
        | RolloutCommand::Resume { what } => what.clone(),
    };
    let targets = target::parse(ctx.discovery().await?, &what)?;
    let mut objects = Vec::new();
    for t in targets {
        let Some(name) = t.name else { bail!("rollout needs TYPE/NAME, e.g. deploy/web") };
        if !matches!(t.resource.kind.as_str(), "Deployment" | "DaemonSet" | "StatefulSet") {
            bail!(
                "rollout is not supported for {} (only deployments, daemonsets, statefulsets)",
                t.resource.plural
            );
        }
        objects.push((t.resource, name));
    }
    for (r, name) in &objects {
        match &args.command {
            RolloutCommand::Status { timeout, watch, .. } => {
                let t = parse_duration(timeout)?;
                follow(&ctx, r, name, (!t.is_zero()).then_some(t), *watch).await?;
            }
            RolloutCommand::Restart { .. } => restart(&ctx, r, name).await?,
            RolloutCommand::Undo { to_revision, .. } => undo(&ctx, r, name, *to_revision).await?,
            RolloutCommand::History { revision, .. } => history(&ctx, r, name, *revision).await?,
            RolloutCommand::Pause { .. } => set_paused(&ctx, r, name, true).await?,
            RolloutCommand::Resume { .. } => set_paused(&ctx, r, name, false).await?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn restart(ctx: &Ctx, r: &ApiResource, name: &str) -> anyhow::Result<()> {
    let path = r.object(ctx.namespace(), name);
    let obj = ctx.client.get(&path).await?;
    if obj["spec"]["paused"] == true {
        bail!("{} \"{name}\" can't restart paused deployment (run rollout resume first)", r.plural_ref());
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}});
    ctx.client.patch(&path, MERGE_PATCH, patch.to_string().into_bytes()).await?;
    println!("{} restarted", target::object_ref(r, name));
    Ok(())
}

async fn set_paused(ctx: &Ctx, r: &ApiResource, name: &str, paused: bool) -> anyhow::Result<()> {
    if r.kind != "Deployment" {
        bail!("pause and resume are only supported for deployments");
    }
    let path = r.object(ctx.namespace(), name);
    let patch = json!({"spec": {"paused": paused}}).to_string().into_bytes();
    ctx.client.patch(&path, MERGE_PATCH, patch).await?;
    println!("{} {}", target::object_ref(r, name), if paused { "paused" } else { "resumed" });
    Ok(())
}

/// The Deployment and the ReplicaSets it controls, with their revisions, oldest first.
async fn revisions(ctx: &Ctx, r: &ApiResource, name: &str) -> anyhow::Result<(Value, Vec<(i64, Value)>)> {
    if r.kind != "Deployment" {
        bail!("undo and history are only supported for deployments here (use kubectl for {})", r.plural);
    }
    let deployment = ctx.client.get(&r.object(ctx.namespace(), name)).await?;
    let uid = deployment["metadata"]["uid"].clone();
    let selector = super::logs::selector_string(&deployment["spec"]["selector"]).unwrap_or_default();
    let query = serde_urlencoded::to_string([("labelSelector", selector)])?;
    let list =
        ctx.client.get(&format!("/apis/apps/v1/namespaces/{}/replicasets?{query}", ctx.namespace())).await?;
    let mut owned: Vec<(i64, Value)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["controller"] == true && o["uid"] == uid)
        })
        .filter_map(|rs| {
            let rev = rs["metadata"]["annotations"][REVISION].as_str()?.parse().ok()?;
            Some((rev, rs.clone()))
        })
        .collect();
    owned.sort_by_key(|(rev, _)| *rev);
    Ok((deployment, owned))
}

/// A pod template without the controller's `pod-template-hash` label, for comparing and copying.
fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    t
}

async fn undo(ctx: &Ctx, r: &ApiResource, name: &str, to_revision: i64) -> anyhow::Result<()> {
    let (deployment, history) = revisions(ctx, r, name).await?;
    if deployment["spec"]["paused"] == true {
        bail!(
            "you cannot rollback a paused deployment; resume it first with 'wasmkube rollout resume' and try again"
        );
    }
    let chosen = if to_revision > 0 {
        history.iter().find(|(rev, _)| *rev == to_revision)
    } else {
        // The newest is the current revision; the one before it is where undo goes.
        history.len().checked_sub(2).map(|i| &history[i])
    };
    let Some((rev, rs)) = chosen else {
        if to_revision > 0 {
            bail!("unable to find specified revision {to_revision} in history");
        }
        bail!("no rollout history found for deployment \"{name}\"");
    };
    let template = without_hash(&rs["spec"]["template"]);
    if template == without_hash(&deployment["spec"]["template"]) {
        println!(
            "{} skipped rollback (current template already matches revision {rev})",
            target::object_ref(r, name)
        );
        return Ok(());
    }
    let patch = json!([
        {"op": "add", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": rollback_annotations(&deployment, rs)},
    ]);
    ctx.client.patch(&r.object(ctx.namespace(), name), JSON_PATCH, patch.to_string().into_bytes()).await?;
    println!("{} rolled back", target::object_ref(r, name));
    Ok(())
}

/// kubectl's rule: the Deployment keeps its own bookkeeping annotations and takes every other
/// annotation from the ReplicaSet it rolls back to.
fn rollback_annotations(deployment: &Value, rs: &Value) -> Value {
    const OWN: [&str; 6] = [
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    ];
    let mut out = serde_json::Map::new();
    for (k, v) in deployment["metadata"]["annotations"].as_object().into_iter().flatten() {
        if OWN.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in rs["metadata"]["annotations"].as_object().into_iter().flatten() {
        if !OWN.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

async fn history(ctx: &Ctx, r: &ApiResource, name: &str, revision: Option<i64>) -> anyhow::Result<()> {
    let (_, history) = revisions(ctx, r, name).await?;
    let reference = target::object_ref(r, name);
    if let Some(want) = revision {
        let Some((_, rs)) = history.iter().find(|(rev, _)| *rev == want) else {
            bail!("unable to find the specified revision");
        };
        let template = super::describe::pod_template_text(&rs["spec"]["template"]);
        println!("{reference} with revision #{want}\n{template}");
        return Ok(());
    }
    if history.is_empty() {
        println!("No rollout history found.");
        return Ok(());
    }
    let mut text = String::from("REVISION\tCHANGE-CAUSE\n");
    for (rev, rs) in &history {
        let cause = rs["metadata"]["annotations"]["kubernetes.io/change-cause"].as_str().unwrap_or("<none>");
        text.push_str(&format!("{rev}\t{cause}\n"));
    }
    println!("{reference} \n{}", tabwriter::align(&text, 0, 2));
    Ok(())
}
