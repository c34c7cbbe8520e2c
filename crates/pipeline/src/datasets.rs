//! Pair import (atomic, line-numbered errors, gzip accepted) and dataset export (streamed page by
//! page in constant memory; the same version always gives the same bytes).

use crate::import::ImportError;
use pairwise_core::{
    dto::PairImportReport, export_rows, pair_formats::from_json_row, ExportFormat, ExportPair,
    PairError, PairFormat,
};
use pairwise_store::{
    audit, datasets,
    pairs::{self, PairOrigin},
    projects, DatabaseConnection, StoreError,
};
use sea_orm::TransactionTrait;
use std::io::{BufRead, BufReader, Read, Write};

/// Rows per INSERT (15 columns × 500 stays below every bind limit).
const BATCH: usize = 500;
/// Pairs read per query while exporting.
const EXPORT_PAGE: u64 = 1000;
/// Longest accepted line: a bigger one is a broken or hostile file, not a pair.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// Wraps `reader` in a gzip decoder when it starts with the gzip magic bytes.
pub fn maybe_gunzip<R: Read + 'static>(reader: R) -> std::io::Result<Box<dyn BufRead>> {
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

/// Imports every row of `reader` as pairs of `project`, or nothing at all.
pub async fn import_pairs<R: BufRead>(
    db: &DatabaseConnection,
    project: &str,
    mut reader: R,
    format: PairFormat,
    source: &str,
    actor: Option<i64>,
    mut on_batch: impl FnMut(&PairImportReport),
) -> Result<PairImportReport, ImportError> {
    let project = projects::require(db, project).await?;
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: source.to_owned(),
        provenance: serde_json::json!({"import_format": format}),
    };
    let txn = db.begin().await?;
    let mut report = PairImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        line += 1;
        // Bounded read: a line longer than the cap is an error, not an allocation.
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_error(line, format!("unreadable: {e}")))?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE_BYTES {
            return Err(read_error(
                line,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|e| read_error(line, format!("not UTF-8: {e}")))?
            .trim();
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| read_error(line, format!("invalid JSON: {e}")))?;
        batch.push(from_json_row(line, format, value)?);
        if batch.len() == BATCH {
            report.inserted += pairs::insert_batch(&txn, project.id, &batch, &origin).await?;
            report.rows += batch.len() as u64;
            batch.clear();
            report.duplicates = report.rows - report.inserted;
            on_batch(&report);
        }
    }
    report.inserted += pairs::insert_batch(&txn, project.id, &batch, &origin).await?;
    report.rows += batch.len() as u64;
    report.duplicates = report.rows - report.inserted;
    audit::record(
        &txn,
        actor,
        "pairs.import",
        &format!("project:{}", project.name),
        serde_json::json!(report),
    )
    .await?;
    txn.commit().await?;
    on_batch(&report);
    Ok(report)
}

/// A dataset version located for export.
#[derive(Debug, Clone)]
pub struct ExportTarget {
    pub project: String,
    pub version_id: i64,
    pub tag: String,
    pub pair_count: u64,
}

/// Finds `tag` of `project` (NotFound names which).
pub async fn export_target(
    db: &DatabaseConnection,
    project: &str,
    tag: &str,
) -> Result<ExportTarget, StoreError> {
    let p = projects::require(db, project).await?;
    let v = datasets::require(db, p.id, tag).await?;
    Ok(ExportTarget {
        project: p.name,
        version_id: v.id,
        tag: v.tag,
        pair_count: u64::try_from(v.pair_count).unwrap_or(0),
    })
}

/// The JSONL bytes of the version's pairs from `position` on (one page), the next position and
/// the rows written; an empty chunk means the end. Callers stream pages, so memory stays flat.
pub async fn export_chunk(
    db: &DatabaseConnection,
    target: &ExportTarget,
    format: ExportFormat,
    position: i64,
) -> Result<(Vec<u8>, i64, u64), StoreError> {
    let page = datasets::pairs_page(db, target.version_id, position, EXPORT_PAGE).await?;
    let mut out = Vec::with_capacity(page.len() * 512);
    let mut rows = 0u64;
    for p in &page {
        let prompt = pairs::prompt_of(p);
        let metadata = serde_json::json!({
            "pair_id": p.id,
            "hash": p.hash,
            "strategy": p.strategy,
            "margin": p.margin,
            "score_chosen": p.score_chosen,
            "score_rejected": p.score_rejected,
            "source": p.source,
            "provenance": serde_json::from_str::<serde_json::Value>(&p.provenance).unwrap_or_default(),
            "dataset_version": target.tag,
            "extra": serde_json::from_str::<serde_json::Value>(&p.metadata).unwrap_or_default(),
        });
        let pair = ExportPair {
            prompt: &prompt,
            chosen: &p.chosen,
            rejected: &p.rejected,
            metadata: &metadata,
        };
        for row in export_rows(format, &pair) {
            serde_json::to_writer(&mut out, &row)
                .map_err(|e| StoreError::invalid("format", e.to_string()))?;
            out.push(b'\n');
            rows += 1;
        }
    }
    Ok((out, position + page.len() as i64, rows))
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
    let io = |e: std::io::Error| StoreError::invalid("out", format!("cannot write: {e}"));
    let (mut rows, mut position) = (0u64, 0i64);
    loop {
        let (chunk, next, n) = export_chunk(db, &target, format, position).await?;
        if chunk.is_empty() {
            break;
        }
        out.write_all(&chunk).map_err(io)?;
        rows += n;
        position = next;
    }
    out.flush().map_err(io)?;
    Ok(rows)
}
