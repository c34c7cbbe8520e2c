//! `pairwise user …`: add users, list them, issue tokens, change roles, deactivate. Each action
//! calls its use case in `pairwise_pipeline::users` as the command's actor (`--as`, default `cli`).

use anyhow::Context;
use clap::Subcommand;
use pairwise_core::{
    requests::{CreateUser, IssueToken},
    Actor, Role,
};
use pairwise_pipeline::users as actions;
use pairwise_store::{users, DatabaseConnection};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (never from the command line).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue an API token for a user; the token is the last line printed.
    Token {
        #[arg(long)]
        name: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Days until the token is refused (0: never).
        #[arg(long, default_value_t = 90)]
        expires_in_days: u32,
    },
    /// Change a user's role.
    SetRole {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
    },
    /// Deactivate a user: every session ends and every token is revoked.
    Deactivate {
        #[arg(long)]
        name: String,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: UserCommand,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let request = CreateUser {
                username: name,
                role,
                password,
            };
            let user = actions::create_user(db, actor, request).await?;
            println!("added {} ({})", user.username, user.role);
        }
        UserCommand::List { json } => {
            let list = users::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for u in list {
                    println!(
                        "{:<24} {:<10} {}",
                        u.username,
                        u.role,
                        if u.active { "active" } else { "deactivated" }
                    );
                }
            }
        }
        UserCommand::Token {
            name,
            label,
            expires_in_days,
        } => {
            let request = IssueToken {
                username: name.clone(),
                name: label,
                expires_in_days: Some(expires_in_days),
            };
            let (_, secret) = actions::issue_token(db, actor, request).await?;
            eprintln!("token for {name} (shown once; store it safely):");
            println!("{secret}");
        }
        UserCommand::SetRole { name, role } => {
            actions::set_user_role(db, actor, &name, role).await?;
            println!("{name} is now {role}");
        }
        UserCommand::Deactivate { name } => {
            actions::set_user_active(db, actor, &name, false).await?;
            println!("{name} is deactivated; their sessions ended and tokens were revoked");
        }
    }
    Ok(())
}
