//! `wasmkube image import|ls|rm`: manage the node's local image store (`DATA_DIR/images/`).
//! Safe while a server runs on the same data dir: the store locks its index.

use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use wasmkube_runtime::ImageStore;

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

#[derive(Subcommand, Debug)]
enum ImageCommand {
    /// Put wasm components into the image store (named FILE-STEM:latest unless --name is given).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// NAME[:TAG] for the image (only with a single file).
        #[arg(long)]
        name: Option<String>,
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
