//! `wasmkube`: one binary for the whole cluster.
//!
//! Only this crate reads flags and environment variables and installs the tracing subscriber;
//! everything below takes its configuration as plain structs.

mod ctl;
mod image;
mod play;
mod server;
mod signals;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "wasmkube",
    version,
    about = "A Kubernetes-style orchestrator whose pods hold WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a complete single-node cluster with its state in one data directory.
    Server(server::ServerArgs),
    /// Manage the node's local image store (wasm components).
    Image(image::ImageArgs),
    /// Run the pods of a manifest in the foreground, without a cluster.
    Play(play::PlayArgs),
    /// Client verbs against a cluster's API (get, describe, apply, delete, logs, scale, rollout, run).
    #[command(flatten)]
    Ctl(ctl::Verb),
}

/// Every running HTTP pod holds a listening socket and a log file, so a dense node needs far
/// more descriptors than the usual soft limit (1024, or 20k here): raise the soft limit to the
/// hard one, and as root the hard one too, up to what the kernel allows (as Go runtimes and
/// container runtimes do at start).
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let kernel_max = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    let wanted = kernel_max.min(1 << 20);
    let raised = Rlimit { current: Some(wanted), maximum: Some(wanted) };
    if setrlimit(Resource::Nofile, raised).is_err() {
        let to_hard = Rlimit { current: current.maximum, maximum: current.maximum };
        if let Err(e) = setrlimit(Resource::Nofile, to_hard) {
            tracing::debug!(error = %e, "could not raise the open-file limit");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Client-style commands keep stderr for what the user asked for; the server narrates.
    let default_filter = if matches!(cli.command, Command::Server(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    raise_open_file_limit();
    let result = match cli.command {
        Command::Server(args) => server::run(args).map(|()| ExitCode::SUCCESS),
        Command::Image(args) => image::run(args).map(|()| ExitCode::SUCCESS),
        Command::Play(args) => play::run(args),
        Command::Ctl(verb) => ctl::run(verb),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasmkube: {e:#}");
            ExitCode::FAILURE
        }
    }
}
