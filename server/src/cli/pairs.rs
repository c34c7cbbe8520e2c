//! `pairwise pairs build`: chosen/rejected pairs from a finished judge run by strategy.

use clap::Subcommand;
use pairwise_core::{requests::BuildPairsRequest, Actor};
use pairwise_store::DatabaseConnection;

#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// Build chosen/rejected pairs from a finished judge run by strategy (atomic; duplicates by
    /// stable hash are skipped).
    Build {
        #[arg(long)]
        project: String,
        #[command(flatten)]
        request: BuildPairsRequest,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: PairsCommand,
) -> anyhow::Result<()> {
    let PairsCommand::Build {
        project,
        request,
        json,
    } = command;
    let report = pairwise_pipeline::build_pairs(db, actor, &project, &request).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let head = if request.preview {
            "preview: would add"
        } else {
            "added"
        };
        println!(
            "{head} {} new {} pairs in {project} from run {} ({} chosen, {} filtered by margin, {} duplicates, {} trivial negatives)",
            report.inserted, request.strategy.as_str(), request.judge_run, report.chosen, report.filtered, report.duplicates, report.trivial_negatives
        );
        if let Some(e) = report.evidence {
            println!(
                "ranked {} prompts from {} score comparisons, {} judge orders and {} human votes",
                report.prompts, e.judge_scores, e.judge_orders, e.human_votes
            );
        }
    }
    Ok(())
}
