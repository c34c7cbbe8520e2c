//! Pair import (the TRL, HH-RLHF and UltraFeedback layouts, gzip accepted) and gold import: the
//! same parser, one row a line, validated and hashed on the parsing thread.

use super::{line_error, Batches, Import, ImportAudit, ImportError, Tally};
use pairwise_core::{
    dto::PairImportReport, pair_formats::records_from_json_row, parquet_lines::ParquetRows, Actor,
    PairError, PairFormat, Role,
};
use pairwise_store::{
    pairs::{HashedPair, PairInsert, PairOrigin},
    DatabaseConnection,
};
use std::io::{BufRead, BufReader, Read};

/// Rows per INSERT (15 columns × 2000 stays below SQLite's 32,766 and PostgreSQL's 65,535 binds).
const BATCH: usize = 2000;
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

/// JSONL rows of `reader` with their line numbers: a bounded read per line (a longer line is an
/// error, never an allocation), blank lines skipped.
fn json_lines<R: BufRead>(
    mut reader: R,
) -> impl Iterator<Item = Result<(u64, serde_json::Value), ImportError>> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        buf.clear();
        line += 1;
        let n = match (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
        {
            Ok(n) => n,
            Err(e) => {
                done = true;
                return Some(Err(line_error(line, format!("unreadable: {e}"))));
            }
        };
        if n == 0 {
            return None;
        }
        if buf.len() > MAX_LINE_BYTES {
            done = true;
            return Some(Err(line_error(
                line,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            )));
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim(),
            Err(e) => {
                done = true;
                return Some(Err(line_error(line, format!("not UTF-8: {e}"))));
            }
        };
        if text.is_empty() {
            continue;
        }
        return Some(
            serde_json::from_str(text)
                .map(|v| (line, v))
                .map_err(|e| line_error(line, format!("invalid JSON: {e}"))),
        );
    })
}

/// The rows of a Parquet file, numbered from 1 like lines.
fn parquet_rows(
    rows: ParquetRows,
) -> impl Iterator<Item = Result<(u64, serde_json::Value), ImportError>> {
    rows.enumerate().map(|(i, row)| {
        let line = i as u64 + 1;
        row.map(|v| (line, v)).map_err(|e| line_error(line, e))
    })
}

/// Validates and hashes rows on a blocking thread, in batches of [`BATCH`] pairs that `seal`
/// turns into what the writer takes; stops at the first error.
fn parse_batches<B>(
    rows: impl Iterator<Item = Result<(u64, serde_json::Value), ImportError>>,
    format: PairFormat,
    tx: Batches<B>,
    mut seal: impl FnMut(Vec<HashedPair>) -> B,
) {
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        let records = row.and_then(|(line, value)| Ok(records_from_json_row(line, format, value)?));
        match records {
            Ok(records) => batch.extend(records.into_iter().map(HashedPair::from)),
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(Ok(seal(full))).is_err() {
                return; // the importer stopped listening (it failed); nothing more to do
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(seal(batch)));
    }
}

/// Where the rows of a pair import come from.
pub enum PairRows {
    /// JSONL text (gzip already undone; see [`maybe_gunzip`]).
    Lines(Box<dyn BufRead + Send>),
    /// A Parquet file, read straight from its Arrow arrays.
    Parquet(ParquetRows),
}

impl PairRows {
    /// The rows of a pair file, whatever its name says: Parquet when it starts with Parquet's
    /// magic bytes `PAR1`, else JSONL (gzip undone). `wrap` wraps the text reader (a progress
    /// bar). A file that cannot be read, or Parquet that is not readable, is an error saying so.
    pub fn open(
        mut file: std::fs::File,
        wrap: impl FnOnce(std::fs::File) -> Box<dyn Read + Send>,
    ) -> std::io::Result<Self> {
        use std::io::{Seek, SeekFrom};
        let mut magic = [0u8; 4];
        let mut n = 0;
        while n < magic.len() {
            match file.read(&mut magic[n..])? {
                0 => break,
                read => n += read,
            }
        }
        file.seek(SeekFrom::Start(0))?;
        if n == magic.len() && &magic == b"PAR1" {
            return ParquetRows::open(file)
                .map(PairRows::Parquet)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()));
        }
        maybe_gunzip(wrap(file)).map(PairRows::Lines)
    }

    fn parse<B>(self, format: PairFormat, tx: Batches<B>, seal: impl FnMut(Vec<HashedPair>) -> B) {
        match self {
            PairRows::Lines(reader) => parse_batches(json_lines(reader), format, tx, seal),
            PairRows::Parquet(rows) => parse_batches(parquet_rows(rows), format, tx, seal),
        }
    }
}

fn report(t: Tally) -> PairImportReport {
    PairImportReport {
        rows: t.rows,
        inserted: t.inserted,
        duplicates: t.rows - t.inserted,
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
    on_batch: impl FnMut(&PairImportReport),
) -> Result<PairImportReport, ImportError> {
    let rows = PairRows::Lines(Box::new(reader));
    import_pair_rows(db, project, rows, format, source, actor, on_batch).await
}

/// [`import_pairs`] from JSONL text or a Parquet file.
pub async fn import_pair_rows(
    db: &DatabaseConnection,
    project: &str,
    rows: PairRows,
    format: PairFormat,
    source: &str,
    actor: &Actor,
    mut on_batch: impl FnMut(&PairImportReport),
) -> Result<PairImportReport, ImportError> {
    let project =
        crate::access::project(db, actor, project, Role::Reviewer, "import pairs").await?;
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: source.to_owned(),
        provenance: serde_json::json!({"import_format": format}),
    };
    // The parsing thread also builds each batch's INSERT, so the writer only executes them.
    let (backend, project_id, now) = (db.get_database_backend(), project.id, chrono::Utc::now());
    let seal =
        move |batch: Vec<HashedPair>| PairInsert::new(backend, project_id, batch, &origin, now);
    let mut import = Import::start(db, true, move |tx| rows.parse(format, tx, seal)).await?;
    while let Some(insert) = import.next_batch().await? {
        let rows = insert.rows();
        let inserted = insert.execute(import.txn()).await?;
        on_batch(&report(import.count(rows, inserted)));
    }
    let entry = ImportAudit {
        actor,
        action: "pairs.import",
        project: &project.name,
    };
    let tally = import
        .finish(entry, |t| serde_json::json!(report(t)))
        .await?;
    on_batch(&report(tally));
    Ok(report(tally))
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
    let project = crate::access::project(db, actor, project, Role::Reviewer, "import gold").await?;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let mut import = Import::start(db, false, move |tx| {
        parse_batches(json_lines(reader), format, tx, |batch| batch)
    })
    .await?;
    while let Some(batch) = import.next_batch().await? {
        let inserted = pairwise_store::annotation::insert_gold(
            import.txn(),
            project.id,
            &batch,
            source,
            &mut rng,
        )
        .await?;
        import.count(batch.len(), inserted);
    }
    let entry = ImportAudit {
        actor,
        action: "gold.import",
        project: &project.name,
    };
    let tally = import
        .finish(entry, |t| serde_json::json!(report(t)))
        .await?;
    Ok(report(tally))
}
