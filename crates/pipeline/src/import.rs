//! Atomic, streaming prompt import: records are validated and inserted in batches inside one
//! transaction, so a bad line anywhere leaves the project exactly as it was, and memory stays flat
//! whatever the file size.

use crate::{access::require, PipelineError};
use pairwise_core::{
    dto::ImportReport, Actor, ImportFormat, PromptImportError, PromptReader, Role,
};
use pairwise_store::{
    audit, projects,
    prompts::{self, InsertDefaults},
    DatabaseConnection, StoreError,
};
use sea_orm::TransactionTrait;
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

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A line of the file is invalid; nothing was written.
    #[error(transparent)]
    Parse(#[from] PromptImportError),
    /// The project is missing or the database failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor may not import (or another use-case error); nothing was written.
    #[error(transparent)]
    Denied(#[from] PipelineError),
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::Db(e))
    }
}

/// Imports every record of `reader` into `project`, or nothing at all. `on_batch` is called with
/// the running report after each committed-to-transaction batch (for progress displays).
pub async fn import_prompts<R: BufRead>(
    db: &DatabaseConnection,
    project: &str,
    reader: R,
    options: &ImportOptions,
    mut on_batch: impl FnMut(&ImportReport),
) -> Result<ImportReport, ImportError> {
    require(&options.actor, Role::Reviewer, "import prompts")?;
    let project = projects::require(db, project).await?;
    let records = PromptReader::new(reader, options.format)?;
    let txn = db.begin().await?;
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    for record in records {
        // Returning early drops `txn`, which rolls everything back.
        batch.push(record?);
        if batch.len() == BATCH {
            flush(&txn, project.id, &mut batch, options, &mut report).await?;
            on_batch(&report);
        }
    }
    flush(&txn, project.id, &mut batch, options, &mut report).await?;
    audit::record(
        &txn,
        &options.actor,
        "prompts.import",
        &format!("project:{}", project.name),
        Some(&project.name),
        serde_json::json!({ "records": report.records, "inserted": report.inserted, "duplicates": report.duplicates }),
    )
    .await?;
    txn.commit().await?;
    on_batch(&report);
    Ok(report)
}

async fn flush(
    txn: &sea_orm::DatabaseTransaction,
    project_id: i64,
    batch: &mut Vec<pairwise_core::PromptRecord>,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let inserted = prompts::insert_batch(txn, project_id, batch, &options.defaults).await?;
    report.records += batch.len() as u64;
    report.inserted += inserted;
    report.duplicates = report.records - report.inserted;
    batch.clear();
    Ok(())
}
