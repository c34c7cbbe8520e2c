//! `pairwise review`: list a project's votes for review and accept, reject or requeue them
//! (the review step of /projects/P/review).

use clap::{Args, Subcommand};
use pairwise_core::{
    annotation::review::{ReviewDecision, ReviewFilter, ReviewList, ReviewRequest},
    Actor,
};
use pairwise_store::DatabaseConnection;

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// The votes a filter selects, oldest first, with their item's agreement and gold result.
    List(ListArgs),
    /// Accept, reject (a reason is required) or requeue votes (a fresh slot opens for another
    /// annotator).
    Decide(DecideArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub project: String,
    #[command(flatten)]
    pub filter: ReviewFilter,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    #[arg(long)]
    pub project: String,
    /// Vote ids, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub votes: Vec<i64>,
    #[arg(long, value_enum)]
    pub decision: ReviewDecision,
    #[arg(long, default_value = "")]
    pub reason: String,
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ReviewCommand,
) -> anyhow::Result<()> {
    match command {
        ReviewCommand::List(args) => {
            let list =
                pairwise_pipeline::review::list(db, actor, &args.project, &args.filter).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print(&list);
            }
        }
        ReviewCommand::Decide(args) => {
            let request = ReviewRequest {
                votes: args.votes,
                decision: args.decision,
                reason: args.reason,
            };
            let outcome =
                pairwise_pipeline::review::decide(db, actor, &args.project, &request).await?;
            println!(
                "{} votes changed, {} already so, {} slots reopened",
                outcome.changed, outcome.unchanged, outcome.reopened
            );
        }
    }
    Ok(())
}

fn print(list: &ReviewList) {
    let counts: Vec<String> = list
        .counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    println!("{}: {}", list.project, counts.join(", "));
    println!("{} votes match; showing {}", list.matched, list.rows.len());
    for r in &list.rows {
        let agreement = r
            .agreement
            .map_or_else(|| "—".into(), |a| format!("{:.0}%", a * 100.0));
        let gold = match r.gold_correct() {
            Some(true) => " gold ✓",
            Some(false) => " gold ✗",
            None => "",
        };
        println!(
            "vote {:>6}  item {:>6}  {:<16} {:<8} {:<8} {:>7} ms{}{}  agreement {}  [{}]",
            r.vote,
            r.item,
            r.annotator,
            r.kind,
            r.label,
            r.duration_ms,
            if r.fast() { " (too fast)" } else { "" },
            gold,
            agreement,
            r.state().as_str()
        );
    }
}
