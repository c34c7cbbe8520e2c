//! What a user asks for when starting a run: one request type per kind of run, shared by the
//! runs form, the REST body, the CLI's flags (`feature = "cli"` derives them) and the use case.

use crate::{
    generation::{GenerationPath, PathPreset, DEFAULT_CANDIDATES},
    judge::JudgeMode,
    Split,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Starts a generation run: N candidates per prompt along the chosen paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerateRequest {
    /// The project whose prompts get candidates.
    #[cfg_attr(feature = "cli", arg(long))]
    pub project: String,
    /// A registered generator model (by name).
    #[cfg_attr(feature = "cli", arg(long))]
    pub model: String,
    /// cpu, cuda or auto (default: the registered model's).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub device: Option<String>,
    /// Candidates per prompt (1–64).
    #[serde(default = "default_n")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_CANDIDATES))]
    pub n: u32,
    /// The decoding paths, round-robin over the candidates: conservative, diverse, adversarial.
    #[serde(default = "default_paths")]
    #[cfg_attr(
        feature = "cli",
        arg(
            long,
            value_delimiter = ',',
            default_value = "conservative,diverse,adversarial"
        )
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub paths: Vec<GenerationPath>,
    /// Preset overrides per path, as a JSON object:
    /// {"diverse": {"temperature": 1.2, "top_p": 0.95, "top_k": 80, "repetition_penalty": 1.1}}.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long, value_parser = parse_presets, default_value = "{}"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub presets: BTreeMap<GenerationPath, PathPreset>,
    /// Most new tokens per candidate (1–4096).
    #[serde(default = "default_max_new_tokens")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 128))]
    pub max_new_tokens: u32,
    /// Only prompts of this split.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub split: Option<Split>,
    /// Only prompts containing this text.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub search: Option<String>,
    /// At most this many prompts (in import order).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub limit: Option<u64>,
    /// The run's seed; each candidate's seed mixes it with the prompt and index. Left out, a
    /// random one is drawn and recorded on the run.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
    /// Allows temperatures above 1.3.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub confirm_high_temperature: bool,
}

fn default_n() -> u32 {
    DEFAULT_CANDIDATES
}
fn default_paths() -> Vec<GenerationPath> {
    GenerationPath::ALL.to_vec()
}
fn default_max_new_tokens() -> u32 {
    128
}

/// Parses the presets JSON object (CLI flag and form); the error names line and column.
pub fn parse_presets(text: &str) -> Result<BTreeMap<GenerationPath, PathPreset>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(text).map_err(|e| format!("line {} column {}: {e}", e.line(), e.column()))
}

impl GenerateRequest {
    /// The defaults of every optional field.
    pub fn new(project: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            model: model.into(),
            device: None,
            n: default_n(),
            paths: default_paths(),
            presets: BTreeMap::new(),
            max_new_tokens: default_max_new_tokens(),
            split: None,
            search: None,
            limit: None,
            seed: None,
            confirm_high_temperature: false,
        }
    }
}

/// Starts a judge run over the candidates of finished generation runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JudgeRequest {
    /// The project whose candidates are judged.
    #[cfg_attr(feature = "cli", arg(long))]
    pub project: String,
    /// A registered judge or reward model (by name).
    #[cfg_attr(feature = "cli", arg(long))]
    pub model: String,
    /// cpu, cuda or auto (default: the registered model's).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub device: Option<String>,
    /// `NAME` or `NAME@VERSION`.
    #[serde(default = "default_rubric")]
    #[cfg_attr(feature = "cli", arg(long, default_value = "default"))]
    pub rubric: String,
    /// json, prob, pairwise (judge models) or reward (a sequence-classification reward model).
    #[cfg_attr(feature = "cli", arg(long))]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub mode: JudgeMode,
    /// Generation runs whose candidates to judge (default: every finished one of the project).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub runs: Vec<i64>,
    /// Most new tokens of a judge's answer (clamped to 8–1024).
    #[serde(default = "default_judge_tokens")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 96))]
    pub max_new_tokens: u32,
    /// Length-controlled scores: every judge prompt asks the judge to leave the answers' length
    /// out of its verdict (recorded on the run; the run's summary gives the correlation of its
    /// scores with answer length, to compare with a plain run).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub length_controlled: bool,
    /// How many of the project's gold items the run also judges, apart from its pairs, to
    /// measure the judge against gold (/calibration): the oldest ones, so runs stay comparable
    /// over time. 0 judges none.
    #[serde(default = "default_gold_items")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_GOLD_ITEMS))]
    pub gold_items: u32,
}

/// Gold items a judge run judges unless told otherwise.
pub const DEFAULT_GOLD_ITEMS: u32 = 200;

fn default_gold_items() -> u32 {
    DEFAULT_GOLD_ITEMS
}

fn default_rubric() -> String {
    "default".into()
}
fn default_judge_tokens() -> u32 {
    96
}

impl JudgeRequest {
    pub fn new(
        project: impl Into<String>,
        model: impl Into<String>,
        rubric: impl Into<String>,
        mode: JudgeMode,
    ) -> Self {
        Self {
            project: project.into(),
            model: model.into(),
            device: None,
            rubric: rubric.into(),
            mode,
            runs: Vec::new(),
            max_new_tokens: default_judge_tokens(),
            length_controlled: false,
            gold_items: DEFAULT_GOLD_ITEMS,
        }
    }
}

/// Starts a reference-scoring run: the mean per-token log-probability of every candidate under
/// a reference model (hard-negative analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceRequest {
    /// The project whose candidates are scored.
    #[cfg_attr(feature = "cli", arg(long))]
    pub project: String,
    /// A registered reference model (by name).
    #[cfg_attr(feature = "cli", arg(long))]
    pub model: String,
    /// Generation runs to score (default: every finished one of the project).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long, value_delimiter = ','))]
    pub runs: Vec<i64>,
}

/// Starts a critique → revision loop (Constitutional AI) over a project's prompts (by default
/// its red-team split): the generator answers, the critic critiques the answer against a
/// principle of the constitution, the reviser rewrites it, for up to `rounds` rounds. The final
/// revision becomes chosen and the original rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CritiqueRequest {
    /// The project whose prompts are answered, critiqued and revised.
    #[cfg_attr(feature = "cli", arg(long))]
    pub project: String,
    /// The registered model that answers (and, unless `reviser` is given, revises).
    #[cfg_attr(feature = "cli", arg(long))]
    pub generator: String,
    /// The registered model that critiques; the generator itself is allowed, with a warning
    /// recorded on the run.
    #[cfg_attr(feature = "cli", arg(long))]
    pub critic: String,
    /// The registered model that revises (default: the generator, as in Constitutional AI).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub reviser: Option<String>,
    /// `NAME` or `NAME@VERSION` of a constitution.
    #[serde(default = "default_constitution")]
    #[cfg_attr(feature = "cli", arg(long, default_value = "default"))]
    pub constitution: String,
    /// Critique → revision rounds per prompt (1–5); a prompt stops early once a critique finds
    /// no violation.
    #[serde(default = "default_rounds")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = crate::constitution::DEFAULT_ROUNDS))]
    pub rounds: u32,
    /// Only prompts of this split (default: red-team; `all` for every prompt; `probes` for the
    /// built-in false-premise probes, added to the project as red-team prompts).
    #[serde(default = "default_critique_split")]
    #[cfg_attr(feature = "cli", arg(long, default_value = "redteam"))]
    pub split: String,
    /// At most this many prompts (in import order).
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub limit: Option<u64>,
    /// Most new tokens of each answer, critique and revision (1–4096).
    #[serde(default = "default_max_new_tokens")]
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 128))]
    pub max_new_tokens: u32,
    /// The run's seed (principles and every sampled text follow from it). Left out, a random
    /// one is drawn and recorded on the run.
    #[serde(default)]
    #[cfg_attr(feature = "cli", arg(long))]
    pub seed: Option<u64>,
}

fn default_constitution() -> String {
    crate::constitution::DEFAULT_CONSTITUTION.into()
}
fn default_rounds() -> u32 {
    crate::constitution::DEFAULT_ROUNDS
}
fn default_critique_split() -> String {
    "redteam".into()
}

impl CritiqueRequest {
    pub fn new(
        project: impl Into<String>,
        generator: impl Into<String>,
        critic: impl Into<String>,
    ) -> Self {
        Self {
            project: project.into(),
            generator: generator.into(),
            critic: critic.into(),
            reviser: None,
            constitution: default_constitution(),
            rounds: default_rounds(),
            split: default_critique_split(),
            limit: None,
            max_new_tokens: default_max_new_tokens(),
            seed: None,
        }
    }
}

/// Evaluates a model's safety on a project's prompts: over-refusal on the `benign` split,
/// harmlessness on the `redteam` split, and, with a judge, helpfulness on the benign answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvalRequest {
    pub project: String,
    /// A registered model (by name).
    pub model: String,
    /// A registered judge model that scores the benign answers (probability-weighted ratings).
    #[serde(default)]
    pub judge: Option<String>,
    /// The judge's rubric: `NAME` or `NAME@VERSION`.
    #[serde(default = "default_rubric")]
    pub rubric: String,
    /// At most this many prompts of each side (in import order).
    #[serde(default)]
    pub limit: Option<u64>,
    /// Most new tokens of each answer (1–4096).
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: u32,
    /// The run's seed (answers are greedy; the seed is recorded for remote servers that sample).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The dataset version (tag in the project) the model was trained on, where known.
    #[serde(default)]
    pub dataset_version: Option<String>,
}

impl EvalRequest {
    pub fn new(project: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            model: model.into(),
            judge: None,
            rubric: default_rubric(),
            limit: None,
            max_new_tokens: default_max_new_tokens(),
            seed: None,
            dataset_version: None,
        }
    }
}

/// Starts a judge duel: the pairwise judge reads two answers to each prompt in both orders —
/// guard originals against their degraded versions, or one round's generator against the
/// previous round's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuelRequest {
    pub project: String,
    /// A registered judge model (by name); it reads the letters A and B.
    pub judge: String,
    /// The judge's rubric: `NAME` or `NAME@VERSION`.
    #[serde(default = "default_rubric")]
    pub rubric: String,
    pub source: crate::duel::DuelSource,
    /// At most this many items.
    #[serde(default)]
    pub limit: Option<u64>,
}

impl DuelRequest {
    pub fn new(
        project: impl Into<String>,
        judge: impl Into<String>,
        source: crate::duel::DuelSource,
    ) -> Self {
        Self {
            project: project.into(),
            judge: judge.into(),
            rubric: default_rubric(),
            source,
            limit: None,
        }
    }
}

/// Records an iteration round: a generator version with the runs and dataset version made from
/// it, and its evaluation. Round numbers count up from 1 in a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveRound {
    /// The project (REST takes it from the path).
    #[serde(default)]
    pub project: String,
    /// The round's number (default: one after the project's last).
    #[serde(default)]
    pub number: Option<i32>,
    #[serde(default)]
    pub name: String,
    /// The round's generator: a registered model (by name).
    pub generator: String,
    /// Generation runs of the round (of its generator, in the project).
    #[serde(default)]
    pub generation_runs: Vec<i64>,
    /// Judge runs of the round (over its generation runs).
    #[serde(default)]
    pub judge_runs: Vec<i64>,
    /// The dataset version (tag) made from the round.
    #[serde(default)]
    pub dataset_version: Option<String>,
    /// A finished evaluation of the round's generator (over-refusal, harmlessness, and the
    /// answers the next round is compared on).
    #[serde(default)]
    pub eval_run: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// Measures the refusal classifier against human labels (XSTest's labelled completions): the
/// rules alone, and with a judge model that decides whether each answer refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalCheckRequest {
    /// The project the run belongs to (who may see it).
    pub project: String,
    /// A registered judge model (by name); none: the rules alone.
    #[serde(default)]
    pub judge: Option<String>,
    /// Where the rows come from (a file name), shown with the figures.
    pub source: String,
    /// The labelled answers.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub rows: Vec<crate::refusal::Labelled>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_body_takes_every_default_and_no_seed() {
        let r: GenerateRequest =
            serde_json::from_str(r#"{"project": "p", "model": "m"}"#).expect("parses");
        assert_eq!(r, GenerateRequest::new("p", "m"));
        assert_eq!(r.seed, None);
    }

    #[test]
    fn preset_errors_name_line_and_column() {
        let e = parse_presets("{\"diverse\": 3}").expect_err("not a preset");
        assert!(e.starts_with("line 1 column"), "{e}");
        assert!(parse_presets("  ").expect("empty").is_empty());
    }
}
