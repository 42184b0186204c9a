//! The client verbs (`wasmkube get|describe|apply|delete|logs|scale|rollout|run`): a small,
//! honest kubectl for the everyday loop against a wasmkube (or any plain-http Kubernetes) API.
//!
//! Layout: [`kubeconfig`] finds the cluster, [`client`] speaks HTTP, [`discovery`] maps words
//! to resources, [`target`] reads the command line's objects and manifests, [`tabwriter`] lays
//! out text like kubectl; then one module per verb. Each verb is an async function over a
//! [`Ctx`] returning the process exit code.

mod apply;
mod client;
mod delete;
mod describe;
mod discovery;
mod get;
mod get_watch;
mod kubeconfig;
mod logs;
mod rollout;
mod rollout_status;
mod run;
mod scale;
mod table;
mod tabwriter;
mod target;
mod wait;

use clap::Subcommand;
use client::Client;
use discovery::Discovery;
use std::process::ExitCode;

pub use kubeconfig::ConnArgs;

#[derive(Subcommand)]
pub enum Verb {
    /// Display one or many resources as a table (or JSON, YAML, names); `-w` watches.
    Get(get::GetArgs),
    /// Show the details of a resource, with its events.
    Describe(describe::DescribeArgs),
    /// Create or update resources from manifests (server-side apply).
    Apply(apply::ApplyArgs),
    /// Delete resources by type and name, by label selector, or from manifests.
    Delete(delete::DeleteArgs),
    /// Print the logs of a container in a pod (or the first pod of a workload).
    Logs(logs::LogsArgs),
    /// Set the number of replicas of a Deployment, ReplicaSet or StatefulSet.
    Scale(scale::ScaleArgs),
    /// Manage the rollout of a Deployment, DaemonSet or StatefulSet.
    Rollout(rollout::RolloutArgs),
    /// Run a wasm image: a Deployment (default) or, with --restart=Never|OnFailure, a bare Pod.
    Run(run::RunArgs),
}

/// What every verb works with: the API client, and discovery once it has been loaded.
pub struct Ctx {
    pub client: Client,
    discovery: Option<Discovery>,
}

impl Ctx {
    fn new(conn: &ConnArgs) -> anyhow::Result<Self> {
        Ok(Ctx { client: Client::new(conn.resolve()?), discovery: None })
    }

    pub async fn discovery(&mut self) -> anyhow::Result<&Discovery> {
        if self.discovery.is_none() {
            self.discovery = Some(Discovery::load(&self.client).await?);
        }
        Ok(self.discovery.as_ref().expect("just loaded"))
    }

    pub fn namespace(&self) -> &str {
        self.client.namespace()
    }
}

pub fn run(verb: Verb) -> anyhow::Result<ExitCode> {
    // A CLI makes one request at a time; a single-threaded runtime starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match verb {
            Verb::Get(a) => get::run(Ctx::new(&a.conn)?, a).await,
            Verb::Describe(a) => describe::run(Ctx::new(&a.conn)?, a).await,
            Verb::Apply(a) => apply::run(Ctx::new(&a.conn)?, a).await,
            Verb::Delete(a) => delete::run(Ctx::new(&a.conn)?, a).await,
            Verb::Logs(a) => logs::run(Ctx::new(&a.conn)?, a).await,
            Verb::Scale(a) => scale::run(Ctx::new(&a.conn)?, a).await,
            Verb::Rollout(a) => rollout::run(Ctx::new(&a.conn)?, a).await,
            Verb::Run(a) => run::run(Ctx::new(&a.conn)?, a).await,
        }
    })
}

/// Report one error of several (kubectl goes on with the other objects, then exits 1).
pub fn report(e: &anyhow::Error) {
    eprintln!("wasmkube: {e:#}");
}

fn exit(failed: bool) -> ExitCode {
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
