//! A Parquet file read as JSONL lines — one row per line, a `metadata` column holding JSON text
//! turned back into an object — one record batch in memory at a time, so the JSONL pair parser
//! (its format checks, line numbers and atomicity) applies to Parquet imports unchanged.
//!
//! Files are untrusted: before any page is decoded, the footer's declared sizes are checked
//! against the file's real length and against fixed caps, so a corrupted or hostile file (a huge
//! declared row count, page or column size) is an error naming what is wrong, never a huge
//! allocation. A cargo-fuzz target drives this reader.

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use parquet::{arrow::arrow_reader::ParquetRecordBatchReaderBuilder, file::reader::ChunkReader};
use std::io::Read;

/// Rows per record batch when reading.
const READ_BATCH: usize = 1024;

/// The most rows a file may declare.
pub const MAX_ROWS: i64 = 100_000_000;

/// The most uncompressed bytes one column chunk may declare (a row group's column).
pub const MAX_COLUMN_CHUNK: i64 = 1 << 30;

/// A Parquet file that cannot be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable Parquet file: {0}")]
pub struct ParquetError(pub String);

/// Reads a Parquet file as JSONL bytes.
pub struct ParquetLines {
    batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
    buffer: std::io::Cursor<Vec<u8>>,
    /// The decoder panicked: its state is not trusted again.
    failed: bool,
}

/// Runs `f`, turning a panic into its message. The parquet crate's decoders panic on some
/// malformed pages (a division by zero in the byte-array reader, found by the fuzz target):
/// a hostile file must be an error naming the problem, not a crashed import.
fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned())
    })
}

impl ParquetLines {
    /// Opens a Parquet file (a `File`, or `bytes::Bytes` in memory); a file that is not valid
    /// Parquet, or declares more than the caps allow, is an error saying so.
    pub fn open<R: ChunkReader + 'static>(file: R) -> Result<Self, ParquetError> {
        contained(|| Self::open_checked(file))
            .unwrap_or_else(|message| Err(ParquetError(format!("the decoder failed: {message}"))))
    }

    fn open_checked<R: ChunkReader + 'static>(file: R) -> Result<Self, ParquetError> {
        let length = file.len();
        let bad = |e: parquet::errors::ParquetError| ParquetError(e.to_string());
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
        let meta = builder.metadata().clone();
        let rows = meta.file_metadata().num_rows();
        if !(0..=MAX_ROWS).contains(&rows) {
            return Err(ParquetError(format!(
                "the footer declares {rows} rows (at most {MAX_ROWS})"
            )));
        }
        let mut declared: i64 = 0;
        for (g, group) in meta.row_groups().iter().enumerate() {
            if !(0..=rows).contains(&group.num_rows()) {
                return Err(ParquetError(format!(
                    "row group {g} declares {} rows of a {rows}-row file",
                    group.num_rows()
                )));
            }
            declared = declared.saturating_add(group.num_rows());
            for (c, column) in group.columns().iter().enumerate() {
                // What `byte_range()` (which panics on negative values) computes, checked.
                let start = column
                    .dictionary_page_offset()
                    .unwrap_or(column.data_page_offset());
                let size = column.compressed_size();
                let end = i64::try_from(length).unwrap_or(i64::MAX);
                if start < 0 || size < 0 || start.saturating_add(size) > end {
                    return Err(ParquetError(format!(
                        "row group {g}, column {c} declares bytes {start}..{start}+{size} of a \
                         {length}-byte file"
                    )));
                }
                let uncompressed = column.uncompressed_size();
                if !(0..=MAX_COLUMN_CHUNK).contains(&uncompressed) {
                    return Err(ParquetError(format!(
                        "row group {g}, column {c} declares {uncompressed} uncompressed bytes \
                         (at most {MAX_COLUMN_CHUNK})"
                    )));
                }
            }
        }
        if declared != rows {
            return Err(ParquetError(format!(
                "row groups hold {declared} rows but the footer declares {rows}"
            )));
        }
        let reader = builder.with_batch_size(READ_BATCH).build().map_err(bad)?;
        Ok(Self {
            batches: Box::new(reader),
            buffer: std::io::Cursor::new(Vec::new()),
            failed: false,
        })
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        if self.failed {
            return Err(std::io::Error::other("corrupt Parquet data"));
        }
        let next = contained(|| self.batches.next()).unwrap_or_else(|message| {
            self.failed = true;
            Some(Err(ArrowError::ExternalError(message.into())))
        });
        let Some(batch) = next else {
            return Ok(false);
        };
        let batch =
            batch.map_err(|e| std::io::Error::other(format!("corrupt Parquet data: {e}")))?;
        let mut writer = arrow_json::LineDelimitedWriter::new(Vec::new());
        writer.write(&batch).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)?;
        let raw = writer.into_inner();
        let mut out = Vec::with_capacity(raw.len());
        for line in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let mut row: serde_json::Value =
                serde_json::from_slice(line).map_err(std::io::Error::other)?;
            if let Some(meta) = row.get_mut("metadata") {
                if let Some(parsed) = meta
                    .as_str()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                    .filter(serde_json::Value::is_object)
                {
                    *meta = parsed;
                }
            }
            serde_json::to_writer(&mut out, &row).map_err(std::io::Error::other)?;
            out.push(b'\n');
        }
        self.buffer = std::io::Cursor::new(out);
        Ok(true)
    }
}

impl Read for ParquetLines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.buffer.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if !self.refill()? {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    fn seed(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/parquet")
            .join(name)
    }

    fn rows(file: std::fs::File) -> Vec<serde_json::Value> {
        let lines = ParquetLines::open(file).expect("opens");
        std::io::BufReader::new(lines)
            .lines()
            .map(|l| serde_json::from_str(&l.expect("line")).expect("json"))
            .collect()
    }

    #[test]
    fn every_standard_codec_reads_the_same_rows() {
        // Written by pyarrow (fuzz/seeds/parquet), one file per codec.
        for codec in ["snappy", "gzip", "zstd", "lz4", "brotli", "none"] {
            let file = std::fs::File::open(seed(&format!("trl-{codec}.parquet"))).expect("seed");
            let rows = rows(file);
            assert_eq!(rows.len(), 2, "{codec}");
            assert_eq!(rows[0]["prompt"], "What is 2+2?", "{codec}");
            // Metadata text comes back as an object.
            assert_eq!(rows[0]["metadata"]["split"], "train", "{codec}");
        }
        let conversational =
            rows(std::fs::File::open(seed("conversational-zstd.parquet")).expect("seed"));
        assert_eq!(conversational[0]["chosen"][0]["content"], "Hello");
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        let whole = std::fs::read(seed("trl-snappy.parquet")).expect("seed");
        for cut in [0, 4, whole.len() / 2, whole.len() - 9] {
            let mut bytes = whole[..cut].to_vec();
            // Keep a valid-looking tail so the footer parser runs on garbage.
            bytes.extend_from_slice(&whole[whole.len() - 8..]);
            let opened = ParquetLines::open(bytes::Bytes::from(bytes));
            if let Ok(lines) = opened {
                // Whatever opens reads to an end or an error, without a panic.
                let read: Result<Vec<String>, _> = std::io::BufReader::new(lines).lines().collect();
                if let Ok(read) = read {
                    assert!(read.len() <= 2, "cut at {cut}");
                }
            }
        }
        // Found by the fuzz target: a negative column offset made the parquet crate panic.
        let crash = std::fs::read(seed("crash-negative-column-offset.parquet")).expect("seed");
        let err = ParquetLines::open(bytes::Bytes::from(crash))
            .err()
            .expect("a negative offset is refused");
        assert!(err.to_string().contains("declares bytes"), "{err}");
        // Also found by it: a page that makes the byte-array decoder divide by zero. The panic
        // is contained and the read is an error.
        let crash = std::fs::read(seed("crash-decoder-divide-by-zero.parquet")).expect("seed");
        let failed = match ParquetLines::open(bytes::Bytes::from(crash)) {
            Err(e) => e.to_string(),
            Ok(lines) => std::io::BufReader::new(lines)
                .lines()
                .collect::<Result<Vec<String>, _>>()
                .expect_err("the corrupt page is an error")
                .to_string(),
        };
        assert!(failed.contains("divide by zero"), "{failed}");
        let err = ParquetLines::open(bytes::Bytes::from_static(b"PAR1 nope PAR1"))
            .err()
            .expect("not parquet");
        assert!(
            err.to_string().starts_with("not a readable Parquet file"),
            "{err}"
        );
    }
}
