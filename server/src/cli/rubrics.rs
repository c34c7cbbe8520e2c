//! `pairwise rubric …`: rubric versions (list, show, save the next version, diff two versions).

use anyhow::Context;
use clap::Subcommand;
use pairwise_core::{requests::SaveRubric, rubric::RubricSpec, Actor};
use pairwise_store::{rubrics, DatabaseConnection};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RubricCommand {
    /// List every version of every rubric.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one version (`NAME` for the latest, or `NAME@VERSION`) as JSON.
    Show { rubric: String },
    /// Save a spec (JSON file: dimensions, templates, temperature) as the next version of NAME.
    Save {
        #[arg(long)]
        name: String,
        spec: PathBuf,
        /// Allow a judge temperature above 0.3.
        #[arg(long)]
        force: bool,
    },
    /// Field-by-field differences between two versions (`NAME@1 NAME@2`).
    Diff { a: String, b: String },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: RubricCommand,
) -> anyhow::Result<()> {
    match command {
        RubricCommand::List { json } => {
            let list = rubrics::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in list {
                    let dims: Vec<_> = r.spec.dimensions.iter().map(|d| d.name.as_str()).collect();
                    println!(
                        "{}@{}  {}  {}",
                        r.name,
                        r.version,
                        dims.join(","),
                        if r.locked { "locked" } else { "" }
                    );
                }
            }
        }
        RubricCommand::Show { rubric } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rubrics::show(db, &rubric).await?)?
            );
        }
        RubricCommand::Save { name, spec, force } => {
            let text = std::fs::read_to_string(&spec)
                .with_context(|| format!("cannot read {}", spec.display()))?;
            let parsed: RubricSpec = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a rubric spec", spec.display()))?;
            let request = SaveRubric {
                name,
                spec: parsed,
                force,
            };
            let view = pairwise_pipeline::rubrics::save_rubric(db, actor, request).await?;
            println!("saved {}@{}", view.name, view.version);
        }
        RubricCommand::Diff { a, b } => {
            let (ra, rb) = (rubrics::show(db, &a).await?, rubrics::show(db, &b).await?);
            let changes = pairwise_core::rubric::diff(&ra.spec, &rb.spec);
            println!("{}", serde_json::to_string_pretty(&changes)?);
        }
    }
    Ok(())
}
