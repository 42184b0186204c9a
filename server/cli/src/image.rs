//! `wasmkube image import|pull|push|ls|rm`: manage the node's local image store
//! (`DATA_DIR/images/`) and exchange images with OCI registries. Safe while a server runs on
//! the same data dir: the store locks its index.

use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use wasmkube_runtime::ImageStore;
use wasmkube_runtime::registry::Credentials;

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Args, Debug)]
struct DataDir {
    /// The data directory of the node (the same as `wasmkube server --data-dir`).
    #[arg(long, env = "WASMKUBE_DATA_DIR", default_value = "wasmkube-data")]
    data_dir: PathBuf,
}

/// Registry credentials (or WASMKUBE_REGISTRY_USERNAME / WASMKUBE_REGISTRY_PASSWORD).
#[derive(Args, Debug)]
struct Login {
    #[arg(long, env = "WASMKUBE_REGISTRY_USERNAME")]
    username: Option<String>,
    #[arg(long, env = "WASMKUBE_REGISTRY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

impl Login {
    fn credentials(&self) -> anyhow::Result<Option<Credentials>> {
        match (&self.username, &self.password) {
            (Some(username), Some(password)) => {
                Ok(Some(Credentials { username: username.clone(), password: password.clone() }))
            }
            (None, None) => Ok(None),
            _ => bail!("give both --username and --password, or neither"),
        }
    }
}

fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future))
}

#[derive(Subcommand, Debug)]
enum ImageCommand {
    /// Put images into the store: wasm components (named FILE-STEM:latest unless --name is
    /// given), `docker save` tarballs and OCI layouts (named as their tags say).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// NAME[:TAG] for the image (only with a single file).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Pull an image (a container image or a wasm artifact) from its registry into the store.
    Pull {
        reference: String,
        #[command(flatten)]
        login: Login,
        #[command(flatten)]
        data: DataDir,
    },
    /// Publish a wasm component to a registry as an OCI artifact (layer
    /// application/vnd.wasm.content.layer.v1+wasm), and keep it in the local store under
    /// that name too.
    Push {
        file: PathBuf,
        reference: String,
        #[command(flatten)]
        login: Login,
        #[command(flatten)]
        data: DataDir,
    },
    /// List the images in the store.
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        data: DataDir,
    },
    /// Remove an image by NAME[:TAG] or digest.
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        references: Vec<String>,
        #[command(flatten)]
        data: DataDir,
    },
}

pub fn run(args: ImageArgs) -> anyhow::Result<()> {
    match args.command {
        ImageCommand::Import { files, name, data } => {
            if name.is_some() && files.len() > 1 {
                bail!("--name names one image; import the {} files one at a time", files.len());
            }
            let store = ImageStore::open(&data.data_dir)?;
            for file in &files {
                let info = store.import(file, name.as_deref())?;
                println!("{} {}", info.name, info.digest);
            }
        }
        ImageCommand::Pull { reference, login, data } => {
            let store = ImageStore::open(&data.data_dir)?;
            let credentials = login.credentials()?;
            let info = block_on(wasmkube_runtime::registry::pull(&store, &reference, credentials.as_ref()))??;
            println!("{} {}", info.name, info.digest);
        }
        ImageCommand::Push { file, reference, login, data } => {
            let credentials = login.credentials()?;
            let url = block_on(wasmkube_runtime::registry::push_component(
                &file,
                &reference,
                credentials.as_ref(),
            ))??;
            ImageStore::open(&data.data_dir)?.import(&file, Some(&reference))?;
            println!("pushed {} to {reference} ({url})", file.display());
        }
        ImageCommand::Ls { data } => {
            let store = ImageStore::open(&data.data_dir)?;
            println!("{:<40} {:<19} {:>10}", "NAME", "DIGEST", "SIZE");
            for info in store.list()? {
                let short = info.digest.get(..19).unwrap_or(&info.digest);
                println!("{:<40} {short:<19} {:>10}", info.name, info.size);
            }
        }
        ImageCommand::Rm { references, data } => {
            let store = ImageStore::open(&data.data_dir)?;
            for reference in &references {
                for info in store.remove(reference)? {
                    println!("removed {} {}", info.name, info.digest);
                }
            }
        }
    }
    Ok(())
}
