//! `pairwise constitution …`: constitution versions (list, show, save the next version, diff).

use anyhow::Context;
use clap::Subcommand;
use pairwise_core::{constitution::ConstitutionSpec, requests::SaveConstitution, Actor};
use pairwise_pipeline::constitutions;
use pairwise_store::DatabaseConnection;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ConstitutionCommand {
    /// List every version of every constitution.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one version (`NAME` for the latest, or `NAME@VERSION`) as JSON.
    Show { constitution: String },
    /// Save a spec (JSON file: {"principles": [{name, critique, revision}, …]}) as the next
    /// version of NAME.
    Save {
        #[arg(long)]
        name: String,
        spec: PathBuf,
    },
    /// Principle-by-principle differences between two versions (`NAME@1 NAME@2`).
    Diff { a: String, b: String },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ConstitutionCommand,
) -> anyhow::Result<()> {
    match command {
        ConstitutionCommand::List { json } => {
            let list = constitutions::list_constitutions(db, actor).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for c in list {
                    let names: Vec<_> = c.spec.principles.iter().map(|p| p.name.as_str()).collect();
                    println!(
                        "{}@{}  {}  {}",
                        c.name,
                        c.version,
                        names.join(","),
                        if c.locked { "locked" } else { "" }
                    );
                }
            }
        }
        ConstitutionCommand::Show { constitution } => {
            let view = constitutions::show_constitution(db, actor, &constitution).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        ConstitutionCommand::Save { name, spec } => {
            let text = std::fs::read_to_string(&spec)
                .with_context(|| format!("cannot read {}", spec.display()))?;
            let parsed: ConstitutionSpec = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a constitution spec", spec.display()))?;
            let request = SaveConstitution { name, spec: parsed };
            let view = constitutions::save_constitution(db, actor, request).await?;
            println!("saved {}@{}", view.name, view.version);
        }
        ConstitutionCommand::Diff { a, b } => {
            let changes = constitutions::diff_constitutions(db, actor, &a, &b).await?;
            println!("{}", serde_json::to_string_pretty(&changes)?);
        }
    }
    Ok(())
}
