//! `pairwise annotate …`: queue items, gold, settings, the κ gate and human-decided pairs.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use pairwise_core::{annotation::AnnotationSettings, Actor};
use pairwise_pipeline::annotation as actions;
use pairwise_store::{annotation, DatabaseConnection};

#[derive(Debug, Subcommand)]
pub enum AnnotateCommand {
    /// Queue items to annotate: inconsistent pairwise judge verdicts first, then the project's
    /// pairs (smallest judge margin first, imported pairs last).
    Fill {
        #[arg(long)]
        project: String,
        /// At most this many pairs.
        #[arg(long, default_value_t = u64::MAX)]
        limit: u64,
        /// Mark every new item as red-team (content warning, hidden from opted-out annotators);
        /// otherwise items whose prompt is a red-team prompt of the project are marked.
        #[arg(long)]
        redteam: bool,
        /// Seed for which side of each pair is X (reproducible queues).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Build the golden set: promote N items made from pairs (the pair's preference is the
    /// agreed answer), import a file of pairs whose chosen answer is the agreed one, or set one
    /// item's answer.
    Gold {
        #[arg(long)]
        project: String,
        #[arg(long, conflicts_with_all = ["item", "answer", "import"])]
        from_pairs: Option<u64>,
        /// A pairs file (JSONL, gzip accepted) in --format; atomic, errors name the line.
        #[arg(long, requires = "format", conflicts_with_all = ["item", "answer"])]
        import: Option<std::path::PathBuf>,
        /// hh-rlhf, trl or ultrafeedback.
        #[arg(long)]
        format: Option<pairwise_core::PairFormat>,
        #[arg(long, requires = "answer")]
        item: Option<i64>,
        /// x, y, tie or both_bad.
        #[arg(long, requires = "item")]
        answer: Option<String>,
    },
    /// Show or change the queue settings of a project.
    Settings(SettingsArgs),
    /// Run the κ gate: quarantine annotators and items below the threshold.
    Gate {
        #[arg(long)]
        project: String,
    },
    /// Pairs decided by people: the majority of votes that pass the κ gate.
    HumanPairs {
        #[arg(long)]
        project: String,
        #[command(flatten)]
        request: pairwise_core::requests::HumanPairsRequest,
    },
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[arg(long)]
    project: String,
    /// Annotators per item (k).
    #[arg(long)]
    overlap: Option<i32>,
    #[arg(long)]
    repeat_rate: Option<f64>,
    #[arg(long)]
    gold_rate: Option<f64>,
    #[arg(long)]
    max_pending: Option<i32>,
    #[arg(long)]
    lease_seconds: Option<i32>,
    #[arg(long)]
    kappa_threshold: Option<f64>,
    /// Reading speed (characters of both answers per second) a vote may not beat; faster
    /// votes are flagged as too fast.
    #[arg(long)]
    fast_vote_chars_per_s: Option<f64>,
    /// Whether the κ gate also excludes votes flagged as too fast.
    #[arg(long)]
    gate_fast_votes: Option<bool>,
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: AnnotateCommand,
) -> anyhow::Result<()> {
    match command {
        AnnotateCommand::Fill {
            project,
            limit,
            redteam,
            seed,
        } => {
            let fill = actions::fill_queue(db, actor, &project, limit, redteam, seed).await?;
            println!("{}", serde_json::to_string(&fill)?);
        }
        AnnotateCommand::Gold {
            project,
            from_pairs,
            import,
            format,
            item,
            answer,
        } => {
            let p = pairwise_pipeline::access::project(
                db,
                actor,
                &project,
                pairwise_core::Role::Reviewer,
                "use this project",
            )
            .await?;
            if let (Some(file), Some(format)) = (import, format) {
                let handle = std::fs::File::open(&file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                let source = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let reader = pairwise_pipeline::maybe_gunzip(handle).context("reading the file")?;
                let report =
                    pairwise_pipeline::import_gold(db, &p.name, reader, format, &source, actor)
                        .await
                        .with_context(|| format!("{}: nothing was imported", file.display()))?;
                println!(
                    "{} new gold items ({} rows, {} already queued)",
                    report.inserted, report.rows, report.duplicates
                );
                return Ok(());
            }
            match (from_pairs, item, answer) {
                (Some(n), _, _) => {
                    let done = actions::gold_from_pairs(db, actor, &p.name, n).await?;
                    println!("{done} items are gold now");
                }
                (None, Some(item), Some(answer)) => {
                    actions::promote_gold(db, actor, &p.name, item, &answer).await?;
                    println!("item {item} is gold with answer {answer}");
                }
                _ => bail!("give --from-pairs N, or --item ID with --answer x|y|tie|both_bad"),
            }
        }
        AnnotateCommand::Settings(a) => {
            let p = pairwise_pipeline::access::project(
                db,
                actor,
                &a.project,
                pairwise_core::Role::Reviewer,
                "use this project",
            )
            .await?;
            let old = annotation::settings(db, p.id).await?;
            let new = AnnotationSettings {
                overlap: a.overlap.unwrap_or(old.overlap),
                repeat_rate: a.repeat_rate.unwrap_or(old.repeat_rate),
                gold_rate: a.gold_rate.unwrap_or(old.gold_rate),
                max_pending: a.max_pending.unwrap_or(old.max_pending),
                lease_seconds: a.lease_seconds.unwrap_or(old.lease_seconds),
                kappa_threshold: a.kappa_threshold.unwrap_or(old.kappa_threshold),
                fast_vote_chars_per_s: a.fast_vote_chars_per_s.unwrap_or(old.fast_vote_chars_per_s),
                gate_fast_votes: a.gate_fast_votes.unwrap_or(old.gate_fast_votes),
            };
            let new = actions::save_settings(db, actor, &a.project, new).await?;
            println!("{}", serde_json::to_string_pretty(&new)?);
        }
        AnnotateCommand::Gate { project } => {
            let n = actions::run_kappa_gate(db, actor, &project).await?;
            println!("{n} quarantined");
        }
        AnnotateCommand::HumanPairs { project, request } => {
            let r = actions::build_human_pairs(db, actor, &project, request).await?;
            println!("{}", serde_json::to_string(&r)?);
        }
    }
    Ok(())
}
