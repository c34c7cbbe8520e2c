//! `pairwise model …`: the models registry (register a model directory, list models).

use clap::Subcommand;
use pairwise_core::{requests::RegisterModel, Actor};
use pairwise_store::{models, DatabaseConnection};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Register a model directory (optimum layout) under a name; its files' hash is its version.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["generator", "judge", "reward", "reference"])]
        kind: String,
        /// cpu, cuda or auto.
        #[arg(long, default_value = "cpu")]
        device: String,
        dir: PathBuf,
    },
    /// List registered models with their versions.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ModelCommand,
) -> anyhow::Result<()> {
    match command {
        ModelCommand::Add {
            name,
            kind,
            device,
            dir,
        } => {
            let request = RegisterModel {
                name,
                kind,
                dir: dir.display().to_string(),
                device,
            };
            let view = pairwise_pipeline::models::register_model(db, actor, request).await?;
            println!(
                "registered {} ({}) version {}",
                view.name, view.kind, view.version
            );
        }
        ModelCommand::List { json } => {
            let list = models::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for m in list {
                    println!(
                        "{:<20} {:<10} {:<5} {}  {}",
                        m.name,
                        m.kind,
                        m.device,
                        &m.version[..12.min(m.version.len())],
                        m.path
                    );
                }
            }
        }
    }
    Ok(())
}
