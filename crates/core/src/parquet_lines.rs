//! A Parquet file read as JSON rows, straight from its Arrow arrays ([`ParquetRows`]: no JSON
//! text in between), or as JSONL lines ([`ParquetLines`]) — one row per line, a `metadata` column
//! holding JSON text turned back into an object — one record batch in memory at a time, so the
//! pair parser (its format checks, row numbers and atomicity) applies to Parquet imports
//! unchanged.
//!
//! Files are untrusted: before any page is decoded, the footer's declared sizes are checked
//! against the file's real length and against fixed caps, so a corrupted or hostile file (a huge
//! declared row count, page or column size) is an error naming what is wrong, never a huge
//! allocation. A cargo-fuzz target drives this reader.

use arrow_array::{cast::AsArray, types, Array, RecordBatch};
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

/// A Parquet file's rows as JSON objects, converted from the Arrow arrays of one record batch at
/// a time. Strings, booleans, integers, floats, lists and structs convert; another column type is
/// an error naming the column. A `metadata` column of JSON text becomes an object.
pub struct ParquetRows {
    batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
    batch: Option<RecordBatch>,
    row: usize,
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

impl ParquetRows {
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
            batch: None,
            row: 0,
            failed: false,
        })
    }

    /// The next record batch, or `None` at the end of the file.
    fn next_batch(&mut self) -> Option<Result<RecordBatch, String>> {
        if self.failed {
            return Some(Err("corrupt Parquet data".into()));
        }
        let next = contained(|| self.batches.next()).unwrap_or_else(|message| {
            self.failed = true;
            Some(Err(ArrowError::ExternalError(message.into())))
        });
        next.map(|b| b.map_err(|e| format!("corrupt Parquet data: {e}")))
    }
}

impl Iterator for ParquetRows {
    type Item = Result<serde_json::Value, String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &self.batch {
                if self.row < batch.num_rows() {
                    let row = self.row;
                    self.row += 1;
                    return Some(row_json(batch, row));
                }
            }
            match self.next_batch()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.row = 0;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// One row of a record batch as a JSON object (`metadata` text parsed into an object).
fn row_json(batch: &RecordBatch, row: usize) -> Result<serde_json::Value, String> {
    let schema = batch.schema();
    let mut object = serde_json::Map::with_capacity(batch.num_columns());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let mut value =
            json_at(column.as_ref(), row).map_err(|e| format!("column `{}`: {e}", field.name()))?;
        if field.name() == "metadata" {
            if let Some(parsed) = value
                .as_str()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .filter(serde_json::Value::is_object)
            {
                value = parsed;
            }
        }
        object.insert(field.name().clone(), value);
    }
    Ok(serde_json::Value::Object(object))
}

/// The value at `i` of an Arrow array as JSON.
fn json_at(array: &dyn Array, i: usize) -> Result<serde_json::Value, String> {
    use arrow_schema::DataType as T;
    use serde_json::Value;
    if array.is_null(i) {
        return Ok(Value::Null);
    }
    fn int<P: arrow_array::ArrowPrimitiveType>(array: &dyn Array, i: usize) -> Value
    where
        P::Native: Into<Value>,
    {
        array.as_primitive::<P>().value(i).into()
    }
    let float = |f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    Ok(match array.data_type() {
        T::Null => Value::Null,
        T::Utf8 => Value::String(array.as_string::<i32>().value(i).to_owned()),
        T::LargeUtf8 => Value::String(array.as_string::<i64>().value(i).to_owned()),
        T::Utf8View => Value::String(array.as_string_view().value(i).to_owned()),
        T::Boolean => Value::Bool(array.as_boolean().value(i)),
        T::Int8 => int::<types::Int8Type>(array, i),
        T::Int16 => int::<types::Int16Type>(array, i),
        T::Int32 => int::<types::Int32Type>(array, i),
        T::Int64 => int::<types::Int64Type>(array, i),
        T::UInt8 => int::<types::UInt8Type>(array, i),
        T::UInt16 => int::<types::UInt16Type>(array, i),
        T::UInt32 => int::<types::UInt32Type>(array, i),
        T::UInt64 => int::<types::UInt64Type>(array, i),
        T::Float32 => float(f64::from(
            array.as_primitive::<types::Float32Type>().value(i),
        )),
        T::Float64 => float(array.as_primitive::<types::Float64Type>().value(i)),
        T::List(_) => list(array.as_list::<i32>().value(i).as_ref())?,
        T::LargeList(_) => list(array.as_list::<i64>().value(i).as_ref())?,
        T::Struct(fields) => {
            let s = array.as_struct();
            let mut object = serde_json::Map::with_capacity(fields.len());
            for (field, column) in fields.iter().zip(s.columns()) {
                object.insert(field.name().clone(), json_at(column.as_ref(), i)?);
            }
            Value::Object(object)
        }
        other => return Err(format!("unsupported Parquet type {other}")),
    })
}

fn list(items: &dyn Array) -> Result<serde_json::Value, String> {
    (0..items.len())
        .map(|j| json_at(items, j))
        .collect::<Result<Vec<_>, _>>()
        .map(serde_json::Value::Array)
}

/// Reads a Parquet file as JSONL bytes (one [`ParquetRows`] row per line).
pub struct ParquetLines {
    rows: ParquetRows,
    buffer: std::io::Cursor<Vec<u8>>,
}

impl ParquetLines {
    /// Opens a Parquet file as [`ParquetRows::open`] does.
    pub fn open<R: ChunkReader + 'static>(file: R) -> Result<Self, ParquetError> {
        Ok(Self {
            rows: ParquetRows::open(file)?,
            buffer: std::io::Cursor::new(Vec::new()),
        })
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        let mut out = Vec::new();
        for row in self.rows.by_ref().take(READ_BATCH) {
            let row = row.map_err(std::io::Error::other)?;
            serde_json::to_writer(&mut out, &row).map_err(std::io::Error::other)?;
            out.push(b'\n');
        }
        let more = !out.is_empty();
        self.buffer = std::io::Cursor::new(out);
        Ok(more)
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
    fn arrow_types_convert_to_the_json_the_pair_parser_reads() {
        use arrow_array::{
            builder::{ListBuilder, StringBuilder, StructBuilder},
            Float32Array, Int64Array, LargeStringArray, StringArray,
        };
        use arrow_schema::{DataType, Field, Fields, Schema};
        use std::sync::Arc;
        let turn = Fields::from(vec![
            Field::new("role", DataType::Utf8, true),
            Field::new("content", DataType::Utf8, true),
        ]);
        let mut chosen = ListBuilder::new(StructBuilder::from_fields(turn.clone(), 2));
        for (role, content) in [("user", "Hi"), ("assistant", "Hello!")] {
            let s = chosen.values();
            s.field_builder::<StringBuilder>(0)
                .expect("role")
                .append_value(role);
            s.field_builder::<StringBuilder>(1)
                .expect("content")
                .append_value(content);
            s.append(true);
        }
        chosen.append(true);
        chosen.append_null();
        let chosen = chosen.finish();
        let schema = Arc::new(Schema::new(vec![
            Field::new("prompt", DataType::LargeUtf8, true),
            Field::new("chosen", chosen.data_type().clone(), true),
            Field::new("score_chosen", DataType::Float32, true),
            Field::new("id", DataType::Int64, true),
            Field::new("metadata", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(LargeStringArray::from(vec![Some("a"), None])),
                Arc::new(chosen),
                Arc::new(Float32Array::from(vec![Some(0.5), None])),
                Arc::new(Int64Array::from(vec![7, -1])),
                Arc::new(StringArray::from(vec![
                    Some(r#"{"k": 1}"#),
                    Some("not json"),
                ])),
            ],
        )
        .expect("batch");
        let mut bytes = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        let rows: Vec<serde_json::Value> = ParquetRows::open(bytes::Bytes::from(bytes))
            .expect("open")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows[0],
            serde_json::json!({
                "prompt": "a",
                "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
                "score_chosen": 0.5,
                "id": 7,
                "metadata": {"k": 1},
            })
        );
        assert_eq!(
            rows[1],
            serde_json::json!({
                "prompt": null, "chosen": null, "score_chosen": null, "id": -1,
                "metadata": "not json",
            })
        );
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
