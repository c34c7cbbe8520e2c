//! `pairwise model …`: the models registry (register a model directory or a model served by an
//! OpenAI-compatible server, list models).

use clap::Subcommand;
use pairwise_core::{
    requests::{RegisterModel, RemoteModelRequest},
    Actor,
};
use pairwise_store::{models, DatabaseConnection};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Register a model directory (optimum layout) under a name — its files' hash is its version —
    /// or, with `--remote`, a model served by an OpenAI-compatible server (vLLM, TGI, llama.cpp's
    /// server, hosted APIs), checked with `GET /models` first.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["generator", "judge", "reward", "reference"])]
        kind: String,
        /// cpu, cuda or auto.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// The model directory (not with `--remote`).
        #[arg(required_unless_present = "remote", conflicts_with = "remote")]
        dir: Option<PathBuf>,
        /// Base URL of the OpenAI-compatible API, e.g. `http://127.0.0.1:8089/v1`.
        #[arg(long, requires = "remote_model")]
        remote: Option<String>,
        /// The model name the server serves.
        #[arg(long)]
        remote_model: Option<String>,
        /// The environment variable that holds the API key on the workers (the key itself is
        /// never stored, logged or shown).
        #[arg(long)]
        api_key_env: Option<String>,
        /// Requests in flight at once per worker.
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
        /// Seconds one request may take.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u32,
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
            remote,
            remote_model,
            api_key_env,
            concurrency,
            timeout_secs,
        } => {
            let remote = remote.map(|url| RemoteModelRequest {
                url,
                model: remote_model.unwrap_or_default(),
                api_key_env,
                concurrency: Some(concurrency),
                timeout_secs: Some(timeout_secs),
            });
            let request = RegisterModel {
                name,
                kind,
                dir: dir.map(|d| d.display().to_string()).unwrap_or_default(),
                device: if remote.is_some() {
                    "remote".into()
                } else {
                    device
                },
                remote,
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
