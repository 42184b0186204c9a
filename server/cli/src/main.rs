//! `wasmkube`: one binary for the whole cluster.
//!
//! Only this crate reads flags and environment variables and installs the tracing subscriber;
//! everything below takes its configuration as plain structs.

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
    let result = match cli.command {
        Command::Server(args) => server::run(args).map(|()| ExitCode::SUCCESS),
        Command::Image(args) => image::run(args).map(|()| ExitCode::SUCCESS),
        Command::Play(args) => play::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wasmkube: {e:#}");
            ExitCode::FAILURE
        }
    }
}
