//! The quality report of a dataset version: length bias (distribution of chosen − rejected in
//! characters, words and the generator's tokens), templated chosen answers (MinHash + LSH clusters, with gaoya), repeated
//! prompts, train/eval contamination (exact hash, then MinHash near-duplicates), margins, counts
//! per strategy, source and path, trivial negatives, and the judge runs behind the pairs.
//! Pairs are read page by page; the MinHash parts look at a deterministic sample of big versions.

use crate::{datasets::export_target, runs::JudgePayload};
use gaoya::minhash::{MinHashIndex, MinHasher, MinHasher32};
use pairwise_core::{
    dto::{Bin, Contamination, DiffStats, JudgeRunStats, QualityReport, TemplateCluster},
    normalize_text, stable_hash,
};
use pairwise_store::{datasets, judgments, rubrics, runs, DatabaseConnection, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Most texts one MinHash step looks at (evenly spaced over the version).
pub const MINHASH_SAMPLE: usize = 20_000;
/// Near-duplicate prompts across splits or versions: Jaccard at least this.
pub const CONTAMINATION_JACCARD: f64 = 0.8;
/// Chosen answers at least this similar are one template.
pub const TEMPLATE_JACCARD: f64 = 0.6;
/// A template is this many answers or more.
pub const MIN_TEMPLATE: usize = 3;
const BINS: usize = 20;
const PAGE: u64 = 2000;

const REFUSAL_MARKERS: [&str; 10] = [
    "i can't",
    "i cannot",
    "i can not",
    "i'm sorry",
    "i am sorry",
    "i won't",
    "as an ai",
    "i'm not able",
    "i am not able",
    "i apologize",
];

fn is_refusal(text: &str) -> bool {
    let lower = text.to_lowercase().replace('’', "'");
    REFUSAL_MARKERS.iter().any(|m| lower.contains(m))
}

/// Word shingles (3 words; shorter texts use their words) of lowercased text.
pub(crate) fn shingles(text: &str, size: usize) -> Vec<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = gaoya::text::whitespace_split(&lower).collect();
    if words.len() < size {
        return words.into_iter().map(str::to_owned).collect();
    }
    words.windows(size).map(|w| w.join(" ")).collect()
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Equal-width bins between the 1st and 99th percentiles; values outside go to the end bins.
pub fn histogram(sorted: &[f64], bins: usize) -> Vec<Bin> {
    if sorted.is_empty() || bins == 0 {
        return Vec::new();
    }
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (mut lo, mut hi) = (at(0.01), at(0.99));
    if hi <= lo {
        lo = sorted[0];
        hi = sorted[sorted.len() - 1];
    }
    if hi <= lo {
        return vec![Bin {
            lo,
            hi: lo,
            count: sorted.len() as u64,
        }];
    }
    let width = (hi - lo) / bins as f64;
    let mut out: Vec<Bin> = (0..bins)
        .map(|i| Bin {
            lo: lo + width * i as f64,
            hi: lo + width * (i + 1) as f64,
            count: 0,
        })
        .collect();
    for v in sorted {
        let i = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        out[i].count += 1;
    }
    out
}

pub(crate) fn diff_stats(mut values: Vec<f64>) -> DiffStats {
    values.sort_by(f64::total_cmp);
    let n = values.len().max(1) as f64;
    DiffStats {
        mean: values.iter().sum::<f64>() / n,
        median: median(&values),
        share_chosen_longer: values.iter().filter(|v| **v > 0.0).count() as f64 / n,
        histogram: histogram(&values, BINS),
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Clusters of near-identical texts (MinHash LSH candidates joined transitively), largest first.
pub fn template_clusters(texts: &[String]) -> (Vec<TemplateCluster>, u64) {
    let hasher = MinHasher32::new(128);
    let mut index: MinHashIndex<u32, usize> = MinHashIndex::new(32, 4, TEMPLATE_JACCARD);
    let signatures: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| hasher.create_signature(shingles(t, 3).iter()))
        .collect();
    for (i, s) in signatures.iter().enumerate() {
        if !texts[i].trim().is_empty() {
            index.insert(i, s.clone());
        }
    }
    let mut uf = UnionFind((0..texts.len()).collect());
    for (i, s) in signatures.iter().enumerate() {
        if texts[i].trim().is_empty() {
            continue;
        }
        for j in index.query_owned(s) {
            uf.union(i, j);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, text) in texts.iter().enumerate() {
        if !text.trim().is_empty() {
            let root = uf.find(i);
            groups.entry(root).or_default().push(i);
        }
    }
    let mut clusters: Vec<Vec<usize>> = groups
        .into_values()
        .filter(|g| g.len() >= MIN_TEMPLATE)
        .collect();
    clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let templated: u64 = clusters.iter().map(|c| c.len() as u64).sum();
    let out = clusters
        .iter()
        .take(10)
        .map(|members| {
            let mut examples = Vec::new();
            for &i in members {
                let text: String = texts[i].chars().take(200).collect();
                if !examples.contains(&text) {
                    examples.push(text);
                }
                if examples.len() == 3 {
                    break;
                }
            }
            TemplateCluster {
                size: members.len() as u64,
                refusal_like: members.iter().take(20).any(|&i| is_refusal(&texts[i])),
                examples,
            }
        })
        .collect();
    (out, templated)
}

/// Prompts of `eval` (hash → text) that also occur in `other`: exact, then near-duplicates.
pub fn contamination(
    against: String,
    eval: &BTreeMap<String, String>,
    other: &BTreeMap<String, String>,
) -> Contamination {
    let hasher = MinHasher32::new(128);
    let mut index: MinHashIndex<u32, usize> = MinHashIndex::new(16, 8, CONTAMINATION_JACCARD);
    let other_texts: Vec<&String> = other.values().collect();
    for (i, t) in other_texts.iter().enumerate() {
        index.insert(i, hasher.create_signature(shingles(t, 2).iter()));
    }
    let (mut exact, mut near, mut examples) = (0u64, 0u64, Vec::new());
    for (hash, text) in eval {
        let hit = if other.contains_key(hash) {
            exact += 1;
            true
        } else if !index
            .query_owned(&hasher.create_signature(shingles(text, 2).iter()))
            .is_empty()
        {
            near += 1;
            true
        } else {
            false
        };
        if hit && examples.len() < 5 {
            examples.push(text.chars().take(200).collect());
        }
    }
    Contamination {
        against,
        compared: eval.len() as u64,
        exact,
        near,
        threshold: CONTAMINATION_JACCARD,
        examples,
    }
}

/// Every `step`-th item: a deterministic sample of at most `MINHASH_SAMPLE` of `total`.
fn step_for(total: u64) -> u64 {
    total.div_ceil(MINHASH_SAMPLE as u64).max(1)
}

/// Normalized-prompt hash → last user turn, of one version: every `step`-th pair (1: all).
pub(crate) async fn prompts_of(
    db: &DatabaseConnection,
    version_id: i64,
    step: u64,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    let mut position = 0i64;
    loop {
        let page = datasets::pairs_page(db, version_id, position, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for (i, (p, _)) in page.iter().enumerate() {
            if (position as u64 + i as u64).is_multiple_of(step) {
                out.insert(
                    stable_hash(normalize_text(&p.prompt)),
                    p.prompt_text.clone(),
                );
            }
        }
        position += page.len() as i64;
    }
    Ok(out)
}

/// The `tokenizer.json` of a registered model, as `(name@version, tokenizer)`.
pub(crate) fn model_tokenizer(
    model: &pairwise_store::entities::ai_model::Model,
) -> Result<(String, tokenizers::Tokenizer), String> {
    let file = std::path::Path::new(&model.path).join("tokenizer.json");
    tokenizers::Tokenizer::from_file(&file)
        .map(|tok| (format!("{}@{}", model.name, model.version), tok))
        .map_err(|e| format!("cannot load {}: {e}", file.display()))
}

/// The tokenizer token lengths are counted with: the registered generator whose version made
/// the version's first chosen answer (the policy a DPO run starts from), else the newest
/// registered generator; `None` when no generator is registered or its tokenizer cannot load.
async fn report_tokenizer(
    db: &DatabaseConnection,
    version_id: i64,
) -> Result<Option<(String, tokenizers::Tokenizer)>, StoreError> {
    let generators = pairwise_store::models::of_kind(db, "generator").await?;
    if generators.is_empty() {
        return Ok(None);
    }
    let first = datasets::pairs_page(db, version_id, 0, 1).await?;
    let made_by = first.first().and_then(|(p, _)| {
        let provenance: serde_json::Value = serde_json::from_str(&p.provenance).ok()?;
        provenance["chosen"]["model_version"]
            .as_str()
            .map(str::to_owned)
    });
    let model = made_by
        .and_then(|v| generators.iter().find(|m| m.version == v))
        .unwrap_or(&generators[0]);
    Ok(match model_tokenizer(model) {
        Ok(tok) => Some(tok),
        Err(e) => {
            tracing::warn!(error = %e, "no tokenizer for token lengths");
            None
        }
    })
}

/// The report of version `tag`; with `against`, also the contamination of its prompts with the
/// prompts of that other version (an evaluation set, say).
pub async fn quality_report(
    db: &DatabaseConnection,
    project: &str,
    tag: &str,
    against: Option<&str>,
) -> Result<QualityReport, StoreError> {
    let target = export_target(db, project, tag).await?;
    let step = step_for(target.pair_count);
    let tokenizer = report_tokenizer(db, target.version_id).await?;
    let mut tokens = Vec::new();
    let (mut chars, mut words, mut margins) = (Vec::new(), Vec::new(), Vec::new());
    let mut by_strategy: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_split: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_chosen_path: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_rubric: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_guard: BTreeMap<String, u64> = BTreeMap::new();
    let mut guard_ids = Vec::new();
    let mut prompt_counts: HashMap<String, u64> = HashMap::new();
    let mut eval_prompts = BTreeMap::new();
    let mut other_prompts = BTreeMap::new();
    let mut judge_run_ids = BTreeSet::new();
    let (mut trivial, mut sampled_chosen) = (0u64, Vec::new());
    let mut refusals = pairwise_core::dto::RefusalShares::default();
    let mut position = 0i64;
    loop {
        let page = datasets::pairs_page(db, target.version_id, position, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for (i, (p, stored)) in page.iter().enumerate() {
            let count = |s: &str| s.chars().count() as f64;
            refusals.add(&p.chosen, &p.rejected);
            chars.push(count(&p.chosen) - count(&p.rejected));
            words.push(
                p.chosen.split_whitespace().count() as f64
                    - p.rejected.split_whitespace().count() as f64,
            );
            if let Some(m) = p.margin.filter(|m| m.is_finite()) {
                margins.push(m);
            }
            *by_strategy.entry(p.strategy.clone()).or_default() += 1;
            *by_source.entry(p.source.clone()).or_default() += 1;
            let rubric = if p.rubric.is_empty() {
                "none"
            } else {
                &p.rubric
            };
            *by_rubric.entry(rubric.to_owned()).or_default() += 1;
            if p.strategy == "guards" {
                guard_ids.push(p.id);
                let metadata: serde_json::Value =
                    serde_json::from_str(&p.metadata).unwrap_or_default();
                if let Some(guard) = metadata["guard"].as_str() {
                    *by_guard.entry(guard.to_owned()).or_default() += 1;
                }
            }
            let provenance: serde_json::Value =
                serde_json::from_str(&p.provenance).unwrap_or_default();
            if let Some(path) = provenance["chosen"]["path"].as_str() {
                *by_chosen_path.entry(path.to_owned()).or_default() += 1;
            }
            if provenance["trivial_negative"].as_bool() == Some(true) {
                trivial += 1;
            }
            if let Some(run) = provenance["judge_run"].as_i64() {
                judge_run_ids.insert(run);
            }
            let hash = stable_hash(normalize_text(&p.prompt));
            *prompt_counts.entry(hash.clone()).or_default() += 1;
            let split = target.split_of(stored.as_deref(), &p.prompt, &p.provenance, &p.metadata);
            *by_split.entry(split.to_owned()).or_default() += 1;
            let sampled = (position as u64 + i as u64).is_multiple_of(step);
            if let Some((_, tok)) = tokenizer.as_ref().filter(|_| sampled) {
                let count = |s: &str| tok.encode_fast(s, false).map_or(0, |e| e.len()) as f64;
                tokens.push(count(&p.chosen) - count(&p.rejected));
            }
            if sampled {
                let side = if split == "eval" {
                    &mut eval_prompts
                } else {
                    &mut other_prompts
                };
                side.insert(hash, p.prompt_text.clone());
                sampled_chosen.push(p.chosen.chars().take(2000).collect::<String>());
            }
        }
        position += page.len() as i64;
    }
    let pairs = chars.len() as u64;
    let repeated_prompts = prompt_counts.values().filter(|&&n| n > 1).sum();
    let templates_sampled = sampled_chosen.len() as u64;
    let blocking = |e: tokio::task::JoinError| StoreError::invalid("report", e.to_string());
    let (templates, templated) =
        tokio::task::spawn_blocking(move || template_clusters(&sampled_chosen))
            .await
            .map_err(blocking)?;
    let mut ours = eval_prompts.clone();
    ours.extend(other_prompts.clone());
    let mut contaminations = vec![tokio::task::spawn_blocking(move || {
        contamination("splits".into(), &eval_prompts, &other_prompts)
    })
    .await
    .map_err(blocking)?];
    if let Some(other) = against {
        let other_target = export_target(db, project, other).await?;
        let theirs = prompts_of(
            db,
            other_target.version_id,
            step_for(other_target.pair_count),
        )
        .await?;
        let label = format!("version:{other}");
        contaminations.push(
            tokio::task::spawn_blocking(move || contamination(label, &ours, &theirs))
                .await
                .map_err(blocking)?,
        );
    }
    let mut judge_runs = Vec::new();
    for run in judge_run_ids {
        let Ok(job) = runs::get(db, run).await else {
            continue;
        };
        let Ok(payload) = serde_json::from_str::<JudgePayload>(&job.payload) else {
            continue;
        };
        let stats = judgments::stats(db, run).await?;
        let rubric = rubrics::get(db, payload.rubric_id)
            .await
            .map(|r| format!("{}@{}", r.name, r.version))
            .unwrap_or_default();
        judge_runs.push(JudgeRunStats {
            run,
            mode: payload.mode.as_str().to_owned(),
            rubric,
            parse_failure_rate: stats.parse_failure_rate,
            inconsistency_rate: stats.inconsistency_rate,
        });
    }
    margins.sort_by(f64::total_cmp);
    let guard_check = guard_check(db, project, &guard_ids).await?;
    Ok(QualityReport {
        project: target.project,
        version: target.tag,
        pairs,
        length_chars: diff_stats(chars),
        length_words: diff_stats(words),
        length_tokens: tokenizer.as_ref().map(|_| diff_stats(tokens)),
        tokenizer: tokenizer.map(|(name, _)| name),
        pairs_with_margin: margins.len() as u64,
        margin_histogram: histogram(&margins, BINS),
        by_strategy,
        by_source,
        by_split,
        by_chosen_path,
        by_rubric,
        by_guard,
        guard_check,
        trivial_negatives: trivial,
        refusals,
        repeated_prompts,
        templated_share: if templates_sampled == 0 {
            0.0
        } else {
            templated as f64 / templates_sampled as f64
        },
        templates,
        templates_sampled,
        contamination: contaminations,
        judge_runs,
    })
}

/// The judge's check of guard pairs `ids`: the newest finished duel verdict of each, tallied by
/// guard kind.
async fn guard_check(
    db: &DatabaseConnection,
    project: &str,
    ids: &[i64],
) -> Result<BTreeMap<String, pairwise_core::duel::DuelTally>, StoreError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let Some(p) = pairwise_store::projects::find(db, project).await? else {
        return Ok(BTreeMap::new());
    };
    let duels: Vec<i64> = pairwise_store::runs::finished_of_kind(db, p.id, crate::runs::DUEL)
        .await?
        .into_iter()
        .filter(|j| {
            serde_json::from_str::<crate::runs::DuelPayload>(&j.payload)
                .is_ok_and(|d| d.evals.is_none())
        })
        .map(|j| j.id)
        .collect();
    let latest = pairwise_store::duels::latest_for_items(db, &duels, ids).await?;
    let rows: Vec<(i64, String, String, String)> = latest
        .into_iter()
        .map(|(id, (group, ab, ba))| (id, group, ab, ba))
        .collect();
    Ok(crate::runs::tally_rows(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templated_refusals_cluster_and_distinct_answers_do_not() {
        let mut texts: Vec<String> = (0..5)
            .map(|i| {
                format!(
                    "I'm sorry, but I can't help with that request. {}",
                    ["", "!", "?", " ", "."][i]
                )
            })
            .collect();
        texts.extend((0..6).map(|i| {
            format!(
                "Step {i}: mix {i} cups of flour with water number {i} and bake at {} degrees",
                150 + i * 10
            )
        }));
        texts.push("Paris is the capital of France.".into());
        texts.push(String::new());
        let (clusters, templated) = template_clusters(&texts);
        assert_eq!(clusters[0].size, 5, "{clusters:?}");
        assert!(clusters[0].refusal_like);
        assert!(templated >= 5);
        assert!(clusters.iter().all(|c| c.size >= MIN_TEMPLATE as u64));
    }

    #[test]
    fn contamination_counts_exact_and_near_duplicates() {
        let map = |items: &[&str]| -> BTreeMap<String, String> {
            items
                .iter()
                .map(|t| (stable_hash(normalize_text(t)), (*t).to_owned()))
                .collect()
        };
        let train = map(&[
            "How many apples does Tom have if he buys three bags of five apples each and eats two?",
            "Write a poem about the sea.",
        ]);
        let eval = map(&[
            "Write a poem about the sea.",
            "How many apples does Tom have if he buys three bags of five apples each and eats two ?!",
            "Translate hello into French.",
        ]);
        let c = contamination("splits".into(), &eval, &train);
        assert_eq!((c.compared, c.exact, c.near), (3, 1, 1), "{c:?}");
    }

    #[test]
    fn histograms_cover_every_value() {
        let values: Vec<f64> = (0..1000).map(|i| f64::from(i % 97) - 40.0).collect();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let bins = histogram(&sorted, 20);
        assert_eq!(bins.len(), 20);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 1000);
        assert_eq!(
            histogram(&[3.0, 3.0], 20),
            vec![Bin {
                lo: 3.0,
                hi: 3.0,
                count: 2
            }]
        );
        let stats = diff_stats(vec![1.0, -2.0, 5.0]);
        assert_eq!(stats.median, 1.0);
        assert!((stats.share_chosen_longer - 2.0 / 3.0).abs() < 1e-12);
    }
}
