//! Dataset versions: freezing them, and exporting them (streamed page by page in constant memory;
//! the same version always gives the same bytes).

mod curate;
mod freeze;
mod listwise;
pub use curate::curate;
pub use freeze::freeze_version;

use pairwise_core::{write_rows, ExportFormat, ExportPair};
use pairwise_store::{datasets, projects, DatabaseConnection, StoreError};
use std::io::Write;

/// Pairs read per query while exporting.
const EXPORT_PAGE: u64 = 5000;

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
    /// Lengths of the answers in characters (Unicode scalar values).
    chosen_chars: usize,
    rejected_chars: usize,
    /// Whether each answer is a refusal, by the rule-based refusal classifier (`pairwise eval
    /// refusal-classifier` measures it against XSTest's human labels).
    chosen_refusal: bool,
    rejected_refusal: bool,
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
            chosen_chars: p.chosen.chars().count(),
            rejected_chars: p.rejected.chars().count(),
            chosen_refusal: pairwise_core::refusal::refuses(&p.chosen),
            rejected_refusal: pairwise_core::refusal::refuses(&p.rejected),
        };
        let extra: Option<serde_json::Map<String, serde_json::Value>> =
            if format == ExportFormat::TrlStepwise {
                serde_json::from_str(&p.metadata).ok()
            } else {
                None
            };
        let pair = ExportPair {
            prompt: &prompt,
            chosen: &p.chosen,
            rejected: &p.rejected,
            metadata: &metadata,
            steps: extra
                .as_ref()
                .and_then(pairwise_core::export_formats::Steps::from_metadata),
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
    /// A listwise export: its rows, grouped by prompt on a task of their own.
    listwise: Option<(
        tokio::sync::mpsc::Receiver<listwise::Chunk>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl ExportChunks {
    pub fn new(db: &DatabaseConnection, target: &ExportTarget, format: ExportFormat) -> Self {
        let listwise = (format == ExportFormat::Listwise).then(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let task = tokio::spawn(listwise::send_rows(db.clone(), target.clone(), tx));
            (rx, task)
        });
        Self {
            listwise,
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
        if let Some((rx, _)) = &mut self.listwise {
            return match rx.recv().await {
                Some(Ok((bytes, rows, members))) => {
                    self.position += members as i64;
                    Ok(Some((bytes, rows)))
                }
                Some(Err(e)) => Err(e),
                None => Ok(None),
            };
        }
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
        if let Some((_, task)) = &self.listwise {
            task.abort();
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
