//! `pairwise project …`: create and list projects.

use clap::Subcommand;
use pairwise_core::{requests::CreateProject, Actor};
use pairwise_store::{projects, DatabaseConnection};

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects with prompt counts.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ProjectCommand,
) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Create { name, description } => {
            let request = CreateProject { name, description };
            let p = pairwise_pipeline::projects::create_project(db, actor, request).await?;
            println!("created project {}", p.name);
        }
        ProjectCommand::List { json } => {
            let list = projects::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for p in list {
                    println!(
                        "{:<32} {:>8} prompts  {}",
                        p.name, p.prompt_count, p.description
                    );
                }
            }
        }
    }
    Ok(())
}
