//! The floors `bench datasets` measures its import and export against, in the same run on the
//! same database: a bare scan of the version's rows writing as many bytes as the export wrote,
//! and a bare bulk insert of the same input rows into a table with no index but its key. Absolute
//! rates move with the machine; the ratio to the floor says how much of the time is Pairwise's
//! own work (validation, hashing, dedup, provenance, the export format).

use sea_orm::{
    ConnectionTrait, Database, DbBackend, Statement, StreamTrait, TransactionTrait, Value,
};
use std::{
    io::{BufRead, Write},
    path::Path,
    time::Instant,
};

/// Rows per INSERT of the bulk-insert floor (4 values each, under every backend's bind limit).
const INSERT_BATCH: usize = 1000;

/// Seconds to scan version `tag` of `project` in position order and write `bytes` bytes of
/// JSON lines (the rows' text, padded with newlines to the export's size) to `out`.
pub async fn scan_floor(
    url: &str,
    project: &str,
    tag: &str,
    out: &Path,
    bytes: u64,
) -> anyhow::Result<f64> {
    use futures_util::StreamExt;
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    let sql = "SELECT p.prompt_text, p.chosen, p.rejected FROM dataset_members m \
               JOIN pairs p ON p.id = m.pair_id \
               JOIN dataset_versions v ON v.id = m.version_id \
               JOIN projects pr ON pr.id = v.project_id \
               WHERE pr.name = $1 AND v.tag = $2 ORDER BY m.position";
    let sql = if backend == DbBackend::Sqlite {
        sql.replace("$1", "?").replace("$2", "?")
    } else {
        sql.to_owned()
    };
    let t = Instant::now();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut written = 0u64;
    let mut stream = db
        .stream_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [project.into(), tag.into()],
        ))
        .await?;
    while let Some(row) = stream.next().await {
        let row = row?;
        let (prompt, chosen, rejected): (String, String, String) = (
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        );
        let line = serde_json::to_string(&(prompt, chosen, rejected))?;
        w.write_all(line.as_bytes())?;
        w.write_all(b"\n")?;
        written += line.len() as u64 + 1;
    }
    drop(stream);
    // The same number of bytes as the export: the rest as newlines.
    let mut pad = bytes.saturating_sub(written);
    let block = vec![b'\n'; 1 << 16];
    while pad > 0 {
        let n = pad.min(block.len() as u64) as usize;
        w.write_all(&block[..n])?;
        pad -= n as u64;
    }
    w.flush()?;
    w.into_inner()?.sync_all()?;
    Ok(t.elapsed().as_secs_f64())
}

/// Seconds to read and parse the input rows and insert them in batches into a bare table
/// (created here and dropped after).
pub async fn insert_floor(url: &str, input: &Path) -> anyhow::Result<f64> {
    let db = Database::connect(url).await?;
    let backend = db.get_database_backend();
    db.execute_unprepared("DROP TABLE IF EXISTS bench_floor")
        .await?;
    let key = if backend == DbBackend::Sqlite {
        "INTEGER PRIMARY KEY"
    } else {
        "BIGSERIAL PRIMARY KEY"
    };
    db.execute_unprepared(&format!(
        "CREATE TABLE bench_floor (id {key}, prompt TEXT NOT NULL, chosen TEXT NOT NULL, \
         rejected TEXT NOT NULL, source TEXT NOT NULL)"
    ))
    .await?;
    let t = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(input)?);
    let mut batch: Vec<[String; 4]> = Vec::with_capacity(INSERT_BATCH);
    let txn = db.begin().await?;
    let flush = |batch: &mut Vec<[String; 4]>| {
        let mut sql =
            String::from("INSERT INTO bench_floor (prompt, chosen, rejected, source) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 4);
        for (i, row) in batch.drain(..).enumerate() {
            if i > 0 {
                sql.push(',');
            }
            if backend == DbBackend::Sqlite {
                sql.push_str("(?,?,?,?)");
            } else {
                let n = i * 4;
                sql.push_str(&format!("(${},${},${},${})", n + 1, n + 2, n + 3, n + 4));
            }
            values.extend(row.into_iter().map(Value::from));
        }
        Statement::from_sql_and_values(backend, sql, values)
    };
    for line in reader.lines() {
        let line = line?;
        let row: serde_json::Value = serde_json::from_str(&line)?;
        let text = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        batch.push([
            text("prompt"),
            text("chosen"),
            text("rejected"),
            text("source"),
        ]);
        if batch.len() == INSERT_BATCH {
            txn.execute_raw(flush(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        txn.execute_raw(flush(&mut batch)).await?;
    }
    txn.commit().await?;
    let seconds = t.elapsed().as_secs_f64();
    db.execute_unprepared("DROP TABLE bench_floor").await?;
    Ok(seconds)
}
