//! `pairwise pairs build`: chosen/rejected pairs from a finished judge run by strategy.

use clap::Subcommand;
use pairwise_core::Actor;
use pairwise_store::DatabaseConnection;

#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// Build chosen/rejected pairs from a finished judge run by strategy (atomic; duplicates by
    /// stable hash are skipped).
    Build {
        #[arg(long)]
        project: String,
        /// The judge run.
        #[arg(long)]
        run: i64,
        /// extreme or margin (pointwise runs), pairwise (pairwise runs).
        #[arg(long)]
        strategy: pairwise_core::strategy::Strategy,
        /// Margin strategy: neighbours whose score gap is below this.
        #[arg(long, default_value_t = pairwise_core::strategy::DEFAULT_MARGIN_THRESHOLD)]
        threshold: f64,
        #[arg(long)]
        min_margin: Option<f64>,
        /// Drop saturated margins above this.
        #[arg(long)]
        max_margin: Option<f64>,
        /// Reference log-prob gap (nats/token) above which a pair is a trivial negative.
        #[arg(long, default_value_t = pairwise_pipeline::pairing::DEFAULT_TRIVIAL_GAP)]
        trivial_gap: f64,
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
        run,
        strategy,
        threshold,
        min_margin,
        max_margin,
        trivial_gap,
        json,
    } = command;
    let request = pairwise_pipeline::BuildRequest {
        project: project.clone(),
        judge_run: run,
        strategy,
        threshold,
        min_margin,
        max_margin,
        trivial_gap,
    };
    let report = pairwise_pipeline::build_pairs(db, &request, actor).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} new {} pairs in {project} from run {run} ({} chosen, {} filtered by margin, {} duplicates, {} trivial negatives)",
            report.inserted, strategy.as_str(), report.chosen, report.filtered, report.duplicates, report.trivial_negatives
        );
    }
    Ok(())
}
