//! Parquet export and import. Export turns the same rows as the JSONL export into Arrow record
//! batches, page by page (constant memory), with a fixed schema per format: text columns, message
//! lists as `list<struct<role, content>>` (what TRL's conversational format and `datasets`
//! expect), `label` as boolean, and `metadata` as a JSON string (its keys vary by pair source).
//! Import reads record batches one at a time and hands them to the JSONL pair parser as lines,
//! so every format check, line number and atomicity rule of the JSONL import applies.

use crate::datasets::{export_target, ExportChunks, ExportTarget};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use pairwise_core::ExportFormat;
use pairwise_store::{DatabaseConnection, StoreError};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use std::{io::Write, sync::Arc};

fn messages() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(Fields::from(vec![
            Field::new("role", DataType::Utf8, false),
            Field::new("content", DataType::Utf8, false),
        ])),
        true,
    )))
}

/// The columns of an export format.
pub fn schema(format: ExportFormat) -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let list = |name: &str| Field::new(name, messages(), false);
    let metadata = Field::new("metadata", DataType::Utf8, false);
    let fields = match format {
        ExportFormat::Trl => vec![text("prompt"), text("chosen"), text("rejected"), metadata],
        ExportFormat::TrlConversational => {
            vec![list("prompt"), list("chosen"), list("rejected"), metadata]
        }
        ExportFormat::TrlImplicit => vec![list("chosen"), list("rejected"), metadata],
        ExportFormat::HhRlhf => vec![text("chosen"), text("rejected"), metadata],
        ExportFormat::Kto => vec![
            list("prompt"),
            list("completion"),
            Field::new("label", DataType::Boolean, false),
            metadata,
        ],
        ExportFormat::TrlStepwise => vec![
            text("prompt"),
            Field::new(
                "completions",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
            Field::new(
                "labels",
                DataType::List(Arc::new(Field::new("item", DataType::Boolean, true))),
                false,
            ),
            metadata,
        ],
        ExportFormat::Sft => vec![list("messages"), metadata],
        ExportFormat::Listwise => vec![
            list("prompt"),
            Field::new(
                "completions",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
            Field::new(
                "strengths",
                DataType::List(Arc::new(Field::new("item", DataType::Float64, true))),
                false,
            ),
            metadata,
        ],
    };
    Arc::new(Schema::new(fields))
}

fn arrow_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::invalid("parquet", e.to_string())
}

/// JSONL rows with their `metadata` object replaced by its JSON text.
fn metadata_as_text(chunk: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(chunk.len() + 64);
    for line in chunk.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut row: serde_json::Value = serde_json::from_slice(line).map_err(arrow_err)?;
        if let Some(meta) = row.get_mut("metadata") {
            *meta = serde_json::Value::String(meta.to_string());
        }
        serde_json::to_writer(&mut out, &row).map_err(arrow_err)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Writes version `tag` of `project` as Parquet in `format`; returns the rows written. Two
/// exports of one version are byte-identical (fixed writer settings, no timestamps).
pub async fn export_version_parquet<W: Write + Send>(
    db: &DatabaseConnection,
    project: &str,
    tag: &str,
    format: ExportFormat,
    out: W,
) -> Result<u64, StoreError> {
    let target = export_target(db, project, tag).await?;
    write_parquet(db, &target, format, out).await
}

/// Writes an export target (a version, maybe one split) as Parquet.
pub async fn write_parquet<W: Write + Send>(
    db: &DatabaseConnection,
    target: &ExportTarget,
    format: ExportFormat,
    out: W,
) -> Result<u64, StoreError> {
    write_parquet_with_progress(db, target, format, out, |_| ()).await
}

/// [`write_parquet`], calling `progress` with the members done after each page.
pub async fn write_parquet_with_progress<W: Write + Send>(
    db: &DatabaseConnection,
    target: &ExportTarget,
    format: ExportFormat,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    let schema = schema(format);
    // Row groups of 32 Ki rows: the writer buffers one row group, so memory stays flat (the
    // default of 1 Mi rows held a million-pair export in memory, 310 MB peak; 64 Ki, 190 MB).
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(32 * 1024))
        .set_compression(Compression::SNAPPY)
        .set_created_by("pairwise".into())
        .build();
    let mut writer =
        ArrowWriter::try_new(out, schema.clone(), Some(properties)).map_err(arrow_err)?;
    let mut rows = 0u64;
    let mut chunks = ExportChunks::new(db, target, format);
    while let Some((chunk, n)) = chunks.next_chunk().await? {
        progress(chunks.members_done());
        if chunk.is_empty() {
            continue;
        }
        let lines = metadata_as_text(&chunk)?;
        let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
            .with_batch_size(n as usize + 1)
            .build_decoder()
            .map_err(arrow_err)?;
        let mut consumed = 0;
        while consumed < lines.len() {
            let used = decoder.decode(&lines[consumed..]).map_err(arrow_err)?;
            if used == 0 {
                break;
            }
            consumed += used;
        }
        if let Some(batch) = decoder.flush().map_err(arrow_err)? {
            writer.write(&batch).map_err(arrow_err)?;
        }
        rows += n;
    }
    writer.close().map_err(arrow_err)?;
    Ok(rows)
}

/// A Parquet file read as JSONL lines, with its declared sizes checked first.
pub use pairwise_core::parquet_lines::{ParquetError, ParquetLines, ParquetRows};
