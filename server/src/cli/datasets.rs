//! `pairwise dataset freeze|list|diff`, `pairwise export` and `pairwise report`: versions, their
//! exports and their quality reports.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_core::{requests::FreezeRequest, Actor};
use pairwise_pipeline::datasets::freeze_version;
use pairwise_store::{datasets, DatabaseConnection};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Freeze the pairs a recipe selects (default: all) as an immutable version.
    Freeze {
        #[arg(long)]
        project: String,
        #[arg(long)]
        tag: String,
        /// JSON recipe file: filters (sources, strategies, min_margin, max_margin), mix, split and
        /// curation (near_duplicates, max_length_gap, length_balance); see the README.
        #[arg(long, conflicts_with = "from")]
        recipe: Option<PathBuf>,
        /// Roll back: the new version has exactly the pairs of this version.
        #[arg(long)]
        from: Option<String>,
    },
    /// List a project's versions.
    List {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: bool,
    },
    /// Pairs added and removed from version A to version B.
    Diff {
        #[arg(long)]
        project: String,
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub project: String,
    /// The version tag.
    #[arg(long)]
    pub version: String,
    /// trl, trl-conversational, trl-implicit, hh-rlhf, kto, trl-stepwise or sft.
    #[arg(long)]
    pub format: pairwise_core::ExportFormat,
    /// Output file (.jsonl or .parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// Only this split (train or eval) under the version's split rule; default every pair.
    #[arg(long)]
    pub split: Option<String>,
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: DatasetCommand,
) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Freeze {
            project,
            tag,
            recipe,
            from,
        } => {
            let recipe: pairwise_core::Recipe = match recipe {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    serde_json::from_str(&text)
                        .with_context(|| format!("{}: invalid recipe", path.display()))?
                }
                None => pairwise_core::Recipe::default(),
            };
            let request = FreezeRequest { tag, recipe, from };
            let version = freeze_version(db, actor, &project, request).await?;
            println!(
                "froze {project} {} with {} pairs (content {})",
                version.tag, version.pair_count, version.content_hash
            );
            if let Some(c) = &version.curation {
                println!(
                    "curation: {} selected → {} kept; dropped {} near-duplicates of evaluation prompts, {} of earlier prompts, {} over the length gap, {} for length balance; chosen longer {:.1}% → {:.1}%",
                    c.before.pairs,
                    c.after.pairs,
                    c.near_duplicate_eval,
                    c.near_duplicate_earlier,
                    c.length_gap,
                    c.length_balance,
                    c.before.length_chars.share_chosen_longer * 100.0,
                    c.after.length_chars.share_chosen_longer * 100.0
                );
            }
        }
        DatasetCommand::List { project, json } => {
            let p = pairwise_pipeline::access::project(
                db,
                actor,
                &project,
                pairwise_core::Role::Reviewer,
                "use this project",
            )
            .await?;
            let list = datasets::list(db, p.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for v in list {
                    println!(
                        "{:<16} {:>8} pairs  parent {:<12} {}  {}",
                        v.tag,
                        v.pair_count,
                        v.parent.unwrap_or_default(),
                        &v.content_hash[..12],
                        v.created_at
                    );
                }
            }
        }
        DatasetCommand::Diff {
            project,
            a,
            b,
            json,
        } => {
            let p = pairwise_pipeline::access::project(
                db,
                actor,
                &project,
                pairwise_core::Role::Reviewer,
                "use this project",
            )
            .await?;
            let diff = datasets::diff(db, p.id, &a, &b).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                println!(
                    "{a} → {b}: +{} −{} ={} ({} → {} pairs)",
                    diff.added,
                    diff.removed,
                    diff.unchanged,
                    diff.from_pair_count,
                    diff.to_pair_count
                );
                let show = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or("—".into());
                for s in &diff.stats {
                    println!("  {:<40} {:>12} {:>12}", s.name, show(s.from), show(s.to));
                }
            }
        }
    }
    Ok(())
}

/// Writes a version to `args.out` (`.jsonl` or `.parquet`) through a `.partial` file, so a failed
/// export leaves no half-written file under the asked-for name.
pub async fn export(db: &DatabaseConnection, args: ExportArgs) -> anyhow::Result<()> {
    let extension = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !matches!(extension.as_str(), "jsonl" | "parquet") {
        bail!("--out must end in .jsonl or .parquet");
    }
    let tmp = args.out.with_extension(format!("{extension}.partial"));
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let target = pairwise_pipeline::export_target(db, &args.project, &args.version)
        .await?
        .with_split(args.split.as_deref())?;
    let bar = ProgressBar::new(target.pair_count);
    bar.set_style(
        ProgressStyle::with_template("exporting {wide_bar} {pos}/{len} pairs ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64| bar.set_position(done);
    let rows = if extension == "parquet" {
        pairwise_pipeline::parquet_io::write_parquet_with_progress(
            db,
            &target,
            args.format,
            &mut writer,
            progress,
        )
        .await
    } else {
        pairwise_pipeline::datasets::export_to_with_progress(
            db,
            &target,
            args.format,
            &mut writer,
            progress,
        )
        .await
    };
    bar.finish_and_clear();
    let flushed = std::io::Write::flush(&mut writer);
    drop(writer);
    match rows.map_err(anyhow::Error::from).and_then(|rows| {
        flushed.context("writing the export")?;
        Ok(rows)
    }) {
        Ok(rows) => {
            std::fs::rename(&tmp, &args.out)
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            println!(
                "exported {rows} rows of {} {} as {} to {}",
                args.project,
                args.version,
                args.format,
                args.out.display()
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    Ok(())
}

/// The report as text for a terminal.
pub fn print_report(r: &pairwise_core::dto::QualityReport) {
    println!("{} {}: {} pairs", r.project, r.version, r.pairs);
    println!(
        "  refusals: chosen {} ({} templated), rejected {} ({} templated)",
        r.refusals.chosen_refusals,
        r.refusals.chosen_templated,
        r.refusals.rejected_refusals,
        r.refusals.rejected_templated
    );
    let tokens = r.length_tokens.as_ref().map(|d| ("tokens", d));
    for (label, d) in [("characters", &r.length_chars), ("words", &r.length_words)]
        .into_iter()
        .chain(tokens)
    {
        println!(
            "  length chosen - rejected ({label}): mean {:.1}, median {:.1}, chosen longer in {:.1}%",
            d.mean,
            d.median,
            d.share_chosen_longer * 100.0
        );
    }
    println!(
        "  templated chosen answers: {:.1}% of {} in {} clusters shown; repeated prompts: {}; trivial negatives: {}",
        r.templated_share * 100.0,
        r.templates_sampled,
        r.templates.len(),
        r.repeated_prompts,
        r.trivial_negatives
    );
    for c in r.templates.iter().take(5) {
        println!(
            "    {} × {}{}",
            c.size,
            c.examples.first().map(String::as_str).unwrap_or(""),
            if c.refusal_like { "  [refusal]" } else { "" }
        );
    }
    for c in &r.contamination {
        println!(
            "  contamination ({}): {} of {} prompts exact, {} near (Jaccard >= {})",
            c.against, c.exact, c.compared, c.near, c.threshold
        );
    }
    println!("  strategies: {:?}", r.by_strategy);
    println!("  sources: {:?}", r.by_source);
    for j in &r.judge_runs {
        println!(
            "  judge run {} ({}, {}): parse failures {:.1}%{}",
            j.run,
            j.mode,
            j.rubric,
            j.parse_failure_rate * 100.0,
            j.inconsistency_rate
                .map(|i| format!(", position inconsistency {:.1}%", i * 100.0))
                .unwrap_or_default()
        );
    }
}
