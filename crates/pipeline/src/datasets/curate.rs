//! A recipe's curation rules over the pairs its filters and mix select, in this order:
//! near-duplicate prompts (MinHash, against evaluation versions and earlier kept prompts), the
//! length-gap cap, then the length balance. The result is the ordered member list and a report
//! of the selection before and after, with what each rule dropped.

use crate::report::{diff_stats, model_tokenizer, prompts_of, shingles};
use gaoya::minhash::{calculate_minhash_params, MinHashIndex, MinHasher, MinHasher32};
use pairwise_core::{
    curation::{self, Measured},
    dto::{CurationReport, CurationStats, NearDuplicateExample},
    normalize_text,
    recipe::{LengthUnit, NearDuplicateMethod, NearDuplicates},
    stable_hash, Recipe,
};
use pairwise_inference::embed::{self, cosine, Embedder};
use pairwise_store::{datasets, models, DatabaseConnection, StoreError};
use std::collections::{HashMap, HashSet};

/// Pairs read per query.
const PAGE: usize = 2000;
/// Near-duplicate examples kept for the report.
const EXAMPLES: usize = 5;
/// Shingle size and signature of prompts: the quality report's contamination check.
const SHINGLE: usize = 2;
const NUM_HASHES: usize = 128;

/// The lengths of one selected pair.
struct Lengths {
    id: i64,
    hash: String,
    chars: i64,
    tokens: Option<i64>,
}

/// How prompts are compared: MinHash signatures in LSH indexes, or MiniLM embeddings compared by
/// cosine (a brute-force scan: a few thousand prompts take about a second).
enum Index {
    MinHash {
        hasher: MinHasher32<fnv::FnvBuildHasher>,
        /// Prompts of the `against` versions.
        eval: MinHashIndex<u32, usize>,
        /// Prompts kept so far, by index into `kept_texts`.
        kept: MinHashIndex<u32, usize>,
    },
    Embeddings {
        embedder: Box<Embedder>,
        cosine: f32,
        eval: Vec<Vec<f32>>,
        kept: Vec<Vec<f32>>,
        /// Embeddings of the current page's prompts, by prompt hash (see [`Dedup::prepare`]).
        ready: HashMap<String, Vec<f32>>,
    },
}

/// Near-duplicate state while walking the selection in member order.
struct Dedup {
    index: Index,
    eval_texts: Vec<String>,
    kept_texts: Vec<String>,
    kept_hashes: HashSet<String>,
    /// Prompts dropped so far, with the reason: later pairs of the same prompt go the same way.
    dropped: HashMap<String, bool>,
    examples: Vec<NearDuplicateExample>,
    dropped_eval: u64,
    dropped_earlier: u64,
}

/// The index of the most similar vector at or above `threshold`.
fn nearest(vectors: &[Vec<f32>], v: &[f32], threshold: f32) -> Option<usize> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, u)| (i, cosine(u, v)))
        .filter(|(_, c)| *c >= threshold)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

fn embedder_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::invalid("near_duplicates.method", format!("MiniLM: {e}"))
}

impl Dedup {
    fn new(rule: &NearDuplicates, eval_prompts: Vec<String>) -> Result<Self, StoreError> {
        let index = match rule.method {
            NearDuplicateMethod::Minhash => {
                // Bands sized so a pair at the threshold is a candidate with probability 0.99.
                let (bands, width) = calculate_minhash_params(rule.jaccard, NUM_HASHES);
                let hasher = MinHasher32::new(bands * width);
                let mut eval = MinHashIndex::new(bands, width, rule.jaccard);
                for (i, text) in eval_prompts.iter().enumerate() {
                    eval.insert(i, hasher.create_signature(shingles(text, SHINGLE).iter()));
                }
                Index::MinHash {
                    hasher,
                    eval,
                    kept: MinHashIndex::new(bands, width, rule.jaccard),
                }
            }
            NearDuplicateMethod::Minilm => {
                let dir = embed::default_dir().ok_or_else(|| {
                    embedder_error(
                        "models/minilm not found (run `make setup`, or set PAIRWISE_EMBEDDER)",
                    )
                })?;
                let mut embedder = Embedder::load(&dir, 0).map_err(embedder_error)?;
                let texts: Vec<&str> = eval_prompts.iter().map(String::as_str).collect();
                let eval = embedder.embed(&texts).map_err(embedder_error)?;
                Index::Embeddings {
                    embedder: Box::new(embedder),
                    cosine: rule.threshold() as f32,
                    eval,
                    kept: Vec::new(),
                    ready: HashMap::new(),
                }
            }
        };
        Ok(Self {
            index,
            eval_texts: eval_prompts,
            kept_texts: Vec::new(),
            kept_hashes: HashSet::new(),
            dropped: HashMap::new(),
            examples: Vec::new(),
            dropped_eval: 0,
            dropped_earlier: 0,
        })
    }

    /// Embeds, in batches, the prompts of a page that are not decided yet (MiniLM only).
    fn prepare(&mut self, texts: &[&str]) -> Result<(), StoreError> {
        let Index::Embeddings {
            embedder, ready, ..
        } = &mut self.index
        else {
            return Ok(());
        };
        let mut todo: Vec<(String, &str)> = Vec::new();
        for t in texts {
            let hash = stable_hash(normalize_text(t));
            if !self.kept_hashes.contains(&hash)
                && !self.dropped.contains_key(&hash)
                && !ready.contains_key(&hash)
                && !todo.iter().any(|(h, _)| *h == hash)
            {
                todo.push((hash, t));
            }
        }
        let texts: Vec<&str> = todo.iter().map(|(_, t)| *t).collect();
        let vectors = embedder.embed(&texts).map_err(embedder_error)?;
        ready.extend(todo.into_iter().map(|(h, _)| h).zip(vectors));
        Ok(())
    }

    fn count(&mut self, eval: bool) {
        if eval {
            self.dropped_eval += 1;
        } else {
            self.dropped_earlier += 1;
        }
    }

    /// Whether the pair with prompt `text` is kept.
    fn keep(&mut self, text: &str) -> Result<bool, StoreError> {
        let hash = stable_hash(normalize_text(text));
        if self.kept_hashes.contains(&hash) {
            return Ok(true);
        }
        if let Some(&eval) = self.dropped.get(&hash) {
            self.count(eval);
            return Ok(false);
        }
        enum Signature {
            MinHash(Vec<u32>),
            Vector(Vec<f32>),
        }
        let (hit, signature) = match &mut self.index {
            Index::MinHash {
                hasher, eval, kept, ..
            } => {
                let signature = hasher.create_signature(shingles(text, SHINGLE).iter());
                let hit = match eval.query_owned(&signature).into_iter().min() {
                    Some(i) => Some((true, i)),
                    None => kept
                        .query_owned(&signature)
                        .into_iter()
                        .min()
                        .map(|i| (false, i)),
                };
                (hit, Signature::MinHash(signature))
            }
            Index::Embeddings {
                embedder,
                cosine,
                eval,
                kept,
                ready,
            } => {
                let v = match ready.remove(&hash) {
                    Some(v) => v,
                    None => embedder
                        .embed(&[text])
                        .map_err(embedder_error)?
                        .pop()
                        .unwrap_or_default(),
                };
                let hit = match nearest(eval, &v, *cosine) {
                    Some(i) => Some((true, i)),
                    None => nearest(kept, &v, *cosine).map(|i| (false, i)),
                };
                (hit, Signature::Vector(v))
            }
        };
        match hit {
            Some((eval, i)) => {
                let duplicates = if eval {
                    &self.eval_texts[i]
                } else {
                    &self.kept_texts[i]
                };
                if self.examples.len() < EXAMPLES {
                    self.examples.push(NearDuplicateExample {
                        dropped: text.chars().take(200).collect(),
                        duplicates: duplicates.chars().take(200).collect(),
                        reason: if eval { "eval" } else { "earlier" }.into(),
                    });
                }
                self.count(eval);
                self.dropped.insert(hash, eval);
                Ok(false)
            }
            None => {
                let at = self.kept_texts.len();
                match (&mut self.index, signature) {
                    (Index::MinHash { kept, .. }, Signature::MinHash(s)) => kept.insert(at, s),
                    (Index::Embeddings { kept, .. }, Signature::Vector(v)) => kept.push(v),
                    _ => {}
                }
                self.kept_texts.push(text.to_owned());
                self.kept_hashes.insert(hash);
                Ok(true)
            }
        }
    }
}

/// The tokenizer the recipe's token counts use: its `tokenizer` generator, else the newest
/// registered generator.
async fn recipe_tokenizer(
    db: &DatabaseConnection,
    recipe: &Recipe,
) -> Result<(String, tokenizers::Tokenizer), StoreError> {
    let model = match recipe.tokenizer.as_deref() {
        Some(name) => models::find(db, name)
            .await?
            .filter(|m| m.kind == "generator")
            .ok_or_else(|| {
                StoreError::invalid("tokenizer", format!("no registered generator `{name}`"))
            })?,
        None => models::of_kind(db, "generator")
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                StoreError::invalid(
                    "tokenizer",
                    "a rule counts tokens: register a generator or name one in `tokenizer`",
                )
            })?,
    };
    model_tokenizer(&model).map_err(|e| StoreError::invalid("tokenizer", e))
}

/// Every prompt (last user turn) of the `against` versions, each distinct prompt once.
async fn eval_prompts(
    db: &DatabaseConnection,
    project_id: i64,
    tags: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut all = std::collections::BTreeMap::new();
    for tag in tags {
        let version = datasets::require(db, project_id, tag).await.map_err(|_| {
            StoreError::invalid(
                "near_duplicates.against",
                format!("no dataset version `{tag}` in this project"),
            )
        })?;
        all.extend(prompts_of(db, version.id, 1).await?);
    }
    Ok(all.into_values().collect())
}

fn stats(lengths: &[&Lengths], tokens: bool) -> CurationStats {
    CurationStats {
        pairs: lengths.len() as u64,
        length_chars: diff_stats(lengths.iter().map(|l| l.chars as f64).collect()),
        length_tokens: tokens.then(|| {
            diff_stats(
                lengths
                    .iter()
                    .map(|l| l.tokens.unwrap_or(0) as f64)
                    .collect(),
            )
        }),
    }
}

fn measured(lengths: &[&Lengths], unit: LengthUnit) -> Vec<Measured> {
    lengths
        .iter()
        .map(|l| Measured {
            id: l.id,
            hash: l.hash.clone(),
            delta: match unit {
                LengthUnit::Chars => l.chars,
                LengthUnit::Tokens => l.tokens.unwrap_or(0),
            },
        })
        .collect()
}

/// The members of a curated version of `project_id` under `recipe`, in member order, and the
/// report of what curation did. Reads only; the caller freezes the result.
pub async fn curate(
    db: &DatabaseConnection,
    project_id: i64,
    recipe: &Recipe,
) -> Result<(Vec<i64>, CurationReport), StoreError> {
    let staged = datasets::staged_ids(db, project_id, recipe).await?;
    let tokenizer = if recipe.counts_tokens() {
        Some(recipe_tokenizer(db, recipe).await?)
    } else {
        None
    };
    let mut dedup = match &recipe.near_duplicates {
        Some(rule) => {
            let prompts = eval_prompts(db, project_id, &rule.against).await?;
            let rule = rule.clone();
            let built = tokio::task::spawn_blocking(move || Dedup::new(&rule, prompts));
            Some(
                built
                    .await
                    .map_err(|e| StoreError::invalid("near_duplicates", e.to_string()))??,
            )
        }
        None => None,
    };
    let tok = tokenizer.as_ref().map(|(_, t)| t.clone());
    let mut all: Vec<Lengths> = Vec::with_capacity(staged.len());
    let mut kept_after_dedup: Vec<bool> = Vec::with_capacity(staged.len());
    for chunk in staged.chunks(PAGE) {
        let rows = datasets::curation_page(db, chunk).await?;
        if rows.len() != chunk.len() {
            return Err(StoreError::Conflict(
                "selected pairs changed while curating; freeze again".into(),
            ));
        }
        let (tok, state) = (tok.clone(), dedup.take());
        let work = tokio::task::spawn_blocking(move || {
            let mut state = state;
            let count = |t: &tokenizers::Tokenizer, s: &str| {
                t.encode_fast(s, false).map_or(0, |e| e.len()) as i64
            };
            if let Some(d) = state.as_mut() {
                let texts: Vec<&str> = rows.iter().map(|r| r.prompt_text.as_str()).collect();
                d.prepare(&texts)?;
            }
            let page: Vec<(Lengths, bool)> = rows
                .iter()
                .map(|r| -> Result<(Lengths, bool), StoreError> {
                    let chars = r.chosen.chars().count() as i64 - r.rejected.chars().count() as i64;
                    let tokens = tok
                        .as_ref()
                        .map(|t| count(t, &r.chosen) - count(t, &r.rejected));
                    let keep = match state.as_mut() {
                        Some(d) => d.keep(&r.prompt_text)?,
                        None => true,
                    };
                    let lengths = Lengths {
                        id: r.id,
                        hash: r.hash.clone(),
                        chars,
                        tokens,
                    };
                    Ok((lengths, keep))
                })
                .collect::<Result<_, StoreError>>()?;
            Ok::<_, StoreError>((page, state))
        });
        let (page, state) = work
            .await
            .map_err(|e| StoreError::invalid("recipe", e.to_string()))??;
        dedup = state;
        for (lengths, keep) in page {
            all.push(lengths);
            kept_after_dedup.push(keep);
        }
    }
    let counts_tokens = tokenizer.is_some();
    let before: Vec<&Lengths> = all.iter().collect();
    let mut kept: Vec<&Lengths> = all
        .iter()
        .zip(&kept_after_dedup)
        .filter_map(|(l, &keep)| keep.then_some(l))
        .collect();
    let mut length_gap = 0u64;
    if let Some(gap) = &recipe.max_length_gap {
        let (max, unit) = gap.limit();
        let over: HashSet<i64> = curation::over_gap(&measured(&kept, unit), max)
            .into_iter()
            .collect();
        length_gap = over.len() as u64;
        kept.retain(|l| !over.contains(&l.id));
    }
    let mut length_balance = 0u64;
    if let Some(rule) = &recipe.length_balance {
        let drop: HashSet<i64> = curation::balance(&measured(&kept, rule.unit), rule)
            .map_err(|e| StoreError::invalid("length_balance", e.to_string()))?
            .into_iter()
            .collect();
        length_balance = drop.len() as u64;
        kept.retain(|l| !drop.contains(&l.id));
    }
    let (near_duplicate_eval, near_duplicate_earlier, near_duplicate_examples) = match dedup {
        Some(d) => (d.dropped_eval, d.dropped_earlier, d.examples),
        None => (0, 0, Vec::new()),
    };
    let report = CurationReport {
        before: stats(&before, counts_tokens),
        after: stats(&kept, counts_tokens),
        near_duplicate_eval,
        near_duplicate_earlier,
        length_gap,
        length_balance,
        tokenizer: tokenizer.map(|(name, _)| name),
        near_duplicate_examples,
    };
    Ok((kept.iter().map(|l| l.id).collect(), report))
}
