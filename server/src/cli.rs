//! The command line of `pairwise`: serve, migrate, users, projects, imports and the demo seed.
//! Every subcommand has `--help`; errors go to stderr with a non-zero exit code.

use crate::{config::ServeConfig, demo};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_core::{ImportFormat, Role, Split};
use pairwise_pipeline::{import_prompts, ImportOptions};
use pairwise_store::{projects, prompts::InsertDefaults, tokens, users, DEFAULT_DATABASE_URL};
use std::{io::BufReader, path::PathBuf};

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
    Generate(crate::inference_cli::GenerateArgs),
    /// Log-probabilities of responses under a model (teacher forcing).
    Score(crate::inference_cli::ScoreArgs),
    /// The models registry.
    #[command(subcommand)]
    Model(crate::pipeline_cli::ModelCommand),
    /// Rubric versions.
    #[command(subcommand)]
    Rubric(crate::pipeline_cli::RubricCommand),
    /// Generation and judge runs.
    #[command(subcommand)]
    Run(crate::pipeline_cli::RunCommand),
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
    Pairs(crate::pipeline_cli::PairsCommand),
    /// Process queued runs (several workers may share one database).
    Worker(crate::pipeline_cli::WorkerArgs),
    /// Human annotation: queue items, gold, settings, the κ gate, human-decided pairs.
    #[command(subcommand)]
    Annotate(crate::annotate_cli::AnnotateCommand),
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
    /// Benchmarks (write JSON under bench/results/).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (never from the command line).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue an API token for a user; the token is the last line printed.
    Token {
        #[arg(long)]
        name: String,
        /// A label to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Change a user's role.
    SetRole {
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
    },
    /// Deactivate a user: every session ends and every token is revoked.
    Deactivate {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects with prompt counts.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import prompts (JSONL with `prompt` or `messages`, or CSV with a `prompt` column).
    /// Atomic: a bad line stores nothing and the error names the line and field.
    Prompts {
        file: PathBuf,
        #[arg(long)]
        project: String,
        /// Split for every prompt (default: each record's own, else train).
        #[arg(long)]
        split: Option<Split>,
        /// Domain for every prompt.
        #[arg(long)]
        domain: Option<String>,
        /// File format (default: from the file name).
        #[arg(long)]
        format: Option<ImportFormat>,
    },
    /// Import preference pairs (JSONL, gzip accepted). Atomic: a bad line stores nothing.
    Pairs {
        file: PathBuf,
        #[arg(long)]
        project: String,
        /// hh-rlhf, trl (standard or conversational) or ultrafeedback (binarized).
        #[arg(long)]
        format: pairwise_core::PairFormat,
        /// Source recorded on every pair (default: the file name).
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Freeze the pairs a recipe selects (default: all) as an immutable version.
    Freeze {
        #[arg(long)]
        project: String,
        #[arg(long)]
        tag: String,
        /// JSON recipe: {"sources": [...], "strategies": [...], "min_margin": x, "max_margin": y}.
        #[arg(long, conflicts_with = "from")]
        recipe: Option<PathBuf>,
        /// Roll back: the new version has exactly the pairs of this version.
        #[arg(long)]
        from: Option<String>,
    },
    /// List a project's versions.
    List {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: bool,
    },
    /// Pairs added and removed from version A to version B.
    Diff {
        #[arg(long)]
        project: String,
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub project: String,
    /// The version tag.
    #[arg(long)]
    pub version: String,
    /// trl, trl-conversational, trl-implicit, hh-rlhf or kto.
    #[arg(long)]
    pub format: pairwise_core::ExportFormat,
    /// Output file (.jsonl or .parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// Only this split (train or eval) under the version's split rule; default every pair.
    #[arg(long)]
    pub split: Option<String>,
}

#[derive(Debug, Args)]
pub struct AgreementArgs {
    /// JSONL (one rating per line) or CSV (by its extension).
    #[arg(long)]
    pub input: PathBuf,
    /// CSV, one rating per row: the item column …
    #[arg(long)]
    pub item_col: Option<String>,
    /// … the annotator column …
    #[arg(long)]
    pub annotator_col: Option<String>,
    /// … and the label column.
    #[arg(long)]
    pub label_col: Option<String>,
    /// CSV, one item per row: these columns are annotators (e.g. annotation_1,annotation_2);
    /// --item-col names the item column (default: the row number).
    #[arg(long, value_delimiter = ',')]
    pub wide: Vec<String>,
    #[arg(long)]
    pub json: bool,
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
        Command::Generate(args) => {
            return blocking(move || crate::inference_cli::generate(args)).await
        }
        Command::Score(args) => return blocking(move || crate::inference_cli::score(args)).await,
        Command::Bench(args) => return blocking(move || crate::bench::run(args)).await,
        Command::Agreement(args) => return agreement(args),
        other => other,
    };
    let db = pairwise_store::connect(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    pairwise_store::migrate(&db)
        .await
        .context("migrating the database")?;
    match command {
        Command::Serve(_)
        | Command::Generate(_)
        | Command::Score(_)
        | Command::Bench(_)
        | Command::Agreement(_) => {
            unreachable!("handled above")
        }
        Command::Migrate => {
            let (last, _) = pairwise_store::migration_status(&db).await?;
            println!(
                "database is at migration {}",
                last.unwrap_or_else(|| "none".into())
            );
        }
        Command::User(command) => user(&db, command).await?,
        Command::Project(command) => project(&db, command).await?,
        Command::Import(ImportCommand::Prompts {
            file,
            project,
            split,
            domain,
            format,
        }) => {
            let format = match format.or_else(|| ImportFormat::from_path(&file)) {
                Some(f) => f,
                None => bail!(
                    "cannot tell the format of {} from its name: pass --format jsonl|csv",
                    file.display()
                ),
            };
            let handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let bar = file_progress(&handle, "importing");
            let source = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let options = ImportOptions {
                format,
                defaults: InsertDefaults {
                    split,
                    domain,
                    source,
                },
                actor: None,
            };
            let reader = BufReader::new(bar.wrap_read(handle));
            let result = import_prompts(&db, &project, reader, &options, |r| {
                bar.set_message(format!("{} records", r.records))
            })
            .await;
            bar.finish_and_clear();
            let report =
                result.with_context(|| format!("{}: nothing was imported", file.display()))?;
            println!(
                "imported {} new prompts into {project} ({} records, {} duplicates skipped)",
                report.inserted, report.records, report.duplicates
            );
        }
        Command::Import(ImportCommand::Pairs {
            file,
            project,
            format,
            source,
        }) => {
            let handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let bar = file_progress(&handle, "importing pairs");
            let source = source.unwrap_or_else(|| {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let is_parquet = file
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
            let reader: Box<dyn std::io::BufRead + Send> = if is_parquet {
                let lines = pairwise_pipeline::parquet_io::ParquetLines::open(handle)
                    .with_context(|| format!("{}: nothing was imported", file.display()))?;
                Box::new(BufReader::new(lines))
            } else {
                Box::new(
                    pairwise_pipeline::maybe_gunzip(bar.wrap_read(handle))
                        .context("reading the file")?,
                )
            };
            let result = pairwise_pipeline::import_pairs(
                &db,
                &project,
                reader,
                format,
                &source,
                None,
                |r| bar.set_message(format!("{} rows", r.rows)),
            )
            .await;
            bar.finish_and_clear();
            let report =
                result.with_context(|| format!("{}: nothing was imported", file.display()))?;
            println!(
                "imported {} new pairs into {project} ({} rows, {} duplicates skipped)",
                report.inserted, report.rows, report.duplicates
            );
        }
        Command::Dataset(command) => dataset(&db, command).await?,
        Command::Model(command) => crate::pipeline_cli::model(&db, command).await?,
        Command::Rubric(command) => crate::pipeline_cli::rubric(&db, command).await?,
        Command::Run(command) => crate::pipeline_cli::run(&db, command, None).await?,
        Command::Worker(args) => crate::pipeline_cli::worker(&db, args).await?,
        Command::Pairs(command) => crate::pipeline_cli::pairs(&db, command).await?,
        Command::Annotate(command) => crate::annotate_cli::annotate(&db, command).await?,
        Command::Calibration { project, json } => {
            crate::annotate_cli::report(&db, &project, json).await?
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
                crate::pipeline_cli::print_report(&report);
            }
        }
        Command::Export(args) => {
            let extension = args
                .out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !matches!(extension.as_str(), "jsonl" | "parquet") {
                bail!("--out must end in .jsonl or .parquet");
            }
            let tmp = args.out.with_extension(format!("{extension}.partial"));
            let file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let mut writer = std::io::BufWriter::new(file);
            let target = pairwise_pipeline::export_target(&db, &args.project, &args.version)
                .await?
                .with_split(args.split.as_deref())?;
            let bar = ProgressBar::new(target.pair_count);
            bar.set_style(
                ProgressStyle::with_template("exporting {wide_bar} {pos}/{len} pairs ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let progress = |done: u64| bar.set_position(done);
            let rows = if extension == "parquet" {
                pairwise_pipeline::parquet_io::write_parquet_with_progress(
                    &db,
                    &target,
                    args.format,
                    &mut writer,
                    progress,
                )
                .await
            } else {
                pairwise_pipeline::datasets::export_to_with_progress(
                    &db,
                    &target,
                    args.format,
                    &mut writer,
                    progress,
                )
                .await
            };
            bar.finish_and_clear();
            let flushed = std::io::Write::flush(&mut writer);
            drop(writer);
            match rows.map_err(anyhow::Error::from).and_then(|rows| {
                flushed.context("writing the export")?;
                Ok(rows)
            }) {
                Ok(rows) => {
                    std::fs::rename(&tmp, &args.out)
                        .with_context(|| format!("cannot write {}", args.out.display()))?;
                    println!(
                        "exported {rows} rows of {} {} as {} to {}",
                        args.project,
                        args.version,
                        args.format,
                        args.out.display()
                    );
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
        }
        Command::Demo(args) => demo::run(&db, &args.data).await?,
    }
    Ok(())
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

async fn user(db: &pairwise_store::DatabaseConnection, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let user = users::create(db, &name, role, password).await?;
            println!("added {} ({})", user.username, user.role);
        }
        UserCommand::List { json } => {
            let list = users::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for u in list {
                    println!(
                        "{:<24} {:<10} {}",
                        u.username,
                        u.role,
                        if u.active { "active" } else { "deactivated" }
                    );
                }
            }
        }
        UserCommand::Token { name, label } => {
            let user = users::find_by_username(db, &name)
                .await?
                .with_context(|| format!("user `{name}` not found"))?;
            if !user.active {
                bail!("user `{name}` is deactivated");
            }
            let (_, secret) = tokens::issue(db, user.id, &label).await?;
            eprintln!("token for {name} (shown once; store it safely):");
            println!("{secret}");
        }
        UserCommand::SetRole { name, role } => {
            users::set_role(db, &name, role).await?;
            println!("{name} is now {role}");
        }
        UserCommand::Deactivate { name } => {
            users::set_active(db, &name, false).await?;
            println!("{name} is deactivated; their sessions ended and tokens were revoked");
        }
    }
    Ok(())
}

async fn dataset(
    db: &pairwise_store::DatabaseConnection,
    command: DatasetCommand,
) -> anyhow::Result<()> {
    use pairwise_store::datasets;
    match command {
        DatasetCommand::Freeze {
            project,
            tag,
            recipe,
            from,
        } => {
            let p = projects::require(db, &project).await?;
            let version = match from {
                Some(from) => datasets::rollback(db, p.id, &from, &tag, None).await?,
                None => {
                    let recipe: pairwise_core::Recipe = match recipe {
                        Some(path) => {
                            let text = std::fs::read_to_string(&path)
                                .with_context(|| format!("cannot read {}", path.display()))?;
                            serde_json::from_str(&text)
                                .with_context(|| format!("{}: invalid recipe", path.display()))?
                        }
                        None => pairwise_core::Recipe::default(),
                    };
                    datasets::freeze(db, p.id, &tag, &recipe, None).await?
                }
            };
            println!(
                "froze {project} {} with {} pairs (content {})",
                version.tag, version.pair_count, version.content_hash
            );
        }
        DatasetCommand::List { project, json } => {
            let p = projects::require(db, &project).await?;
            let list = datasets::list(db, p.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for v in list {
                    println!(
                        "{:<16} {:>8} pairs  parent {:<12} {}  {}",
                        v.tag,
                        v.pair_count,
                        v.parent.unwrap_or_default(),
                        &v.content_hash[..12],
                        v.created_at
                    );
                }
            }
        }
        DatasetCommand::Diff {
            project,
            a,
            b,
            json,
        } => {
            let p = projects::require(db, &project).await?;
            let diff = datasets::diff(db, p.id, &a, &b).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                println!(
                    "{a} → {b}: +{} −{} ={} ({} → {} pairs)",
                    diff.added,
                    diff.removed,
                    diff.unchanged,
                    diff.from_pair_count,
                    diff.to_pair_count
                );
                let show = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or("—".into());
                for s in &diff.stats {
                    println!("  {:<40} {:>12} {:>12}", s.name, show(s.from), show(s.to));
                }
            }
        }
    }
    Ok(())
}

async fn project(
    db: &pairwise_store::DatabaseConnection,
    command: ProjectCommand,
) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Create { name, description } => {
            let p = projects::create(db, &name, &description, None).await?;
            println!("created project {}", p.name);
        }
        ProjectCommand::List { json } => {
            let list = projects::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for p in list {
                    println!(
                        "{:<32} {:>8} prompts  {}",
                        p.name, p.prompt_count, p.description
                    );
                }
            }
        }
    }
    Ok(())
}

/// `pairwise agreement`: reads ratings and prints the statistics.
fn agreement(args: AgreementArgs) -> anyhow::Result<()> {
    use pairwise_core::agreement::{self, CsvLayout};
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("cannot open {}", args.input.display()))?;
    let is_csv = args
        .input
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let ratings = if is_csv {
        let layout = if !args.wide.is_empty() {
            CsvLayout::Wide {
                columns: args.wide.clone(),
                item: args.item_col.clone(),
            }
        } else {
            match (&args.item_col, &args.annotator_col, &args.label_col) {
                (Some(item), Some(annotator), Some(label)) => CsvLayout::Long {
                    item: item.clone(),
                    annotator: annotator.clone(),
                    label: label.clone(),
                },
                _ => bail!(
                    "a CSV needs --wide COL1,COL2 or all of --item-col, --annotator-col, --label-col"
                ),
            }
        };
        agreement::read_csv(file, &layout)
    } else {
        agreement::read_jsonl(BufReader::new(file))
    }
    .with_context(|| args.input.display().to_string())?;
    if ratings.is_empty() {
        bail!("{}: no ratings", args.input.display());
    }
    let stats = agreement::agreement(&ratings);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        let f = |x: Option<f64>| x.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"));
        println!(
            "{} ratings of {} items by {} annotators ({} labels)",
            stats.ratings,
            stats.items,
            stats.annotators.len(),
            stats.labels.len()
        );
        println!("percent agreement   {}", f(stats.percent_agreement));
        println!(
            "Fleiss' kappa       {} ({} items)",
            f(stats.fleiss_kappa),
            stats.fleiss_items
        );
        println!("Krippendorff alpha  {}", f(stats.krippendorff_alpha));
        for c in &stats.cohen {
            println!(
                "Cohen's kappa {} / {}: {} on {} shared items",
                c.a,
                c.b,
                f(c.kappa),
                c.n
            );
        }
    }
    Ok(())
}
