//! Views that cross the wire: server functions, the REST API and the CLI's `--json` share them.

use crate::{ChatMessage, Role, Split};
use serde::{Deserialize, Serialize};

/// A user as admins see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub active: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// A project with its prompt count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub prompt_count: u64,
    /// RFC 3339.
    pub created_at: String,
}

/// A member of a project and their role in it (`annotator` or `reviewer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub username: String,
    pub role: String,
    /// Whether the account is active (a deactivated member keeps the row, not the access).
    pub active: bool,
}

/// One stored prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptView {
    pub id: i64,
    pub external_id: Option<String>,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub messages: Option<Vec<ChatMessage>>,
    pub source: Option<String>,
    pub domain: Option<String>,
    pub split: Split,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Value,
    pub hash: String,
    /// RFC 3339.
    pub created_at: String,
    /// In lists: the text (and each message) was cut to [`PREVIEW_CHARS`]; the prompt itself
    /// (`GET /api/v1/projects/{name}/prompts/{id}`) has it whole.
    #[serde(default)]
    pub truncated: bool,
}

/// Characters of a long text that a list shows.
pub const PREVIEW_CHARS: usize = 2_000;

/// Cuts `text` to `max` characters (on a character boundary, with an ellipsis); whether it did.
pub fn truncate_chars(text: &mut String, max: usize) -> bool {
    match text.char_indices().nth(max) {
        Some((at, _)) => {
            text.truncate(at);
            text.push('…');
            true
        }
        None => false,
    }
}

impl PromptView {
    /// The prompt as a list shows it: text and messages cut to [`PREVIEW_CHARS`].
    pub fn preview(mut self) -> Self {
        let mut cut = truncate_chars(&mut self.text, PREVIEW_CHARS);
        for m in self.messages.iter_mut().flatten() {
            cut |= truncate_chars(&mut m.content, PREVIEW_CHARS);
        }
        self.truncated = cut;
        self
    }
}

/// One page of a server-side paginated list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
    pub items: Vec<T>,
}

/// What an import did. Nothing is written unless the whole file was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Records read from the file.
    pub records: u64,
    /// Records stored as new prompts.
    pub inserted: u64,
    /// Records skipped because an equal prompt (same normalized text) was already there.
    pub duplicates: u64,
}

/// An API token as listed (the secret itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// RFC 3339; `None`: never expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    pub revoked: bool,
}

/// A frozen dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetVersionView {
    pub id: i64,
    pub tag: String,
    pub parent: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub recipe: crate::recipe::Recipe,
    /// sha256 over the ordered pair hashes.
    pub content_hash: String,
    pub pair_count: u64,
    pub created_by: Option<i64>,
    pub created_at: String,
    /// What the recipe's curation rules did (near-duplicates, length gap, length balance);
    /// `None` for a recipe without them.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub curation: Option<CurationReport>,
}

/// What building pairs from a judge run did (or, previewed, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    pub prompts: u64,
    /// Pairs the strategy chose (before the margin filters).
    pub chosen: u64,
    /// Dropped by min/max margin.
    pub filtered: u64,
    pub inserted: u64,
    /// Already in the project (same stable hash).
    pub duplicates: u64,
    /// Pairs whose rejected side is far less likely under the reference model.
    pub trivial_negatives: u64,
    /// Pairs without reference scores on both sides.
    pub unscored_reference: u64,
    /// Choices dropped because the chosen answer is a templated refusal (no reason or no safe
    /// alternative); `extreme` and `ranked` pick the best other answer instead.
    #[serde(default)]
    pub templated_refusals: u64,
    /// Ranked: the comparisons the prompts' rankings rest on, summed over prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceCounts>,
}

/// How many comparisons of each kind the rankings of the ranked strategy rest on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceCounts {
    /// Two candidates of a prompt compared by their pointwise overall scores.
    pub judge_scores: u64,
    /// One order (A/B or B/A) of a pairwise verdict.
    pub judge_orders: u64,
    /// A counted human vote (main or gold, not quarantined; `both_bad` says nothing of order).
    pub human_votes: u64,
}

/// What one source of a queue fill added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillReport {
    pub added: u64,
    /// Already queued (the same prompt and two answers, whichever side is X).
    pub duplicates: u64,
    /// Of those added, marked red-team (content warning, hidden from opted-out annotators).
    pub redteam: u64,
}

/// What filling the annotation queue added, per source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueFill {
    /// Pairwise judge verdicts whose two orders disagreed (queued first).
    pub judge_inconsistent: FillReport,
    /// The project's pairs, smallest judge margin first, imported pairs last.
    pub pairs: FillReport,
}

/// What building human pairs did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanPairsReport {
    /// Items with a strict majority for one answer among the counted votes.
    pub decided: u64,
    pub inserted: u64,
    pub duplicates: u64,
    /// Votes left out because their annotator or item is quarantined.
    pub quarantined_votes: u64,
    /// Votes left out by review: rejected or requeued, or not accepted where only accepted
    /// votes count.
    #[serde(default)]
    pub reviewed_out_votes: u64,
    /// Stored human pairs of the same answers, in no frozen version yet, brought up to date with
    /// the votes that decide them now.
    #[serde(default)]
    pub refreshed: u64,
}

/// The selected pairs before and after a recipe's curation rules, and what each rule dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurationReport {
    /// The pairs the recipe's filters and mix selected.
    pub before: CurationStats,
    /// The members of the version.
    pub after: CurationStats,
    /// Dropped: prompt a near-duplicate of a prompt of an `against` version.
    pub near_duplicate_eval: u64,
    /// Dropped: prompt a near-duplicate of an earlier kept (different) prompt.
    pub near_duplicate_earlier: u64,
    /// Dropped: length gap above `max_length_gap`.
    pub length_gap: u64,
    /// Dropped by `length_balance`.
    pub length_balance: u64,
    /// `name@version` of the generator whose tokenizer counted tokens, when a rule counted them.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Up to five dropped near-duplicates: the dropped prompt and the prompt it repeats.
    #[serde(default)]
    pub near_duplicate_examples: Vec<NearDuplicateExample>,
}

/// Length statistics of a set of pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurationStats {
    pub pairs: u64,
    pub length_chars: DiffStats,
    /// With the recipe's tokenizer, when a rule counted tokens.
    #[serde(default)]
    pub length_tokens: Option<DiffStats>,
}

/// A dropped prompt and the one it nearly repeats (first 200 characters of each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearDuplicateExample {
    pub dropped: String,
    pub duplicates: String,
    /// `eval` (an `against` version's prompt) or `earlier` (an earlier kept prompt).
    pub reason: String,
}

/// How two versions differ, by pair hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetDiff {
    pub from: String,
    pub to: String,
    pub added: u64,
    pub removed: u64,
    pub unchanged: u64,
    /// Up to ten hashes of each side, for a look.
    pub added_examples: Vec<String>,
    pub removed_examples: Vec<String>,
    pub from_pair_count: u64,
    pub to_pair_count: u64,
    /// Summary statistics of both versions side by side (counts per strategy, source and
    /// split; mean margin; length bias), in a fixed order.
    #[serde(default)]
    pub stats: Vec<StatDelta>,
}

/// One statistic of two dataset versions (`None` where it does not apply, e.g. no margins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatDelta {
    pub name: String,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// What a pair import did; nothing is stored unless every row was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairImportReport {
    pub rows: u64,
    pub inserted: u64,
    pub duplicates: u64,
}

/// One preference pair as the pair browser shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairView {
    pub id: i64,
    pub hash: String,
    /// The last user turn.
    pub prompt: String,
    /// Turns in the prompt (more than one for multi-turn context).
    pub turns: usize,
    pub chosen: String,
    pub rejected: String,
    pub strategy: String,
    pub source: String,
    pub margin: Option<f64>,
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelView {
    pub id: i64,
    pub name: String,
    /// `generator`, `judge`, `reward` or `reference`.
    pub kind: String,
    pub path: String,
    /// Content hash of the model's files when last checked.
    pub version: String,
    /// Execution provider asked for: `cpu`, `cuda` or `auto`.
    pub device: String,
    /// RFC 3339.
    pub created_at: String,
    pub checked_at: String,
    /// Served by an OpenAI-compatible server (`path` is its base URL, `version` the served model
    /// name at that URL).
    #[serde(default)]
    pub remote: bool,
}

/// One finished safety evaluation: a point of the /eval page's Pareto plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvalPointView {
    pub run: i64,
    pub project: String,
    /// The registered name (or `(directory)`).
    pub model: String,
    pub model_version: String,
    pub judge: Option<String>,
    /// `name@version` of the judge's rubric.
    pub rubric: Option<String>,
    pub dataset_version: Option<String>,
    pub figures: crate::eval::EvalFigures,
    pub finished_at: Option<String>,
}

/// A judge run's agreement with the project's gold answers (its gold part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunGoldView {
    pub run: i64,
    pub n: u64,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
}

/// A judge duel's state and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuelView {
    pub run: i64,
    pub status: String,
    /// `name@version` of the judge.
    pub judge: String,
    /// Per group (guard kind, or `all`): the first answer's wins, losses and win rate.
    pub tally: std::collections::BTreeMap<String, crate::duel::DuelTally>,
}

/// One iteration round as /rounds shows it, side by side with the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundView {
    pub id: i64,
    pub project: String,
    pub number: i32,
    pub name: String,
    pub generator: String,
    pub generator_version: String,
    pub generation_runs: Vec<i64>,
    pub judge_runs: Vec<i64>,
    pub dataset_version: Option<String>,
    /// Pairs in the dataset version.
    pub pairs: Option<u64>,
    pub eval_run: Option<i64>,
    /// Over-refusal, harmlessness and helpfulness from the evaluation.
    pub figures: Option<crate::eval::EvalFigures>,
    /// The round's judge runs against gold.
    pub judge_gold: Vec<RunGoldView>,
    /// The newest duel of this round's generator against the previous round's.
    pub vs_previous: Option<DuelView>,
    pub note: String,
    pub created_at: String,
}

/// A finished refusal classifier check: its agreement with the human labels of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalCheckView {
    pub run: i64,
    pub project: String,
    pub source: String,
    /// `name@version` of the judge, where one ran.
    pub judge: Option<String>,
    /// The rules alone.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rules: crate::refusal::RefusalEval,
    /// The rules with the judge deciding refusal vs compliance.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub with_judge: Option<crate::refusal::RefusalEval>,
    pub finished_at: Option<String>,
}

/// One constitution version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConstitutionView {
    pub id: i64,
    pub name: String,
    pub version: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: crate::constitution::ConstitutionSpec,
    /// A critique loop used this version: it is read-only (editing makes a new version).
    pub locked: bool,
    /// Prompts critiqued under this version.
    pub loops: u64,
    /// RFC 3339.
    pub created_at: String,
}

/// One prompt's critique → revision loop, as stored: everything that made its pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CritiqueLoopView {
    pub id: i64,
    pub run: i64,
    pub prompt_id: i64,
    pub prompt: String,
    /// `name@version`.
    pub constitution: String,
    pub principle: String,
    pub original: String,
    pub final_text: String,
    pub revisions: u32,
    /// no_violation, revised, max_rounds, unchanged or templated_refusal.
    pub end: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub steps: Vec<crate::constitution::LoopStep>,
    /// The stored pair's hash, where the loop made one.
    pub pair_hash: Option<String>,
    /// Generator, critic and reviser (name and version) and the sampling parameters.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub provenance: serde_json::Value,
    pub created_at: String,
}

/// One rubric version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RubricView {
    pub id: i64,
    pub name: String,
    pub version: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: crate::rubric::RubricSpec,
    /// A judgment used this version: it is read-only (it always is; editing makes a new version).
    pub locked: bool,
    pub judgments: u64,
    /// RFC 3339.
    pub created_at: String,
}

/// A generation or judge run (a job) with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunView {
    pub id: i64,
    pub project: String,
    /// `generate` or `judge`.
    pub kind: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    pub done: u64,
    pub total: u64,
    pub tokens: u64,
    /// Generated tokens per second since the run started (running and finished runs).
    pub tokens_per_s: Option<f64>,
    /// Seconds left at the current pace (running runs).
    pub eta_s: Option<f64>,
    pub attempts: i32,
    /// The run's seed (generation runs): the one asked for, or the random one drawn for it.
    pub seed: Option<u64>,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: serde_json::Value,
    /// RFC 3339.
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// A judgment of a candidate as the candidate browser shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateScore {
    pub run_id: i64,
    pub rubric: String,
    pub rubric_version: i32,
    pub mode: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scores: serde_json::Value,
    pub overall: Option<f64>,
    pub parse_ok: bool,
}

/// A generated candidate with how it was made and its judge scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateView {
    pub id: i64,
    pub run_id: i64,
    pub prompt_id: i64,
    pub path: String,
    pub index: i32,
    pub transform: Option<String>,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    pub seed: String,
    pub model_version: String,
    pub provider: String,
    pub finish_reason: String,
    pub token_count: i32,
    pub mean_logprob: f64,
    pub ref_logprob: Option<f64>,
    pub decode_ms: f64,
    pub scores: Vec<CandidateScore>,
}

/// One pairwise judgment in both orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairwiseView {
    pub run_id: i64,
    pub rubric: String,
    pub rubric_version: i32,
    pub first: i64,
    pub second: i64,
    /// `first`, `second` or `tie` with the first candidate shown as A …
    pub winner_ab: String,
    /// … and shown as B.
    pub winner_ba: String,
    pub consistent: bool,
    pub needs_review: bool,
}

/// A prompt with all its candidates side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptCandidates {
    pub prompt: PromptView,
    pub candidates: Vec<CandidateView>,
    pub pairwise: Vec<PairwiseView>,
}

/// One bar of a histogram: values in `[lo, hi)` (the last bar includes `hi`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: u64,
}

/// Distribution of chosen − rejected differences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffStats {
    pub mean: f64,
    pub median: f64,
    /// Share of pairs whose chosen answer is longer.
    pub share_chosen_longer: f64,
    pub histogram: Vec<Bin>,
}

/// A cluster of near-identical chosen answers (templates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateCluster {
    pub size: u64,
    /// Contains refusal phrasing ("I can't", "I'm sorry", …).
    pub refusal_like: bool,
    pub examples: Vec<String>,
}

/// Prompts that appear on both sides of a split (or of two versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contamination {
    /// What was compared: `splits` (eval vs the rest of this version) or `version:TAG`.
    pub against: String,
    /// Distinct prompts on the evaluation side.
    pub compared: u64,
    /// Of those, identical (normalized hash) to a prompt on the other side.
    pub exact: u64,
    /// Of the rest, near-duplicates (MinHash Jaccard ≥ threshold).
    pub near: u64,
    pub threshold: f64,
    pub examples: Vec<String>,
}

/// A judge run whose judgments made pairs of this version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JudgeRunStats {
    pub run: i64,
    pub mode: String,
    pub rubric: String,
    pub parse_failure_rate: f64,
    pub inconsistency_rate: Option<f64>,
}

/// The quality report of a dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityReport {
    pub project: String,
    pub version: String,
    pub pairs: u64,
    /// Length bias: chosen − rejected in characters …
    pub length_chars: DiffStats,
    /// … and in whitespace-separated words …
    pub length_words: DiffStats,
    /// … and in tokens of the generator's tokenizer (the sample the MinHash parts use; `None`
    /// when no generator model is registered).
    #[serde(default)]
    pub length_tokens: Option<DiffStats>,
    /// The model (`name@version`) whose tokenizer counted `length_tokens`.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Margins of pairs that have one.
    pub margin_histogram: Vec<Bin>,
    pub pairs_with_margin: u64,
    pub by_strategy: std::collections::BTreeMap<String, u64>,
    pub by_source: std::collections::BTreeMap<String, u64>,
    /// Pairs per split (`train` / `eval`) under the version's split rule.
    #[serde(default)]
    pub by_split: std::collections::BTreeMap<String, u64>,
    /// Path of the chosen side (pairs built from generated candidates).
    pub by_chosen_path: std::collections::BTreeMap<String, u64>,
    /// Pairs per rubric version they rest on (`none`: no rubric decided them).
    #[serde(default)]
    pub by_rubric: std::collections::BTreeMap<String, u64>,
    /// Reward-hacking guard pairs by kind (padding, restating, hedging, empty_list,
    /// false_premise), from the guard builder.
    #[serde(default)]
    pub by_guard: std::collections::BTreeMap<String, u64>,
    /// The judge's check of the guard pairs, by kind (and `all`): how often a pairwise judge,
    /// reading both orders, prefers the original over its degraded version (the newest duel
    /// verdict of each pair; empty until a guards duel ran).
    #[serde(default)]
    pub guard_check: std::collections::BTreeMap<String, crate::duel::DuelTally>,
    pub trivial_negatives: u64,
    /// Pairs sharing their prompt with another pair of the version.
    pub repeated_prompts: u64,
    /// Clusters of templated chosen answers, largest first.
    pub templates: Vec<TemplateCluster>,
    /// Share of (sampled) chosen answers inside a template cluster.
    pub templated_share: f64,
    /// Chosen answers the template clustering looked at (a deterministic sample of big versions).
    pub templates_sampled: u64,
    pub contamination: Vec<Contamination>,
    pub judge_runs: Vec<JudgeRunStats>,
    /// Refusals among the answers, and how many are templated (no reason or no alternative).
    #[serde(default)]
    pub refusals: RefusalShares,
}

/// Refusals in a set of pairs, by side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalShares {
    pub chosen_refusals: u64,
    pub chosen_templated: u64,
    pub rejected_refusals: u64,
    pub rejected_templated: u64,
    /// Templated refusals among all chosen answers.
    pub chosen_templated_share: f64,
    pub pairs: u64,
}

impl RefusalShares {
    pub fn add(&mut self, chosen: &str, rejected: &str) {
        use crate::refusal::{lacks_reason_or_alternative, refuses};
        // The opening is read once per answer; the whole text only for refusals.
        let (chosen, rejected) = (
            refuses(chosen).then_some(chosen),
            refuses(rejected).then_some(rejected),
        );
        self.pairs += 1;
        self.chosen_refusals += u64::from(chosen.is_some());
        self.chosen_templated += u64::from(chosen.is_some_and(lacks_reason_or_alternative));
        self.rejected_refusals += u64::from(rejected.is_some());
        self.rejected_templated += u64::from(rejected.is_some_and(lacks_reason_or_alternative));
        self.chosen_templated_share = self.chosen_templated as f64 / self.pairs as f64;
    }
}

/// One entry of the audit log as `GET /api/v1/audit` and /audit show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// The acting user's name, or `cli` (entries older than actor names: the user's current name).
    pub actor: Option<String>,
    /// `project.create`, `run.generate`, `dataset.freeze`, …
    pub action: String,
    /// What was acted on: `run:12`, `user:ann`, `project:hh/v1`.
    pub target: String,
    /// The project the action concerns, where it concerns one.
    pub project: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}
