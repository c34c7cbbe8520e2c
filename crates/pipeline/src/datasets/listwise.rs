//! Listwise export: one row per prompt of a version, its answers ordered strongest first with
//! their Bradley–Terry log-strengths, for reward-model training. Rows are read ordered by prompt
//! from one database stream, so a prompt's pairs arrive together and memory holds one prompt.
//!
//! Strengths: where every answer of the prompt comes from ranked pairs of one ranking (the
//! `ranked` strategy records the prompt's whole ranking over all its evidence), those strengths;
//! otherwise a fit over the version's own pairs of the prompt, each one win of its chosen answer
//! over its rejected one (`metadata.strengths_from` says which).

use super::ExportTarget;
use futures_util::StreamExt;
use pairwise_core::export_formats::{rank_answers, write_listwise};
use pairwise_store::{datasets, DatabaseConnection, StoreError};
use std::collections::HashMap;

/// Bytes of rows handed over at a time.
const CHUNK: usize = 1 << 20;

/// A chunk of rows: its bytes, the rows in it and the version's members read for it.
pub(super) type Chunk = Result<(Vec<u8>, u64, u64), StoreError>;

/// Streams the listwise rows of `target` into `tx` until the version ends or the receiver is
/// gone.
pub(super) async fn send_rows(
    db: DatabaseConnection,
    target: ExportTarget,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) {
    if let Err(e) = rows(&db, &target, &tx).await {
        let _ = tx.send(Err(e)).await;
    }
}

async fn rows(
    db: &DatabaseConnection,
    target: &ExportTarget,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
) -> Result<(), StoreError> {
    let mut stream = datasets::export_rows_by_prompt(db, target.version_id).await?;
    let mut group: Vec<datasets::ExportRow> = Vec::new();
    let (mut out, mut rows, mut members) = (Vec::new(), 0u64, 0u64);
    while let Some(row) = stream.next().await {
        let row = row?;
        if group.first().is_some_and(|g| g.prompt != row.prompt) {
            rows += render(target, &group, &mut out)?;
            members += group.len() as u64;
            group.clear();
            if out.len() >= CHUNK {
                let chunk = (std::mem::take(&mut out), rows, members);
                (rows, members) = (0, 0);
                if tx.send(Ok(chunk)).await.is_err() {
                    return Ok(());
                }
            }
        }
        group.push(row);
    }
    if !group.is_empty() {
        rows += render(target, &group, &mut out)?;
        members += group.len() as u64;
    }
    if members > 0 {
        let _ = tx.send(Ok((out, rows, members))).await;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct ListwiseMeta<'a> {
    split: &'static str,
    dataset_version: &'a str,
    /// The version's pairs of this prompt, in id order.
    pair_ids: Vec<i64>,
    strategies: Vec<&'a str>,
    sources: Vec<&'a str>,
    /// `ranking` (the ranked strategy's strengths over all evidence) or `pairs` (a fit over the
    /// version's pairs of this prompt).
    strengths_from: &'static str,
}

/// The listwise row of one prompt's pairs (those of the exported split); returns rows written.
fn render(
    target: &ExportTarget,
    group: &[datasets::ExportRow],
    out: &mut Vec<u8>,
) -> Result<u64, StoreError> {
    let kept: Vec<(&datasets::ExportRow, &'static str)> = group
        .iter()
        .map(|p| {
            let s = target.split_of(p.split.as_deref(), &p.prompt, &p.provenance, &p.metadata);
            (p, s)
        })
        .filter(|(_, s)| target.only_split.is_none_or(|only| only == *s))
        .collect();
    let Some(&(first, split)) = kept.first() else {
        return Ok(0);
    };
    let kept: Vec<&datasets::ExportRow> = kept.into_iter().map(|(p, _)| p).collect();
    /// The answer's index among the prompt's distinct answers, in order of first appearance.
    fn index<'a>(text: &'a str, answers: &mut Vec<&'a str>) -> usize {
        answers.iter().position(|a| *a == text).unwrap_or_else(|| {
            answers.push(text);
            answers.len() - 1
        })
    }
    let mut answers: Vec<&str> = Vec::new();
    let mut wins = Vec::new();
    let mut stored: HashMap<usize, f64> = HashMap::new();
    let mut rankings = std::collections::BTreeSet::new();
    for p in &kept {
        let (c, r) = (
            index(&p.chosen, &mut answers),
            index(&p.rejected, &mut answers),
        );
        wins.push((c, r));
        if p.strategy == "ranked" {
            let provenance: serde_json::Value =
                serde_json::from_str(&p.provenance).unwrap_or_default();
            // One ranking: the same judge run's ranking over the same evidence.
            rankings.insert(provenance["ranking"].to_string());
            let of = |side: &str| {
                let id = provenance[side]["candidate"].as_i64()?;
                provenance["ranking"]["candidates"]
                    .as_array()?
                    .iter()
                    .find(|x| x["candidate"].as_i64() == Some(id))?["strength"]
                    .as_f64()
            };
            if let (Some(sc), Some(sr)) = (of("chosen"), of("rejected")) {
                stored.insert(c, sc);
                stored.insert(r, sr);
            }
        }
    }
    let from_ranking = rankings.len() == 1
        && kept.iter().all(|p| p.strategy == "ranked")
        && (0..answers.len()).all(|i| stored.contains_key(&i));
    let ranked: Vec<(usize, f64)> = if from_ranking {
        let mut v: Vec<(usize, f64)> = stored.into_iter().collect();
        v.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        v
    } else {
        rank_answers(answers.len(), &wins)
    };
    let prompt: Vec<pairwise_core::ChatMessage> =
        serde_json::from_str(&first.prompt).unwrap_or_default();
    let completions: Vec<&str> = ranked.iter().map(|(i, _)| answers[*i]).collect();
    let strengths: Vec<f64> = ranked.iter().map(|(_, s)| *s).collect();
    let distinct = |f: fn(&datasets::ExportRow) -> &str| {
        let mut v: Vec<&str> = kept.iter().map(|p| f(p)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let meta = ListwiseMeta {
        split,
        dataset_version: &target.tag,
        pair_ids: kept.iter().map(|p| p.id).collect(),
        strategies: distinct(|p| &p.strategy),
        sources: distinct(|p| &p.source),
        strengths_from: if from_ranking { "ranking" } else { "pairs" },
    };
    write_listwise(out, &prompt, &completions, &strengths, &meta)
        .map_err(|e| StoreError::invalid("format", e.to_string()))?;
    Ok(1)
}
