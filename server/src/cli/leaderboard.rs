//! `pairwise leaderboard`: a project's generators, paths or transforms ranked by Bradley–Terry
//! with bootstrap 95% intervals, the judge's board beside the humans'.

use clap::Args;
use pairwise_core::{
    leaderboard::{LeaderboardRequest, LeaderboardView, Standing},
    Actor,
};
use pairwise_store::DatabaseConnection;

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    #[arg(long)]
    pub project: String,
    #[command(flatten)]
    pub request: LeaderboardRequest,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    args: LeaderboardArgs,
) -> anyhow::Result<()> {
    let view =
        pairwise_pipeline::leaderboard::show_leaderboard(db, actor, &args.project, &args.request)
            .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print(&view);
    }
    Ok(())
}

fn print(view: &LeaderboardView) {
    let boards = [
        (
            format!(
                "judge ({}, {} comparisons)",
                view.rubric.as_deref().unwrap_or("no judge run"),
                view.judge_comparisons
            ),
            &view.judge,
        ),
        (
            format!("humans ({} comparisons)", view.human_comparisons),
            &view.human,
        ),
    ];
    for (title, board) in boards {
        println!("{} by {}: {title}", view.project, view.by.as_str());
        if board.is_empty() {
            println!("  (no comparisons between two {}s)", view.by.as_str());
        }
        for s in board.iter() {
            println!("  {}", line(s));
        }
    }
    match view.rank_correlation {
        Some(rho) => println!("rank correlation (Spearman) of the two boards: {rho:.3}"),
        None => println!("rank correlation: fewer than two entries on both boards"),
    }
    println!(
        "95% intervals: {} bootstrap rounds, seed {}",
        view.rounds, view.seed
    );
}

fn line(s: &Standing) -> String {
    format!(
        "{:>3}. {:<32} {:+.3} [{:+.3}, {:+.3}]  {} comparisons, win rate {:.1}%",
        s.rank,
        s.name,
        s.strength,
        s.low,
        s.high,
        s.comparisons,
        s.win_rate * 100.0
    )
}
