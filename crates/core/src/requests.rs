//! Requests of the administrative actions (projects, users, tokens, models, rubrics, dataset
//! versions): the contract between the forms, the REST bodies, the CLI and the use cases.

use crate::{recipe::Recipe, rubric::RubricSpec, Role};
use serde::{Deserialize, Serialize};

/// Creates a project (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateProject {
    /// Letters, digits, `-`, `_` and `.`; unique.
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Adds a user (admin). The password never appears in a log, an audit entry or a view.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateUser {
    pub username: String,
    pub role: Role,
    pub password: String,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Makes a user a member of a project with a role there (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetMember {
    pub username: String,
    /// `annotator` or `reviewer` (never above the account's own role).
    pub role: String,
}

/// Issues an API token for a user (admin); the secret is returned once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueToken {
    pub username: String,
    /// A label to recognise the token by (`ci`, `notebook`).
    pub name: String,
    /// Days until the token is refused (default 90; `0`: never expires).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// Registers a local ONNX model directory or a remote model (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterModel {
    pub name: String,
    /// generator, judge, reward or reference.
    pub kind: String,
    /// The model directory on the server (optimum / transformers.js export layout); empty for a
    /// remote model.
    #[serde(default)]
    pub dir: String,
    /// cpu, cuda or auto.
    #[serde(default = "default_device")]
    pub device: String,
    /// A model behind an OpenAI-compatible server instead of a directory.
    #[serde(default)]
    pub remote: Option<RemoteModelRequest>,
}

/// Where a remote model is served. The API key is given only as the name of an environment
/// variable on the workers; the key itself is never sent, stored or shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteModelRequest {
    /// Base URL of the OpenAI-compatible API (`http://127.0.0.1:8089/v1`).
    pub url: String,
    /// The model name the server serves.
    pub model: String,
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Requests in flight at once per worker (default 8).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Seconds one request may take (default 120).
    #[serde(default)]
    pub timeout_secs: Option<u32>,
}

fn default_device() -> String {
    "cpu".into()
}

/// Saves the next version of a rubric (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveRubric {
    pub name: String,
    pub spec: RubricSpec,
    /// Allows a judge temperature above 0.3.
    #[serde(default)]
    pub force: bool,
}

/// Saves the next version of a constitution (admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveConstitution {
    pub name: String,
    pub spec: crate::constitution::ConstitutionSpec,
}

/// Builds chosen/rejected pairs from a finished judge run of the project by strategy (reviewer);
/// atomic, pairs already stored (same hash and rubric version) are skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuildPairsRequest {
    /// The finished judge run.
    #[cfg_attr(feature = "cli", arg(long = "run"))]
    pub judge_run: i64,
    /// extreme or margin (pointwise runs), pairwise (pairwise runs), ranked (either).
    #[cfg_attr(feature = "cli", arg(long))]
    pub strategy: crate::strategy::Strategy,
    /// Margin strategy: neighbours whose score gap is below this.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = crate::strategy::DEFAULT_MARGIN_THRESHOLD))]
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Drop pairs whose margin is below this (ranked: the log-strength gap, so with `adjacent`
    /// this is the minimum Bradley–Terry gap between neighbours).
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub min_margin: Option<f64>,
    /// Drop saturated margins above this.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub max_margin: Option<f64>,
    /// Reference log-prob gap (nats/token) above which a pair is flagged a trivial negative.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = crate::strategy::DEFAULT_TRIVIAL_GAP))]
    #[serde(default = "default_trivial_gap")]
    pub trivial_gap: f64,
    /// Ranked strategy: top_bottom (strongest against weakest) or adjacent (neighbouring ranks).
    #[cfg_attr(feature = "cli", arg(long, default_value = "top_bottom"))]
    #[serde(default)]
    pub pick: crate::strategy::RankedPick,
    /// Ranked strategy: the L2 prior of the Bradley–Terry fit (> 0; choix's `alpha`).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = crate::strategy::DEFAULT_RANK_ALPHA))]
    #[serde(default = "default_rank_alpha")]
    pub alpha: f64,
    /// Count what the build would make (new pairs, duplicates, filtered) and store nothing.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub preview: bool,
}

impl BuildPairsRequest {
    /// A request with every option at its default.
    pub fn new(judge_run: i64, strategy: crate::strategy::Strategy) -> Self {
        Self {
            judge_run,
            strategy,
            threshold: default_threshold(),
            min_margin: None,
            max_margin: None,
            trivial_gap: default_trivial_gap(),
            pick: Default::default(),
            alpha: default_rank_alpha(),
            preview: false,
        }
    }
}

fn default_threshold() -> f64 {
    crate::strategy::DEFAULT_MARGIN_THRESHOLD
}

fn default_trivial_gap() -> f64 {
    crate::strategy::DEFAULT_TRIVIAL_GAP
}

fn default_rank_alpha() -> f64 {
    crate::strategy::DEFAULT_RANK_ALPHA
}

/// Builds pairs decided by people (reviewer): for every item with at least `min_votes`
/// counted votes whose strict majority prefers one answer, that answer is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct HumanPairsRequest {
    /// Items need at least this many counted votes.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = 2))]
    #[serde(default = "default_min_votes")]
    pub min_votes: u64,
    /// Count votes of quarantined annotators and items too.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub include_quarantined: bool,
    /// Decide by this rubric dimension's choices (helpful, honest, harmless) instead of the
    /// overall choice: votes without a choice for it are not counted.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub dimension: Option<String>,
    /// Which votes count: accepted and unreviewed ones, or accepted ones only. Votes a reviewer
    /// rejected or requeued never count.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = crate::annotation::review::VoteSelection::AcceptedOrUnreviewed))]
    #[serde(default)]
    pub votes: crate::annotation::review::VoteSelection,
}

fn default_min_votes() -> u64 {
    2
}

/// Freezes a new dataset version (reviewer). An existing tag is a conflict: versions never change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FreezeRequest {
    pub tag: String,
    /// Which pairs (default: all).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub recipe: Recipe,
    /// Roll back: copy exactly the pairs of this version instead of applying a recipe.
    #[serde(default)]
    pub from: Option<String>,
}

/// Which domain builder a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// GSM8K-style JSONL: error injection with step labels.
    Math,
    /// HumanEval-style JSONL: code graded in the sandbox, mutation negatives.
    Code,
    /// Tool-call trajectories JSONL: schema and loop checks.
    Agent,
    /// `{prompt, chosen, agreeing?}` JSONL: reward-hacking guards (padded, restating, hedging
    /// and content-free answers; premise-agreeing answers) rejected against the good answer.
    Guards,
}

impl Builder {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Math => "math",
            Self::Code => "code",
            Self::Agent => "agent",
            Self::Guards => "guards",
        }
    }
}

impl std::str::FromStr for Builder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "math" => Ok(Self::Math),
            "code" => Ok(Self::Code),
            "agent" => Ok(Self::Agent),
            "guards" => Ok(Self::Guards),
            other => Err(format!(
                "unknown builder `{other}` (expected math, code, agent or guards)"
            )),
        }
    }
}

/// Queues a domain build (reviewer): the worker builds the pairs of `input` and stores them in
/// `project`, with live progress on /runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuildRequest {
    pub project: String,
    pub builder: Builder,
    /// The input file's text (JSONL; gzip undone by the caller).
    pub input: String,
    /// Its name, recorded as the pairs' source.
    #[serde(default)]
    pub source: String,
    /// Code: failing mutants kept per task (default 2).
    #[serde(default)]
    pub mutants: Option<usize>,
    /// Code: mutants run per task at most (default 8).
    #[serde(default)]
    pub mutant_budget: Option<usize>,
    /// Agents: a registered remote model that writes corrections for faulty trajectories
    /// that come without one (each re-checked before it may be chosen).
    #[serde(default)]
    pub generator: Option<String>,
}
