//! Prompt import: JSONL (`prompt` or `messages`) or CSV (`prompt` column), deduplicated by the
//! normalized prompt's hash.

use super::{Batches, Import, ImportAudit, ImportError, Tally};
use pairwise_core::{dto::ImportReport, Actor, ImportFormat, PromptReader, PromptRecord, Role};
use pairwise_store::{
    prompts::{self, InsertDefaults},
    DatabaseConnection,
};
use std::io::BufRead;

/// Rows per INSERT: 500 × 11 columns stays far below SQLite's and PostgreSQL's bind limits.
const BATCH: usize = 500;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: ImportFormat,
    pub defaults: InsertDefaults,
    /// Who imports (checked for the reviewer role; named in the audit log).
    pub actor: Actor,
}

/// Imports every record of `reader` into `project`, or nothing at all. `on_batch` is called with
/// the running report after each batch written to the transaction (for progress displays).
pub async fn import_prompts<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    project: &str,
    reader: R,
    options: &ImportOptions,
    mut on_batch: impl FnMut(&ImportReport),
) -> Result<ImportReport, ImportError> {
    let project = crate::access::project(
        db,
        &options.actor,
        project,
        Role::Reviewer,
        "import prompts",
    )
    .await?;
    // A header error (CSV without a `prompt` column) fails before anything starts.
    let records = PromptReader::new(reader, options.format)?;
    let report = |t: Tally| ImportReport {
        records: t.rows,
        inserted: t.inserted,
        duplicates: t.rows - t.inserted,
    };
    let mut import = Import::start(db, false, move |tx| send_batches(records, tx)).await?;
    while let Some(batch) = import.next_batch().await? {
        let inserted =
            prompts::insert_batch(import.txn(), project.id, &batch, &options.defaults).await?;
        on_batch(&report(import.count(batch.len(), inserted)));
    }
    let entry = ImportAudit {
        actor: &options.actor,
        action: "prompts.import",
        project: &project.name,
    };
    let tally = import
        .finish(entry, |t| {
            serde_json::to_value(report(t)).unwrap_or_default()
        })
        .await?;
    on_batch(&report(tally));
    Ok(report(tally))
}

fn send_batches<R: BufRead>(records: PromptReader<R>, tx: Batches<Vec<PromptRecord>>) {
    let mut batch = Vec::with_capacity(BATCH);
    for record in records {
        match record {
            Ok(r) => batch.push(r),
            Err(e) => {
                let _ = tx.blocking_send(Err(e.into()));
                return;
            }
        }
        if batch.len() == BATCH
            && tx
                .blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                .is_err()
        {
            return; // the importer stopped listening (it failed)
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
}
