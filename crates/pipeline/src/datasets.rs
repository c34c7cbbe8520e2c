//! Pair import (atomic, line-numbered errors, gzip accepted) and dataset export (streamed page by
//! page in constant memory; the same version always gives the same bytes).

mod freeze;
pub use freeze::freeze_version;

use crate::{access::require, import::ImportError};
use pairwise_core::{
    dto::PairImportReport, pair_formats::from_json_row, write_rows, Actor, ExportFormat,
    ExportPair, PairError, PairFormat, Role,
};
use pairwise_store::{
    audit, datasets,
    pairs::{self, HashedPair, PairOrigin},
    projects, DatabaseConnection, StoreError,
};
use sea_orm::TransactionTrait;
use std::io::{BufRead, BufReader, Read, Write};

/// Rows per INSERT (15 columns × 2000 stays below SQLite's 32,766 and PostgreSQL's 65,535 binds).
const BATCH: usize = 2000;
/// Pairs read per query while exporting.
const EXPORT_PAGE: u64 = 5000;
/// Longest accepted line: a bigger one is a broken or hostile file, not a pair.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// Wraps `reader` in a gzip decoder when it starts with the gzip magic bytes.
pub fn maybe_gunzip<R: Read + Send + 'static>(
    reader: R,
) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut buffered = BufReader::new(reader);
    let magic = buffered.fill_buf()?;
    if magic.len() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
        Ok(Box::new(BufReader::new(
            flate2::bufread::MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

impl From<PairError> for ImportError {
    fn from(e: PairError) -> Self {
        ImportError::Parse(pairwise_core::PromptImportError {
            line: e.line,
            field: e.field,
            message: e.message,
        })
    }
}

fn read_error(line: u64, message: String) -> ImportError {
    ImportError::Parse(pairwise_core::PromptImportError {
        line,
        field: None,
        message,
    })
}

/// Reads, validates and hashes rows on a blocking thread, in batches; stops at the first error.
fn parse_batches<R: BufRead>(
    mut reader: R,
    format: PairFormat,
    tx: tokio::sync::mpsc::Sender<Result<Vec<HashedPair>, ImportError>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let fail = |e: ImportError| {
        let _ = tx.blocking_send(Err(e));
    };
    loop {
        buf.clear();
        line += 1;
        // Bounded read: a line longer than the cap is an error, not an allocation.
        let n = match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(n) => n,
            Err(e) => return fail(read_error(line, format!("unreadable: {e}"))),
        };
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE_BYTES {
            return fail(read_error(
                line,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(e) => return fail(read_error(line, format!("not UTF-8: {e}"))),
        };
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return fail(read_error(line, format!("invalid JSON: {e}"))),
        };
        match from_json_row(line, format, value) {
            Ok(record) => batch.push(HashedPair::from(record)),
            Err(e) => return fail(e.into()),
        }
        if batch.len() == BATCH
            && tx
                .blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                .is_err()
        {
            return; // the importer stopped listening (it failed); nothing more to do
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
}

/// Imports every row of `reader` as pairs of `project`, or nothing at all. Parsing and hashing
/// run on a blocking thread while the previous batch is written, so the two cores overlap.
pub async fn import_pairs<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    project: &str,
    reader: R,
    format: PairFormat,
    source: &str,
    actor: &Actor,
    mut on_batch: impl FnMut(&PairImportReport),
) -> Result<PairImportReport, ImportError> {
    require(actor, Role::Reviewer, "import pairs")?;
    let project = projects::require(db, project).await?;
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: source.to_owned(),
        provenance: serde_json::json!({"import_format": format}),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let parser = tokio::task::spawn_blocking(move || parse_batches(reader, format, tx));
    let txn = db.begin().await?;
    pairwise_store::db::begin_bulk(&txn).await?;
    let mut report = PairImportReport::default();
    while let Some(batch) = rx.recv().await {
        // An error returns here; dropping `txn` rolls back and dropping `rx` stops the parser.
        // (A connection left with the bulk cache after an error only holds more memory.)
        let batch = batch?;
        report.inserted += pairs::insert_batch(&txn, project.id, &batch, &origin).await?;
        report.rows += batch.len() as u64;
        report.duplicates = report.rows - report.inserted;
        on_batch(&report);
    }
    parser
        .await
        .map_err(|e| read_error(0, format!("the parser stopped: {e}")))?;
    audit::record(
        &txn,
        actor,
        "pairs.import",
        &format!("project:{}", project.name),
        Some(&project.name),
        serde_json::json!(report),
    )
    .await?;
    pairwise_store::db::end_bulk(&txn).await?;
    txn.commit().await?;
    on_batch(&report);
    Ok(report)
}

/// Imports a golden set: each row's chosen answer is the agreed answer of a new gold item
/// (which side is X is random). Atomic like a pair import: a bad line names itself and stores
/// nothing. Items already queued (same prompt and answers) are counted as duplicates.
pub async fn import_gold<R: BufRead + Send + 'static>(
    db: &DatabaseConnection,
    project: &str,
    reader: R,
    format: PairFormat,
    source: &str,
    actor: &Actor,
) -> Result<PairImportReport, ImportError> {
    require(actor, Role::Reviewer, "import gold")?;
    let project = projects::require(db, project).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let parser = tokio::task::spawn_blocking(move || parse_batches(reader, format, tx));
    let txn = db.begin().await?;
    let mut report = PairImportReport::default();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        report.inserted +=
            pairwise_store::annotation::insert_gold(&txn, project.id, &batch, source, &mut rng)
                .await?;
        report.rows += batch.len() as u64;
        report.duplicates = report.rows - report.inserted;
    }
    parser
        .await
        .map_err(|e| read_error(0, format!("the parser stopped: {e}")))?;
    audit::record(
        &txn,
        actor,
        "gold.import",
        &format!("project:{}", project.name),
        Some(&project.name),
        serde_json::json!(report),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// The `metadata` object of every exported row. Stored JSON (provenance, the row's own fields)
/// is embedded as written, without rebuilding it per row.
#[derive(serde::Serialize)]
struct ExportMeta<'a> {
    /// `train` or `eval` under the version's split rule.
    split: &'static str,
    pair_id: i64,
    hash: &'a str,
    strategy: &'a str,
    margin: Option<f64>,
    score_chosen: Option<f64>,
    score_rejected: Option<f64>,
    source: &'a str,
    provenance: &'a serde_json::value::RawValue,
    dataset_version: &'a str,
    extra: &'a serde_json::value::RawValue,
}

/// A dataset version located for export.
#[derive(Debug, Clone)]
pub struct ExportTarget {
    pub project: String,
    pub version_id: i64,
    pub tag: String,
    pub pair_count: u64,
    /// The version's split rule (from its frozen recipe).
    pub split_rule: Option<pairwise_core::recipe::SplitRule>,
    /// Export only this split (`train` or `eval`); `None` exports every pair.
    pub only_split: Option<&'static str>,
}

impl ExportTarget {
    /// Restricts the export to one split; anything but `train`/`eval` is refused by name.
    pub fn with_split(mut self, split: Option<&str>) -> Result<Self, StoreError> {
        self.only_split = match split {
            None | Some("") => None,
            Some("train") => Some(pairwise_core::recipe::TRAIN),
            Some("eval") => Some(pairwise_core::recipe::EVAL),
            Some(other) => {
                return Err(StoreError::invalid(
                    "split",
                    format!("`{other}` is not a split: use train or eval"),
                ))
            }
        };
        Ok(self)
    }

    /// The split of one member: as stored at freeze time, else (versions frozen before splits
    /// were stored) derived under the version's rule from the pair's prompt, provenance and
    /// metadata.
    pub fn split_of(
        &self,
        stored: Option<&str>,
        prompt: &str,
        provenance: &str,
        metadata: &str,
    ) -> &'static str {
        match stored {
            Some("eval") => pairwise_core::recipe::EVAL,
            Some("train") => pairwise_core::recipe::TRAIN,
            _ => datasets::pair_split(self.split_rule.as_ref(), prompt, provenance, metadata),
        }
    }
}

/// Finds `tag` of `project` (NotFound names which).
pub async fn export_target(
    db: &DatabaseConnection,
    project: &str,
    tag: &str,
) -> Result<ExportTarget, StoreError> {
    let p = projects::require(db, project).await?;
    let v = datasets::require(db, p.id, tag).await?;
    let recipe: pairwise_core::Recipe = serde_json::from_str(&v.recipe).unwrap_or_default();
    Ok(ExportTarget {
        project: p.name,
        version_id: v.id,
        tag: v.tag,
        pair_count: u64::try_from(v.pair_count).unwrap_or(0),
        split_rule: recipe.split,
        only_split: None,
    })
}

type MemberPage = Vec<datasets::ExportRow>;

/// The JSONL bytes of one page of members and the rows written (a page may write nothing when a
/// split is selected).
fn render_page(
    target: &ExportTarget,
    format: ExportFormat,
    page: &MemberPage,
) -> Result<(Vec<u8>, u64), StoreError> {
    let mut out = Vec::with_capacity(page.len() * 512);
    let mut rows = 0u64;
    let bad = |e: serde_json::Error| StoreError::invalid("metadata", e.to_string());
    for p in page {
        let split = target.split_of(p.split.as_deref(), &p.prompt, &p.provenance, &p.metadata);
        if target.only_split.is_some_and(|only| only != split) {
            continue;
        }
        let prompt: Vec<pairwise_core::ChatMessage> =
            serde_json::from_str(&p.prompt).unwrap_or_default();
        let metadata = ExportMeta {
            split,
            pair_id: p.id,
            hash: &p.hash,
            strategy: &p.strategy,
            margin: p.margin,
            score_chosen: p.score_chosen,
            score_rejected: p.score_rejected,
            source: &p.source,
            provenance: serde_json::from_str(&p.provenance).map_err(bad)?,
            dataset_version: &target.tag,
            extra: serde_json::from_str(&p.metadata).map_err(bad)?,
        };
        let pair = ExportPair {
            prompt: &prompt,
            chosen: &p.chosen,
            rejected: &p.rejected,
            metadata: &metadata,
        };
        rows += write_rows(&mut out, format, &pair)
            .map_err(|e| StoreError::invalid("format", e.to_string()))? as u64;
    }
    Ok((out, rows))
}

/// Pages of members read ahead of the one being formatted. Each read runs on its own pooled
/// connection (on SQLite, its own worker thread), so with two ahead the database reads use the
/// second core while this one formats rows; memory holds `READ_AHEAD + 1` pages at most.
const READ_AHEAD: usize = 2;

/// A version's export as a stream of JSONL chunks, one page of members each, in version order.
/// Member positions are dense (0..pair_count), so the pages ahead are known without waiting.
pub struct ExportChunks {
    db: DatabaseConnection,
    target: ExportTarget,
    format: ExportFormat,
    /// Members handed out so far.
    position: i64,
    /// Position of the next page to request.
    requested: i64,
    ahead: std::collections::VecDeque<tokio::task::JoinHandle<Result<MemberPage, StoreError>>>,
    done: bool,
}

impl ExportChunks {
    pub fn new(db: &DatabaseConnection, target: &ExportTarget, format: ExportFormat) -> Self {
        Self {
            db: db.clone(),
            target: target.clone(),
            format,
            position: 0,
            requested: 0,
            ahead: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// Requests pages until `READ_AHEAD + 1` are pending (none past the version's end).
    fn fill(&mut self) {
        let end = i64::try_from(self.target.pair_count).unwrap_or(i64::MAX);
        while self.ahead.len() <= READ_AHEAD && (self.requested < end || self.ahead.is_empty()) {
            let (db, version) = (self.db.clone(), self.target.version_id);
            let position = self.requested;
            self.ahead.push_back(tokio::spawn(async move {
                datasets::export_page(&db, version, position, EXPORT_PAGE).await
            }));
            self.requested += EXPORT_PAGE as i64;
        }
    }

    /// Members read so far (for progress: a version has `target.pair_count`).
    pub fn members_done(&self) -> u64 {
        self.position as u64
    }

    /// The next chunk's bytes and rows; `None` after the last member.
    pub async fn next_chunk(&mut self) -> Result<Option<(Vec<u8>, u64)>, StoreError> {
        if self.done {
            return Ok(None);
        }
        self.fill();
        let Some(handle) = self.ahead.pop_front() else {
            return Ok(None);
        };
        let page = handle
            .await
            .map_err(|e| StoreError::invalid("export", format!("reading pairs failed: {e}")))??;
        self.position += page.len() as i64;
        if (page.len() as u64) < EXPORT_PAGE {
            self.done = true;
        }
        if page.is_empty() {
            return Ok(None);
        }
        render_page(&self.target, self.format, &page).map(Some)
    }
}

impl Drop for ExportChunks {
    fn drop(&mut self) {
        // A download cancelled mid-way (or an export past its end) stops its reads ahead.
        for handle in self.ahead.drain(..) {
            handle.abort();
        }
    }
}

/// Writes version `tag` of `project` to `out` as JSONL in `format`; returns the rows written.
pub async fn export_version<W: Write>(
    db: &DatabaseConnection,
    project: &str,
    tag: &str,
    format: ExportFormat,
    out: &mut W,
) -> Result<u64, StoreError> {
    let target = export_target(db, project, tag).await?;
    export_to(db, &target, format, out).await
}

/// Writes an export target (a version, maybe one split) to `out` as JSONL in `format`.
pub async fn export_to<W: Write>(
    db: &DatabaseConnection,
    target: &ExportTarget,
    format: ExportFormat,
    out: &mut W,
) -> Result<u64, StoreError> {
    export_to_with_progress(db, target, format, out, |_| ()).await
}

/// [`export_to`], calling `progress` with the members done after each page.
pub async fn export_to_with_progress<W: Write>(
    db: &DatabaseConnection,
    target: &ExportTarget,
    format: ExportFormat,
    out: &mut W,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    let io = |e: std::io::Error| StoreError::invalid("out", format!("cannot write: {e}"));
    let mut rows = 0u64;
    let mut chunks = ExportChunks::new(db, target, format);
    while let Some((chunk, n)) = chunks.next_chunk().await? {
        out.write_all(&chunk).map_err(io)?;
        rows += n;
        progress(chunks.members_done());
    }
    out.flush().map_err(io)?;
    Ok(rows)
}
