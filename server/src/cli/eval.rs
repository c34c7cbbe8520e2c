//! `pairwise eval`: a model's safety evaluation (`pairwise eval --model NAME|DIR [--benign FILE]
//! [--redteam FILE] [--judge NAME] --json`: over-refusal on benign prompts, harmlessness on
//! red-team prompts, helpfulness by a judge), and `pairwise eval refusal-classifier --input
//! FILE.csv [--json]`: the refusal classifier's agreement with human labels (a CSV with
//! `completion` and `final_label`, as XSTest's labelled completions).

use anyhow::Context;
use clap::{Args, Subcommand};
use pairwise_core::{
    refusal::{evaluate, read_labelled},
    requests::CreateProject,
    run_requests::EvalRequest,
    Actor, ImportFormat, PromptReader,
};
use pairwise_pipeline::runs;
use pairwise_store::DatabaseConnection;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: Option<EvalCommand>,
    #[command(flatten)]
    pub model: ModelEval,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Accuracy and Cohen's κ of the rule-based refusal classifier against a file's
    /// `final_label` (full_compliance / full_refusal / partial_refusal, XSTest's numbering
    /// accepted).
    RefusalClassifier {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// Evaluates a model on a project's benign and red-team prompts (a queued run of kind `eval`,
/// processed here with a progress bar; /eval plots it).
#[derive(Debug, Args)]
pub struct ModelEval {
    /// A registered model (NAME) or a model directory (the local command line only).
    #[arg(long, required = true)]
    pub model: Option<String>,
    /// The project whose `benign` and `redteam` prompts are asked (created if missing).
    #[arg(long, default_value = "eval")]
    pub project: String,
    /// Benign prompts to add first (CSV with a `prompt` column, or JSONL); with a `label`
    /// column (XSTest), only its `safe` rows.
    #[arg(long)]
    pub benign: Option<PathBuf>,
    /// Harmful prompts to add first; with a `label` column, only its `unsafe` rows; an
    /// HH-RLHF file (harmless-base) gives each conversation's first human turn.
    #[arg(long)]
    pub redteam: Option<PathBuf>,
    /// A judge model that scores the benign answers (helpfulness).
    #[arg(long)]
    pub judge: Option<String>,
    /// The judge's rubric (`NAME` or `NAME@VERSION`).
    #[arg(long, default_value = "default")]
    pub rubric: String,
    /// At most this many prompts of each side.
    #[arg(long)]
    pub limit: Option<u64>,
    #[arg(long, default_value_t = 128)]
    pub max_new_tokens: u32,
    #[arg(long)]
    pub seed: Option<u64>,
    /// The dataset version (tag in the project) the model was trained on.
    #[arg(long)]
    pub dataset_version: Option<String>,
    #[arg(long)]
    pub json: bool,
}

impl EvalArgs {
    /// The refusal classifier reads a file alone; a model evaluation needs the database.
    pub fn needs_database(&self) -> bool {
        self.command.is_none()
    }
}

pub fn run_offline(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::RefusalClassifier { input, json } => {
            let file = std::fs::File::open(&input)
                .with_context(|| format!("cannot open {}", input.display()))?;
            let rows = read_labelled(file).with_context(|| format!("{}", input.display()))?;
            let eval = evaluate(&rows);
            if json {
                println!("{}", serde_json::to_string_pretty(&eval)?);
            } else {
                println!(
                    "{} answers: accuracy {:.3}, κ {}, refusal-vs-compliance accuracy {:.3}",
                    eval.n,
                    eval.accuracy,
                    eval.kappa.map_or("n/a".into(), |k| format!("{k:.3}")),
                    eval.binary_accuracy
                );
                for (human, row) in &eval.confusion {
                    let cells: Vec<String> = row.iter().map(|(r, n)| format!("{r} {n}")).collect();
                    println!("  human {human}: {}", cells.join(", "));
                }
            }
            Ok(())
        }
    }
}

/// Reads a prompt file: CSV by extension, else JSONL (`.gz` is read through). JSONL rows that
/// are HH-RLHF pairs (`chosen` / `rejected` transcripts) give their first human turn.
fn read_prompts(path: &Path) -> anyhow::Result<Vec<pairwise_core::PromptRecord>> {
    use std::io::Read;
    let name = path.to_string_lossy().to_lowercase();
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    pairwise_pipeline::maybe_gunzip(file)?
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let records = if name.trim_end_matches(".gz").ends_with(".csv") {
        PromptReader::new(text.as_bytes(), ImportFormat::Csv)?.collect::<Result<Vec<_>, _>>()
    } else if text
        .lines()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|row| row.get("chosen").is_some())
    {
        pairwise_core::prompt_import::hh_first_turns(text.as_bytes())
    } else {
        PromptReader::new(text.as_bytes(), ImportFormat::Jsonl)?.collect::<Result<Vec<_>, _>>()
    };
    records.with_context(|| path.display().to_string())
}

pub async fn run_model(
    db: &DatabaseConnection,
    actor: &Actor,
    args: ModelEval,
) -> anyhow::Result<()> {
    let model = args.model.context("--model is required")?;
    if pairwise_store::projects::find(db, &args.project)
        .await?
        .is_none()
    {
        let request = CreateProject {
            name: args.project.clone(),
            description: "Safety evaluation prompts (benign and red-team)".into(),
        };
        pairwise_pipeline::projects::create_project(db, actor, request).await?;
    }
    for (path, harmful) in [(&args.benign, false), (&args.redteam, true)] {
        if let Some(path) = path {
            let records = read_prompts(path)?;
            let source = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let added = runs::import_eval_prompts(
                db,
                actor,
                &args.project,
                records,
                harmful,
                &format!("eval:{source}"),
            )
            .await?;
            eprintln!(
                "{}: {added} {} prompts added to `{}`",
                path.display(),
                if harmful { "redteam" } else { "benign" },
                args.project
            );
        }
    }
    let mut request = EvalRequest::new(args.project, model);
    request.judge = args.judge;
    request.rubric = args.rubric;
    request.limit = args.limit;
    request.max_new_tokens = args.max_new_tokens;
    request.seed = args.seed;
    request.dataset_version = args.dataset_version;
    let run = runs::start_eval(db, actor, request).await?;
    for w in &run.warnings {
        eprintln!("warning: {w}");
    }
    let wait = super::WaitArgs {
        wait: true,
        json: args.json,
    };
    super::runs::finish_submit(db, run.id, &wait, None).await
}
