//! `pairwise build math|code|agent|guards --input FILE [--project P] [--out PAIRS.jsonl] [--json]`:
//! the domain builders. Without `--project` nothing is stored (the pairs go to `--out`); with
//! it, the pairs are stored atomically with the builder as their strategy and provenance.

use super::bar;
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use pairwise_core::{
    builders::code::{read_tasks, CodeTask},
    write_rows, Actor, ExportFormat, ExportPair, PairRecord,
};
use pairwise_pipeline::builders::{
    self,
    code::{self, CodeOptions, CodeRunner},
    math, Built,
};
use pairwise_store::DatabaseConnection;
use serde::Serialize;
use std::{
    collections::HashMap,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
};

#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// Math negatives from GSM8K-style JSONL ({"question", "answer"} with `<<a*b=c>>`
    /// annotations and a final `#### answer`): calculation errors (propagated and kept),
    /// condition omission and logical leaps, each with the first wrong step.
    Math {
        #[command(flatten)]
        common: Common,
        /// Also write TRL process-supervision rows {prompt, completions, labels} here.
        #[arg(long)]
        stepwise: Option<PathBuf>,
    },
    /// Code negatives from HumanEval-style JSONL (gzip accepted), graded by running them in
    /// the sandbox against each task's tests.
    Code {
        #[command(flatten)]
        common: Common,
        /// Only run every canonical solution and print {total, passed, failed, verdicts}.
        #[arg(long)]
        check_canonical: bool,
        /// Model candidates: JSONL {"task_id", "completion"} (HumanEval samples).
        #[arg(long)]
        candidates: Option<PathBuf>,
        /// Failing mutants kept per task when candidates give no useful failure.
        #[arg(long, default_value_t = 2)]
        mutants: usize,
        /// Mutants run per task at most.
        #[arg(long, default_value_t = 8)]
        mutant_budget: usize,
        /// Also write the debug trajectories (code → test feedback → fix) here, as
        /// conversations {"messages", "metadata"}.
        #[arg(long)]
        trajectories: Option<PathBuf>,
    },
    /// Agent negatives from tool-call trajectories (JSONL {"tools", "messages",
    /// "correction"?}): unknown tools, argument type mismatches, missing arguments, loops.
    Agent {
        #[command(flatten)]
        common: Common,
        /// A registered remote model that writes corrections for faulty trajectories without
        /// one (asked under the tools' JSON Schema, re-checked before they may be chosen).
        #[arg(long)]
        generator: Option<String>,
    },
    /// Reward-hacking guards from JSONL {"prompt", "chosen", "agreeing"?} (a TRL file works;
    /// `rejected` is ignored): padded, restating, hedging and content-free versions of each good
    /// answer, and answers agreeing with a false premise, rejected against it.
    /// `--input builtin:false-premise` builds from the 20 built-in false-premise probes.
    Guards {
        #[command(flatten)]
        common: Common,
    },
}

/// The `--input` of `build guards` that names the built-in false-premise probes.
pub const BUILTIN_PROBES: &str = "builtin:false-premise";

#[derive(Debug, Args)]
pub struct Common {
    /// The input file.
    #[arg(long)]
    input: PathBuf,
    /// Store the pairs in this project (reviewer role; atomic).
    #[arg(long)]
    project: Option<String>,
    /// Write the pairs as TRL JSONL with a `metadata` object.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

impl BuildCommand {
    /// Whether the command needs the database: pairs go to a project, or a registered
    /// generator is named.
    pub fn needs_database(&self) -> bool {
        match self {
            Self::Math { common, .. } | Self::Guards { common } => common.project.is_some(),
            Self::Agent { common, generator } => common.project.is_some() || generator.is_some(),
            Self::Code {
                common,
                check_canonical,
                ..
            } => common.project.is_some() && !check_canonical,
        }
    }
}

/// The input's bytes, gzip undone.
fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = pairwise_pipeline::import::maybe_gunzip(file)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

fn source_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Writes `rows` to `path` through a temporary file renamed at the end (no half-written file).
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut out = BufWriter::new(tmp);
    write(&mut out)?;
    let tmp = out.into_inner().context("flushing")?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The pairs as TRL JSONL (prompt, chosen, rejected, metadata).
fn write_pairs(path: &Path, pairs: &[PairRecord]) -> anyhow::Result<()> {
    write_atomically(path, |out| {
        for p in pairs {
            let pair = ExportPair {
                prompt: &p.prompt,
                chosen: &p.chosen,
                rejected: &p.rejected,
                metadata: &p.metadata,
                steps: None,
            };
            write_rows(&mut &mut *out, ExportFormat::Trl, &pair)?;
        }
        Ok(())
    })
}

fn write_values(path: &Path, rows: &[serde_json::Value]) -> anyhow::Result<()> {
    write_atomically(path, |out| {
        for row in rows {
            serde_json::to_writer(&mut *out, row)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Stores and writes the pairs, then prints the summary.
async fn finish<S: Serialize>(
    db: Option<(&DatabaseConnection, &Actor)>,
    common: &Common,
    built: Built,
    summary: &S,
    human: String,
) -> anyhow::Result<()> {
    if let Some(out) = &common.out {
        write_pairs(out, &built.pairs)?;
    }
    let stored = match (db, &common.project) {
        (Some((db, actor)), Some(project)) => {
            let report = builders::store_pairs(db, actor, project, built)
                .await
                .with_context(|| format!("{project}: nothing was stored"))?;
            Some(report)
        }
        _ => None,
    };
    if common.json {
        let mut value = serde_json::to_value(summary)?;
        if let (Some(r), Some(map)) = (&stored, value.as_object_mut()) {
            map.insert("stored".into(), serde_json::to_value(r)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{human}");
        if let (Some(r), Some(project)) = (&stored, &common.project) {
            println!(
                "stored {} new pairs in {project} ({} already there)",
                r.inserted, r.duplicates
            );
        }
        if let Some(out) = &common.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

fn counts(map: &std::collections::BTreeMap<String, usize>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_candidates(path: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let text = String::from_utf8(read_input(path)?)
        .with_context(|| format!("{}: not UTF-8", path.display()))?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {}: not JSON", path.display(), i + 1))?;
        let field = |name: &str| {
            row.get(name).and_then(|v| v.as_str()).with_context(|| {
                format!(
                    "{}: line {}: `{name}` must be a string",
                    path.display(),
                    i + 1
                )
            })
        };
        out.entry(field("task_id")?.to_string())
            .or_default()
            .push(field("completion")?.to_string());
    }
    Ok(out)
}

pub async fn run(
    db: Option<(&DatabaseConnection, &Actor)>,
    command: BuildCommand,
) -> anyhow::Result<()> {
    match command {
        BuildCommand::Math { common, stepwise } => {
            let input = read_input(&common.input)?;
            let source = source_of(&common.input);
            let progress = bar(0, "injecting errors");
            let (built, summary) = math::build_math(&input, &source, |done, total| {
                progress.set_length(total as u64);
                progress.set_position(done as u64);
            })
            .with_context(|| format!("{}: nothing was built", common.input.display()))?;
            progress.finish_and_clear();
            if let Some(path) = &stepwise {
                write_atomically(path, |out| {
                    for p in &built.pairs {
                        let pair = ExportPair {
                            prompt: &p.prompt,
                            chosen: &p.chosen,
                            rejected: &p.rejected,
                            metadata: &p.metadata,
                            steps: pairwise_core::export_formats::Steps::from_metadata(&p.metadata),
                        };
                        write_rows(&mut &mut *out, ExportFormat::TrlStepwise, &pair)?;
                    }
                    Ok(())
                })?;
            }
            let human = format!(
                "{} problems → {} pairs ({}); skipped: {}",
                summary.problems,
                summary.pairs,
                counts(&summary.by_error),
                counts(&summary.skipped)
            );
            finish(db, &common, built, &summary, human).await
        }
        BuildCommand::Code {
            common,
            check_canonical,
            candidates,
            mutants,
            mutant_budget,
            trajectories,
        } => {
            let input = read_input(&common.input)?;
            let tasks: Vec<CodeTask> = read_tasks(input.as_slice())
                .collect::<Result<_, _>>()
                .with_context(|| format!("{}: nothing was built", common.input.display()))?;
            let runner = CodeRunner::new().await?;
            let progress = bar(tasks.len() as u64, "running in the sandbox");
            let tick = |done: usize, _| progress.set_position(done as u64);
            if check_canonical {
                let parallel = CodeOptions::default().parallel;
                let check = code::check_canonical(&runner, &tasks, parallel, tick).await?;
                progress.finish_and_clear();
                if common.json {
                    println!("{}", serde_json::to_string_pretty(&check)?);
                } else {
                    println!(
                        "{} canonical solutions: {} pass, {} fail ({})",
                        check.total,
                        check.passed,
                        check.failed,
                        counts(&check.verdicts)
                    );
                }
                if check.failed > 0 {
                    bail!("{} canonical solutions did not pass", check.failed);
                }
                return Ok(());
            }
            let options = CodeOptions {
                mutants_per_task: mutants,
                mutant_budget,
                candidates: match &candidates {
                    Some(path) => read_candidates(path)?,
                    None => HashMap::new(),
                },
                ..CodeOptions::default()
            };
            let source = source_of(&common.input);
            let build = code::build_code(&runner, &tasks, &options, &input, &source, tick).await?;
            progress.finish_and_clear();
            if let Some(path) = &trajectories {
                write_values(path, &build.trajectories)?;
            }
            let s = &build.summary;
            let human = format!(
                "{} tasks ({} canonical pass) → {} pairs; grades: {}; mutants run {}",
                s.tasks,
                s.canonical_passed,
                s.pairs,
                counts(&s.grades),
                s.mutants_run
            );
            let summary = build.summary.clone();
            finish(db, &common, build.built, &summary, human).await
        }
        BuildCommand::Guards { common } => {
            let builtin = common.input.as_os_str() == BUILTIN_PROBES;
            let input = if builtin {
                builders::guards::FALSE_PREMISE_PROBES.as_bytes().to_vec()
            } else {
                read_input(&common.input)?
            };
            let source = if builtin {
                "false_premise_probes.jsonl".to_owned()
            } else {
                source_of(&common.input)
            };
            let progress = bar(0, "making guard negatives");
            let (built, summary) =
                builders::guards::build_guards(&input, &source, |done, total| {
                    progress.set_length(total as u64);
                    progress.set_position(done as u64);
                })
                .with_context(|| format!("{}: nothing was built", common.input.display()))?;
            progress.finish_and_clear();
            let human = format!(
                "{} rows → {} pairs ({})",
                summary.rows,
                summary.pairs,
                counts(&summary.by_guard)
            );
            finish(db, &common, built, &summary, human).await
        }
        BuildCommand::Agent { common, generator } => {
            let input = read_input(&common.input)?;
            let source = source_of(&common.input);
            let model = match (&generator, db) {
                (Some(name), Some((db, _))) => {
                    Some(pairwise_pipeline::builders::jobs::generator(db, name).await?)
                }
                _ => None,
            };
            let progress = bar(0, "checking trajectories");
            let (built, summary) = builders::build_agent(&input, &source, model.as_ref(), |done| {
                progress.set_position(done as u64)
            })
            .await
            .with_context(|| format!("{}: nothing was built", common.input.display()))?;
            progress.finish_and_clear();
            let human = format!(
                "{} trajectories → {} pairs; verdicts: {}; {} faulty without a correction",
                summary.trajectories,
                summary.pairs,
                counts(&summary.by_verdict),
                summary.uncorrected
            );
            finish(db, &common, built, &summary, human).await
        }
    }
}
