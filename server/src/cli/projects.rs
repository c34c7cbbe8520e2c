//! `pairwise project …`: create and list projects, and manage their members.

use clap::Subcommand;
use pairwise_core::{
    requests::{CreateProject, SetMember},
    Actor,
};
use pairwise_pipeline::projects as actions;
use pairwise_store::DatabaseConnection;

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects with prompt counts (those the actor may see).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Manage who works in a project.
    #[command(subcommand)]
    Member(MemberCommand),
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Make a user a member with a role in the project (or change it).
    Add {
        #[arg(long)]
        project: String,
        #[arg(long)]
        user: String,
        /// `annotator` or `reviewer` (never above the account's own role).
        #[arg(long)]
        role: String,
    },
    /// Remove a user from the project (their votes stay).
    Remove {
        #[arg(long)]
        project: String,
        #[arg(long)]
        user: String,
    },
    /// The members of a project.
    List {
        #[arg(long)]
        project: String,
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
            let p = actions::create_project(db, actor, request).await?;
            println!("created project {}", p.name);
        }
        ProjectCommand::Member(MemberCommand::Add {
            project,
            user,
            role,
        }) => {
            let request = SetMember {
                username: user,
                role,
            };
            let m = actions::set_member(db, actor, &project, request).await?;
            println!("{} is {} in {project}", m.username, m.role);
        }
        ProjectCommand::Member(MemberCommand::Remove { project, user }) => {
            actions::remove_member(db, actor, &project, &user).await?;
            println!("{user} is no longer a member of {project}");
        }
        ProjectCommand::Member(MemberCommand::List { project, json }) => {
            let list = actions::list_members(db, actor, &project).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for m in list {
                    let status = if m.active { "" } else { "  (deactivated)" };
                    println!("{:<32} {}{status}", m.username, m.role);
                }
            }
        }
        ProjectCommand::List { json } => {
            let list = actions::list_projects(db, actor).await?;
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
