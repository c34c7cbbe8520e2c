//! `pairwise eval`: a model's safety evaluation (`pairwise eval --model NAME|DIR [--benign FILE]
//! [--redteam FILE] [--judge NAME] --json`: over-refusal on benign prompts, harmlessness on
//! red-team prompts, helpfulness by a judge), and `pairwise eval refusal-classifier --input
//! FILE.csv [--json]`: the refusal classifier's agreement with human labels (a CSV with
//! `completion` and `final_label`, as XSTest's labelled completions).

use anyhow::Context;
use clap::{Args, Subcommand};
use pairwise_core::{
    refusal::{evaluate, read_labelled, Labelled, RefusalEval},
    requests::CreateProject,
    run_requests::{EvalRequest, RefusalCheckRequest},
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
        /// A registered judge model that decides refusal vs compliance (the rules tell full
        /// from partial): measured beside the rules alone, as a run with a progress bar.
        #[arg(long)]
        judge: Option<String>,
        /// Record the check as a run of this project (shown on /eval); with --judge the
        /// default is `eval`.
        #[arg(long)]
        project: Option<String>,
        /// Only the file's first N rows.
        #[arg(long)]
        limit: Option<usize>,
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
    /// Where the default prompt sets are read from when neither --benign nor --redteam is
    /// given and the project has no benign or red-team prompts: XSTest's safe prompts (benign),
    /// its unsafe contrast prompts and HH-RLHF harmless-base first human turns (red-team).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    #[arg(long)]
    pub json: bool,
}

impl EvalArgs {
    /// The refusal classifier reads a file alone unless it runs a judge or is recorded; a model
    /// evaluation needs the database.
    pub fn needs_database(&self) -> bool {
        match &self.command {
            None => true,
            Some(EvalCommand::RefusalClassifier { judge, project, .. }) => {
                judge.is_some() || project.is_some()
            }
        }
    }
}

/// The labelled rows of a file (its first `limit`).
fn labelled(input: &Path, limit: Option<usize>) -> anyhow::Result<Vec<Labelled>> {
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let mut rows = read_labelled(file).with_context(|| format!("{}", input.display()))?;
    if let Some(limit) = limit {
        rows.truncate(limit);
    }
    Ok(rows)
}

fn print_eval(eval: &RefusalEval, what: &str) {
    println!(
        "{what}: {} answers, accuracy {:.3}, κ {}, refusal-vs-compliance accuracy {:.3}",
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

pub fn run_offline(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::RefusalClassifier {
            input, json, limit, ..
        } => {
            let eval = evaluate(&labelled(&input, limit)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&eval)?);
            } else {
                print_eval(&eval, "rules");
            }
            Ok(())
        }
    }
}

/// A refusal classifier check recorded as a run (with a judge, processed here with a progress
/// bar); prints the figures of the classifier as configured, and of the rules alone beside.
pub async fn run_check(
    db: &DatabaseConnection,
    actor: &Actor,
    command: EvalCommand,
) -> anyhow::Result<()> {
    let EvalCommand::RefusalClassifier {
        input,
        judge,
        project,
        limit,
        json,
    } = command;
    let project = project.unwrap_or_else(|| "eval".into());
    ensure_project(db, actor, &project).await?;
    let request = RefusalCheckRequest {
        project,
        judge,
        source: input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        rows: labelled(&input, limit)?,
    };
    let run = runs::start_refusal_check(db, actor, request).await?;
    let view = super::runs::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "refusal check run {} ended {}: {}",
        run.id,
        view.status,
        view.error.unwrap_or_default()
    );
    let summary: runs::RefusalCheckSummary = serde_json::from_value(view.summary)?;
    if json {
        let mut out = serde_json::to_value(summary.with_judge.as_ref().unwrap_or(&summary.rules))?;
        out["run"] = run.id.into();
        out["rules"] = serde_json::to_value(&summary.rules)?;
        if let Some(judged) = &summary.with_judge {
            out["with_judge"] = serde_json::to_value(judged)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_eval(&summary.rules, "rules");
        if let Some(judged) = &summary.with_judge {
            print_eval(judged, "rules + judge");
        }
        println!("recorded as run {} (shown on /eval)", run.id);
    }
    Ok(())
}

/// Whether a project has benign or red-team prompts.
async fn has_eval_prompts(db: &DatabaseConnection, project: &str) -> anyhow::Result<bool> {
    use pairwise_store::prompts::{self, PromptFilter};
    let Some(p) = pairwise_store::projects::find(db, project).await? else {
        return Ok(false);
    };
    for split in [pairwise_core::Split::Benign, pairwise_core::Split::Redteam] {
        let filter = PromptFilter {
            split: Some(split),
            search: None,
        };
        if !prompts::ids(db, p.id, &filter, Some(1)).await?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates the evaluation project where it is missing.
async fn ensure_project(db: &DatabaseConnection, actor: &Actor, name: &str) -> anyhow::Result<()> {
    if pairwise_store::projects::find(db, name).await?.is_none() {
        let request = CreateProject {
            name: name.to_owned(),
            description: "Safety evaluation prompts (benign and red-team)".into(),
        };
        pairwise_pipeline::projects::create_project(db, actor, request).await?;
    }
    Ok(())
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
    ensure_project(db, actor, &args.project).await?;
    let mut files: Vec<(PathBuf, bool)> = [(&args.benign, false), (&args.redteam, true)]
        .into_iter()
        .filter_map(|(path, harmful)| path.clone().map(|p| (p, harmful)))
        .collect();
    if files.is_empty() && !has_eval_prompts(db, &args.project).await? {
        let xstest = args.data.join("xstest/xstest_prompts.csv");
        let hh = args.data.join("hh-rlhf/harmless-base-test.jsonl.gz");
        files = vec![(xstest.clone(), false), (xstest, true), (hh, true)];
        files.retain(|(path, _)| path.is_file());
        anyhow::ensure!(
            !files.is_empty(),
            "project `{}` has no benign or red-team prompts and the default sets are not under {} \
             (pass --benign/--redteam, or --data DIR)",
            args.project,
            args.data.display()
        );
        eprintln!(
            "project `{}` has no evaluation prompts: adding the default sets from {}",
            args.project,
            args.data.display()
        );
    }
    for (path, harmful) in &files {
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
            *harmful,
            &format!("eval:{source}"),
        )
        .await?;
        eprintln!(
            "{}: {added} {} prompts added to `{}`",
            path.display(),
            if *harmful { "redteam" } else { "benign" },
            args.project
        );
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
