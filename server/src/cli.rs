//! The command line of `pairwise`: parse → call the use case → print. Each domain's commands live
//! in `cli/<domain>.rs`; actions run as a named local actor (`--as NAME`, default the built-in
//! `cli` actor) and are audited like the same actions in the browser and the REST API.
//! Every subcommand has `--help`; errors go to stderr with a non-zero exit code.

mod agreement;
mod annotation;
mod builders;
mod calibration;
mod constitutions;
mod datasets;
mod eval;
mod imports;
mod inference;
mod leaderboard;
mod models;
mod pairs;
mod projects;
mod review;
mod rounds;
mod rubrics;
mod runs;
mod users;
mod worker;

pub use agreement::{AgreementArgs, RankArgs};
pub use annotation::{AnnotateCommand, SettingsArgs};
pub use builders::BuildCommand;
pub use constitutions::ConstitutionCommand;
pub use datasets::{DatasetCommand, ExportArgs};
pub use eval::{EvalArgs, EvalCommand};
pub use imports::ImportCommand;
pub use inference::{GenerateArgs, ModelArgs, SamplingArgs, ScoreArgs};
pub use leaderboard::LeaderboardArgs;
pub use models::ModelCommand;
pub use pairs::PairsCommand;
pub use projects::ProjectCommand;
pub use review::ReviewCommand;
pub use rounds::RoundCommand;
pub use rubrics::RubricCommand;
pub(crate) use runs::process_until_done;
pub use runs::{RunCommand, WaitArgs};
pub use users::UserCommand;
pub use worker::WorkerArgs;

use crate::{config::ServeConfig, demo};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_store::DEFAULT_DATABASE_URL;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "pairwise",
    version,
    about = "Pairwise: turn prompts into versioned, traceable preference data for DPO and RLHF"
)]
pub struct Cli {
    /// Database URL: `sqlite://path?mode=rwc` (default, WAL) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Act as this user (their role is checked and the audit log names them); default the
    /// built-in `cli` actor, an admin.
    #[arg(long = "as", value_name = "NAME", env = "PAIRWISE_AS", global = true)]
    pub as_user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and the REST API (migrates first).
    Serve(ServeConfig),
    /// Apply pending database migrations.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Import data into a project.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Dataset versions: freeze, list, diff.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Export a dataset version for a trainer (JSONL, streamed).
    Export(ExportArgs),
    /// Create the demo users (new random passwords, printed) and the demo project with data.
    Demo(DemoArgs),
    /// Generate candidates from one prompt with a local ONNX model.
    Generate(GenerateArgs),
    /// Log-probabilities of responses under a model (teacher forcing).
    Score(ScoreArgs),
    /// The models registry.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Rubric versions.
    #[command(subcommand)]
    Rubric(RubricCommand),
    /// Constitution versions (principles for the critique → revision loop).
    #[command(subcommand)]
    Constitution(ConstitutionCommand),
    /// Generation and judge runs.
    #[command(subcommand)]
    Run(RunCommand),
    /// Iteration rounds, side by side (compare one with the previous: `run duel --round K`).
    #[command(subcommand)]
    Round(RoundCommand),
    /// The quality report of a dataset version (length bias, templates, contamination, margins).
    Report {
        #[arg(long)]
        project: String,
        #[arg(long)]
        version: String,
        /// Also check the prompts for contamination with this other version (an eval set).
        #[arg(long)]
        against: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Pairs built from judged candidates.
    #[command(subcommand)]
    Pairs(PairsCommand),
    /// Process queued runs (several workers may share one database).
    Worker(WorkerArgs),
    /// Human annotation: queue items, gold, settings, the κ gate, human-decided pairs.
    #[command(subcommand)]
    Annotate(AnnotateCommand),
    /// The calibration report of a project's annotation (/calibration as text or JSON).
    Calibration {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: bool,
    },
    /// Agreement statistics offline (percent agreement, Cohen's κ per pair, Fleiss' κ,
    /// Krippendorff's α) from JSONL {"item", "annotator", "label"} or a CSV.
    Agreement(AgreementArgs),
    /// Bradley–Terry strengths from a JSONL file of pairwise comparisons (ties count half).
    Rank(RankArgs),
    /// A project's generator versions, paths or transforms ranked by Bradley–Terry with bootstrap
    /// 95% intervals: the judge's board beside the humans', with their rank correlation.
    Leaderboard(LeaderboardArgs),
    /// The review step: list annotators' votes (by annotator, agreement, gold result, time on
    /// task, review state) and accept, reject or requeue them.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Domain builders: math error injection with step labels, code graded by running it in a
    /// sandbox, agent trajectories checked against their tool schemas.
    #[command(subcommand)]
    Build(BuildCommand),
    /// Evaluation: a model's over-refusal, harmlessness and helpfulness (`--model`), or the
    /// refusal classifier against human labels (`refusal-classifier`).
    Eval(EvalArgs),
    /// Benchmarks (write JSON under bench/results/).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder with the public datasets (xstest/, gsm8k/).
    #[arg(long, env = "PAIRWISE_DEMO_DATA", default_value = "../shared/data")]
    pub data: PathBuf,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAIRWISE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_sessions=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_str();
    let command = match cli.command {
        Command::Serve(config) => return crate::serve::serve(url, config).await,
        // Inference commands need no database; they run on a blocking thread.
        Command::Generate(args) => return blocking(move || inference::generate(args)).await,
        Command::Score(args) => return blocking(move || inference::score(args)).await,
        Command::Bench(args) => {
            let url = url.to_owned();
            return blocking(move || crate::bench::run(args, &url)).await;
        }
        Command::Agreement(args) => return agreement::agreement(args),
        Command::Rank(args) => return agreement::rank(args),
        Command::Eval(args) if !args.needs_database() => {
            return eval::run_offline(args.command.expect("a subcommand"))
        }
        // A build stores nothing without --project, so it needs no database then.
        Command::Build(command) if !command.needs_database() => {
            return builders::run(None, command).await
        }
        other => other,
    };
    let db = pairwise_store::connect(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    pairwise_store::migrate(&db)
        .await
        .context("migrating the database")?;
    let actor = pairwise_pipeline::access::local_actor(&db, cli.as_user.as_deref())
        .await
        .context("--as")?;
    match command {
        Command::Serve(_)
        | Command::Generate(_)
        | Command::Score(_)
        | Command::Bench(_)
        | Command::Agreement(_)
        | Command::Rank(_) => {
            unreachable!("handled above")
        }
        Command::Build(command) => builders::run(Some((&db, &actor)), command).await?,
        Command::Migrate => {
            let (last, _) = pairwise_store::migration_status(&db).await?;
            println!(
                "database is at migration {}",
                last.unwrap_or_else(|| "none".into())
            );
        }
        Command::User(command) => users::run(&db, &actor, command).await?,
        Command::Project(command) => projects::run(&db, &actor, command).await?,
        Command::Import(command) => imports::run(&db, &actor, command).await?,
        Command::Dataset(command) => datasets::run(&db, &actor, command).await?,
        Command::Export(args) => datasets::export(&db, args).await?,
        Command::Model(command) => models::run(&db, &actor, command).await?,
        Command::Rubric(command) => rubrics::run(&db, &actor, command).await?,
        Command::Eval(EvalArgs {
            command: Some(command),
            ..
        }) => eval::run_check(&db, &actor, command).await?,
        Command::Eval(args) => eval::run_model(&db, &actor, args.model).await?,
        Command::Constitution(command) => constitutions::run(&db, &actor, command).await?,
        Command::Run(command) => runs::run(&db, &actor, command, None).await?,
        Command::Round(command) => rounds::run(&db, &actor, command).await?,
        Command::Worker(args) => worker::run(&db, args).await?,
        Command::Pairs(command) => pairs::run(&db, &actor, command).await?,
        Command::Leaderboard(args) => leaderboard::run(&db, &actor, args).await?,
        Command::Review(command) => review::run(&db, &actor, command).await?,
        Command::Annotate(command) => annotation::run(&db, &actor, command).await?,
        Command::Calibration { project, json } => {
            calibration::report(&db, &actor, &project, json).await?
        }
        Command::Report {
            project,
            version,
            against,
            json,
        } => {
            let report =
                pairwise_pipeline::quality_report(&db, &project, &version, against.as_deref())
                    .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                datasets::print_report(&report);
            }
        }
        Command::Demo(args) => demo::run(&db, &args.data).await?,
    }
    Ok(())
}

/// A progress bar over `len` items (set the length later when it is not known yet).
fn bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

/// A byte-based progress bar over reading `file`.
fn file_progress(file: &std::fs::File, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(file.metadata().map(|m| m.len()).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}

async fn blocking(f: impl FnOnce() -> anyhow::Result<()> + Send + 'static) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the command panicked")?
}
