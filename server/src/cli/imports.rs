//! `pairwise import prompts|pairs FILE`: atomic imports with a progress bar; a bad line stores
//! nothing and the error names the line and field.

use super::file_progress;
use anyhow::{bail, Context};
use clap::Subcommand;
use pairwise_core::{Actor, ImportFormat, Split};
use pairwise_pipeline::{import_prompts, ImportOptions};
use pairwise_store::{prompts::InsertDefaults, DatabaseConnection};
use std::{io::BufReader, path::PathBuf};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import prompts (JSONL with `prompt` or `messages`, or CSV with a `prompt` column).
    /// Atomic: a bad line stores nothing and the error names the line and field.
    Prompts {
        file: PathBuf,
        #[arg(long)]
        project: String,
        /// Split for every prompt (default: each record's own, else train).
        #[arg(long)]
        split: Option<Split>,
        /// Domain for every prompt.
        #[arg(long)]
        domain: Option<String>,
        /// File format (default: from the file name).
        #[arg(long)]
        format: Option<ImportFormat>,
    },
    /// Import preference pairs (JSONL, gzip or Parquet). Atomic: a bad line stores nothing.
    Pairs {
        file: PathBuf,
        #[arg(long)]
        project: String,
        /// hh-rlhf, trl (standard or conversational), ultrafeedback (binarized), or raw
        /// UltraFeedback rows (rated completions) paired by mean aspect rating:
        /// ultrafeedback-raw (best vs worst) or ultrafeedback-raw-margin (neighbours less than
        /// one rating point apart).
        #[arg(long)]
        format: pairwise_core::PairFormat,
        /// Source recorded on every pair (default: the file name).
        #[arg(long)]
        source: Option<String>,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ImportCommand,
) -> anyhow::Result<()> {
    match command {
        ImportCommand::Prompts {
            file,
            project,
            split,
            domain,
            format,
        } => {
            let format = match format.or_else(|| ImportFormat::from_path(&file)) {
                Some(f) => f,
                None => bail!(
                    "cannot tell the format of {} from its name: pass --format jsonl|csv",
                    file.display()
                ),
            };
            let handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let bar = file_progress(&handle, "importing");
            let source = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let options = ImportOptions {
                format,
                defaults: InsertDefaults {
                    split,
                    domain,
                    source,
                },
                actor: actor.clone(),
            };
            let reader = BufReader::new(bar.wrap_read(handle));
            let result = import_prompts(db, &project, reader, &options, |r| {
                bar.set_message(format!("{} records", r.records))
            })
            .await;
            bar.finish_and_clear();
            let report =
                result.with_context(|| format!("{}: nothing was imported", file.display()))?;
            println!(
                "imported {} new prompts into {project} ({} records, {} duplicates skipped)",
                report.inserted, report.records, report.duplicates
            );
        }
        ImportCommand::Pairs {
            file,
            project,
            format,
            source,
        } => {
            let handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let bar = file_progress(&handle, "importing pairs");
            let source = source.unwrap_or_else(|| {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            // Parquet (by its magic bytes) comes straight from the Arrow arrays; JSONL through
            // the progress bar.
            let wrap_bar = bar.clone();
            let rows =
                pairwise_pipeline::PairRows::open(handle, move |f| Box::new(wrap_bar.wrap_read(f)))
                    .with_context(|| format!("{}: nothing was imported", file.display()))?;
            let result = pairwise_pipeline::import_pair_rows(
                db,
                &project,
                rows,
                format,
                &source,
                actor,
                |r| bar.set_message(format!("{} rows", r.rows)),
            )
            .await;
            bar.finish_and_clear();
            let report =
                result.with_context(|| format!("{}: nothing was imported", file.display()))?;
            println!(
                "imported {} new pairs into {project} ({} rows, {} duplicates skipped)",
                report.inserted, report.rows, report.duplicates
            );
        }
    }
    Ok(())
}
