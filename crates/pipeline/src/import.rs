//! Atomic, streaming imports of prompts, pairs and gold items, all on one skeleton: a parser on a
//! blocking thread sends validated batches; each batch is written inside one transaction while
//! the next is parsed; the audit entry is written in the same transaction; then it commits. A bad
//! line anywhere leaves the project exactly as it was, and memory stays flat whatever the size.

mod pairs;
mod prompts;

pub use pairs::{
    import_gold, import_pair_rows, import_pairs, maybe_gunzip, PairRows, MAX_LINE_BYTES,
};
pub use prompts::{import_prompts, ImportOptions};

use crate::PipelineError;
use pairwise_core::{Actor, PromptImportError};
use pairwise_store::{audit, DatabaseConnection, StoreError};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::{
    sync::mpsc::{Receiver, Sender},
    task::JoinHandle,
};

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

/// An error of line `line` (0: the file as a whole) that names no field.
pub(crate) fn line_error(line: u64, message: String) -> ImportError {
    ImportError::Parse(PromptImportError {
        line,
        field: None,
        message,
    })
}

/// Where a parser sends its batches (an error ends the import).
pub(crate) type Batches<B> = Sender<Result<B, ImportError>>;

/// Rows read and rows new, as an import goes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub rows: u64,
    pub inserted: u64,
}

/// The audit entry an import writes in its own transaction.
pub(crate) struct ImportAudit<'a> {
    pub actor: &'a Actor,
    /// `prompts.import`, `pairs.import`, `gold.import`.
    pub action: &'static str,
    pub project: &'a str,
}

/// The skeleton every import runs on: a parser on a blocking thread sending batches, one
/// transaction they are written in, the audit entry in that transaction, the commit. Dropping an
/// unfinished import (any error) rolls the transaction back and stops the parser.
pub(crate) struct Import<B> {
    rx: Receiver<Result<B, ImportError>>,
    parser: JoinHandle<()>,
    txn: DatabaseTransaction,
    bulk: bool,
    pub tally: Tally,
}

impl<B: Send + 'static> Import<B> {
    /// Starts `parse` on a blocking thread and opens the transaction; `bulk` raises the
    /// connection's cache for it (large pair imports).
    pub async fn start(
        db: &DatabaseConnection,
        bulk: bool,
        parse: impl FnOnce(Batches<B>) + Send + 'static,
    ) -> Result<Self, ImportError> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let parser = tokio::task::spawn_blocking(move || parse(tx));
        let txn = db.begin().await?;
        if bulk {
            pairwise_store::db::begin_bulk(&txn).await?;
        }
        Ok(Self {
            rx,
            parser,
            txn,
            bulk,
            tally: Tally::default(),
        })
    }

    /// The next parsed batch, `None` at the end of the file, or the first error of the file.
    pub async fn next_batch(&mut self) -> Result<Option<B>, ImportError> {
        self.rx.recv().await.transpose()
    }

    /// The transaction batches are written in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Counts a written batch of `rows` rows of which `inserted` were new.
    pub fn count(&mut self, rows: usize, inserted: u64) -> Tally {
        self.tally.rows += rows as u64;
        self.tally.inserted += inserted;
        self.tally
    }

    /// Writes the audit entry (its detail made from the final tally) and commits.
    pub async fn finish(
        self,
        entry: ImportAudit<'_>,
        detail: impl FnOnce(Tally) -> serde_json::Value,
    ) -> Result<Tally, ImportError> {
        self.parser
            .await
            .map_err(|e| line_error(0, format!("the parser stopped: {e}")))?;
        let target = format!("project:{}", entry.project);
        let detail = detail(self.tally);
        audit::record(
            &self.txn,
            entry.actor,
            entry.action,
            &target,
            Some(entry.project),
            detail,
        )
        .await?;
        if self.bulk {
            pairwise_store::db::end_bulk(&self.txn).await?;
        }
        self.txn.commit().await?;
        Ok(self.tally)
    }
}
