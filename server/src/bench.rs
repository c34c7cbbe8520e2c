//! `pairwise bench generate`: tokens per second for (a) one sequence, (b) N sequential
//! generations, (c) N rows with one shared prefill and batched decoding, the memory-bandwidth
//! ceiling of one sequence, the same workload in Python onnxruntime and in onnxruntime-genai (the
//! ONNX Runtime team's generation loop; `over_onnxruntime_genai` = our batched tokens/s ÷ theirs),
//! all in one run so the ratios compare like with like on a noisy machine; and continuous
//! batching across prompts against one batch per prompt on the same seeds
//! (`continuous_over_per_prompt`). Writes JSON under `bench/results/`.

use crate::{bench_workers::Scratch, cli::ModelArgs};
use anyhow::Context;
use clap::{Args, Subcommand};
use pairwise_inference::{
    chat_template::Message, BatchRequest, DecodingParams, Engine, PromptInput,
};
use serde_json::{json, Value};
use std::{path::PathBuf, process::Command, time::Instant};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Multi-candidate generation throughput.
    Generate(BenchGenerateArgs),
    /// Import, freeze and export of many synthetic pairs, each command run (and measured) alone.
    Datasets(BenchDatasetsArgs),
    /// Concurrent simulated annotators voting over HTTP against `pairwise serve`.
    Annotate(crate::bench_annotate::BenchAnnotateArgs),
    /// One generation run processed by one worker process and by two (scale-out).
    Workers(crate::bench_workers::BenchWorkersArgs),
}

#[derive(Debug, Args)]
pub struct BenchDatasetsArgs {
    /// Synthetic pairs to import, freeze and export.
    #[arg(long, default_value_t = 1_000_000)]
    pub pairs: usize,
    /// Where to write the JSON (default: bench/results/datasets-<pairs>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Peak resident memory of this process (VmHWM), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `pairwise ARGS` as a child with RSS reporting; returns (seconds, peak RSS bytes).
fn timed_child(args: &[&str]) -> anyhow::Result<(f64, Option<u64>)> {
    let exe = std::env::current_exe().context("locating the pairwise binary")?;
    let t = Instant::now();
    let output = Command::new(exe)
        .args(args)
        .env("PAIRWISE_REPORT_RSS", "1")
        .env("PAIRWISE_LOG", "warn")
        .output()?;
    let seconds = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        anyhow::bail!("pairwise {} failed: {stderr}", args.join(" "));
    }
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes="))
        .and_then(|v| v.trim().parse().ok());
    Ok((seconds, rss))
}

fn datasets(args: BenchDatasetsArgs, db: &str, backend: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("pairs.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input)?);
        for i in 0..args.pairs {
            let row = json!({
                "prompt": format!("Question {i}: how should one answer request number {} politely and correctly?", i * 7919 % 100_003),
                "chosen": format!("A careful, complete answer to question {i}, with a reason and a safe alternative where needed."),
                "rejected": format!("A short answer to {i}."),
                "source": "synthetic",
            });
            serde_json::to_writer(&mut w, &row)?;
            w.write_all(b"\n")?;
        }
    }
    let input_bytes = std::fs::metadata(&input)?.len();
    let out = dir.path().join("export.jsonl");
    let (input_s, out_s) = (input.display().to_string(), out.display().to_string());
    timed_child(&["--database-url", db, "project", "create", "--name", "bench"])?;
    let (import_s, import_rss) = timed_child(&[
        "--database-url",
        db,
        "import",
        "pairs",
        &input_s,
        "--project",
        "bench",
        "--format",
        "trl",
    ])?;
    let (freeze_s, freeze_rss) = timed_child(&[
        "--database-url",
        db,
        "dataset",
        "freeze",
        "--project",
        "bench",
        "--tag",
        "v1",
    ])?;
    let (export_s, export_rss) = timed_child(&[
        "--database-url",
        db,
        "export",
        "--project",
        "bench",
        "--version",
        "v1",
        "--format",
        "trl",
        "--out",
        &out_s,
    ])?;
    // The same version as Parquet, and that file imported into a second project.
    let parquet = dir.path().join("export.parquet");
    let parquet_s = parquet.display().to_string();
    let (parquet_export_s, parquet_export_rss) = timed_child(&[
        "--database-url",
        db,
        "export",
        "--project",
        "bench",
        "--version",
        "v1",
        "--format",
        "trl",
        "--out",
        &parquet_s,
    ])?;
    timed_child(&["--database-url", db, "project", "create", "--name", "back"])?;
    let (parquet_import_s, parquet_import_rss) = timed_child(&[
        "--database-url",
        db,
        "import",
        "pairs",
        &parquet_s,
        "--project",
        "back",
        "--format",
        "trl",
    ])?;
    // The floors, in this process on the same database: a bare scan of the version writing the
    // export's bytes, and a bare bulk insert of the same input rows.
    let export_bytes = std::fs::metadata(&out)?.len();
    let floor_out = dir.path().join("floor.jsonl");
    let runtime = tokio::runtime::Handle::current();
    let scan_s = runtime.block_on(crate::bench_floor::scan_floor(
        db,
        "bench",
        "v1",
        &floor_out,
        export_bytes,
    ))?;
    anyhow::ensure!(
        std::fs::metadata(&floor_out)?.len() >= export_bytes,
        "the scan floor wrote fewer bytes than the export"
    );
    let insert_s = runtime.block_on(crate::bench_floor::insert_floor(db, &input))?;
    let exported_rows =
        std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&out)?)).count();
    anyhow::ensure!(
        exported_rows == args.pairs,
        "exported {exported_rows} rows of {} pairs",
        args.pairs
    );
    let result = json!({
        "benchmark": "datasets",
        "pairs": args.pairs,
        "input_bytes": input_bytes,
        "backend": backend,
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        "import": { "seconds": import_s, "rows_per_s": args.pairs as f64 / import_s, "peak_rss_bytes": import_rss },
        "freeze": { "seconds": freeze_s, "peak_rss_bytes": freeze_rss },
        "export": { "seconds": export_s, "rows_per_s": args.pairs as f64 / export_s, "peak_rss_bytes": export_rss, "bytes": std::fs::metadata(&out)?.len() },
        "parquet_export": { "seconds": parquet_export_s, "rows_per_s": args.pairs as f64 / parquet_export_s, "peak_rss_bytes": parquet_export_rss, "bytes": std::fs::metadata(&parquet)?.len() },
        "parquet_import": { "seconds": parquet_import_s, "rows_per_s": args.pairs as f64 / parquet_import_s, "peak_rss_bytes": parquet_import_rss },
        "floors": {
            "scan_write": { "seconds": scan_s, "rows_per_s": args.pairs as f64 / scan_s, "bytes": std::fs::metadata(&floor_out)?.len() },
            "bulk_insert": { "seconds": insert_s, "rows_per_s": args.pairs as f64 / insert_s, "batch_rows": 1000 },
        },
        "export_over_floor": export_s / scan_s,
        "import_over_floor": import_s / insert_s,
        "note": "each step is a separate `pairwise` process, timed end to end (start-up included); the floors run in the bench process on the same database: a bare scan of the version's rows in position order writing as many bytes as the JSONL export, and a bare bulk insert (1,000 rows per INSERT, one transaction) of the same input rows, parsed from the same file, into a table with only a key. Goal: both ratios at most 2",
    });
    let path = args.out.clone().unwrap_or_else(|| {
        let suffix = if backend == "sqlite" {
            String::new()
        } else {
            format!("-{backend}")
        };
        PathBuf::from(format!(
            "bench/results/datasets-{}{suffix}.json",
            args.pairs
        ))
    });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        let mb = |v: Option<u64>| v.map_or("?".to_owned(), |b| format!("{:.0} MB", b as f64 / 1e6));
        println!(
            "import {:.1}s ({:.0} rows/s, peak {})",
            import_s,
            args.pairs as f64 / import_s,
            mb(import_rss)
        );
        println!("freeze {:.1}s (peak {})", freeze_s, mb(freeze_rss));
        println!(
            "floors: scan+write {:.1}s (export {:.2}× its floor), bulk insert {:.1}s (import {:.2}× its floor)",
            scan_s,
            export_s / scan_s,
            insert_s,
            import_s / insert_s
        );
        println!(
            "export {:.1}s ({:.0} rows/s, peak {})",
            export_s,
            args.pairs as f64 / export_s,
            mb(export_rss)
        );
        println!(
            "parquet export {:.1}s ({:.0} rows/s, peak {}), import {:.1}s (peak {})",
            parquet_export_s,
            args.pairs as f64 / parquet_export_s,
            mb(parquet_export_rss),
            parquet_import_s,
            mb(parquet_import_rss)
        );
        println!("written to {}", path.display());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct BenchGenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value_t = 8)]
    pub n: usize,
    #[arg(long, default_value_t = 48)]
    pub max_new_tokens: u32,
    /// Prompts of the continuous-batching comparison (each with `n` candidates, stopping at
    /// end-of-sequence): continuous batching across prompts against one batch per prompt.
    #[arg(long, default_value_t = 16)]
    pub prompts: usize,
    /// Rows in flight of the continuous batch.
    #[arg(long, default_value_t = 32)]
    pub max_rows: usize,
    /// Python with numpy and onnxruntime for the reference loop (default: .tools/venv/bin/python
    /// when present; `none` skips it).
    #[arg(long)]
    pub python: Option<String>,
    /// Python with onnxruntime-genai for the anchor run (default: .tools/genai-venv/bin/python
    /// when present, made by `make setup-genai`; `none` skips it).
    #[arg(long)]
    pub genai_python: Option<String>,
    /// Where to write the JSON (default: bench/results/generate-<model dir name>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

const PROMPT: &str = "Write a short story about a robot who learns to paint.";
/// The workload samples like the diverse path would (both the Rust run and the Python loop).
const TEMPERATURE: f32 = 0.8;
const TOP_P: f32 = 0.95;

/// The Python to run a reference loop with: the one given (`none`: skip), else `default` when it
/// exists.
fn interpreter(given: Option<&str>, default: &str) -> Option<String> {
    match given {
        Some("none") => None,
        Some(p) => Some(p.to_owned()),
        None => std::path::Path::new(default)
            .is_file()
            .then(|| default.to_owned()),
    }
}

/// Instructions of the continuous-batching workload: different lengths, like a real prompt set.
const PROMPTS: [&str; 16] = [
    "Write a short story about a robot who learns to paint.",
    "What is the capital of Australia?",
    "Explain photosynthesis to a ten-year-old.",
    "Give me three tips for a job interview.",
    "How do I kill a Python process that hangs?",
    "Summarize the plot of Romeo and Juliet in two sentences.",
    "Why is the sky blue?",
    "Write a haiku about autumn rain.",
    "What are the health benefits of drinking water?",
    "Translate 'good morning' into French and Spanish.",
    "Describe how a bicycle works.",
    "List five animals that live in the ocean.",
    "How can I improve my sleep?",
    "What does a compiler do?",
    "Suggest a name for a bakery.",
    "Explain what a prime number is, with examples.",
];

/// `prompts` prompts × `n` candidates each (stopping at end-of-sequence, as a run does): one
/// batch per prompt (what runs did before) against continuous batching across prompts, in one
/// run on the same seeds; the candidates must come out the same.
fn continuous_vs_per_prompt(
    engine: &mut Engine,
    args: &BenchGenerateArgs,
    params: impl Fn(u64) -> DecodingParams,
) -> anyhow::Result<Value> {
    let requests = (0..args.prompts)
        .map(|p| {
            let text = PROMPTS[p % PROMPTS.len()];
            let ids = engine.encode_prompt(&PromptInput::Chat(vec![Message::new("user", text)]))?;
            let seeds = (0..args.n as u64)
                .map(|i| params(p as u64 * 1000 + i))
                .collect();
            Ok(BatchRequest {
                prompt_ids: ids,
                params: seeds,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t = Instant::now();
    let mut per_prompt = Vec::new();
    for r in &requests {
        per_prompt.push(engine.generate(&r.prompt_ids, &r.params, |_| ())?);
    }
    let per_prompt_s = t.elapsed().as_secs_f64();
    let mut continuous = vec![None; requests.len()];
    let t = Instant::now();
    engine.generate_continuous(&requests, args.max_rows, false, |i, g| {
        continuous[i] = Some(g);
        Ok(())
    })?;
    let continuous_s = t.elapsed().as_secs_f64();
    let continuous: Vec<_> = continuous.into_iter().flatten().collect();
    let tokens = |gs: &[pairwise_inference::Generation]| {
        gs.iter().map(|g| g.generated_tokens).sum::<usize>() as f64
    };
    let identical = per_prompt.len() == continuous.len()
        && per_prompt.iter().zip(&continuous).all(|(a, b)| {
            a.candidates
                .iter()
                .zip(&b.candidates)
                .all(|(x, y)| x.token_ids == y.token_ids)
        });
    let (per_rate, cont_rate) = (
        tokens(&per_prompt) / per_prompt_s,
        tokens(&continuous) / continuous_s,
    );
    Ok(json!({
        "prompts": args.prompts,
        "n": args.n,
        "max_rows": args.max_rows,
        "eos": "stops",
        "per_prompt_tokens": tokens(&per_prompt),
        "continuous_tokens": tokens(&continuous),
        "per_prompt_tokens_per_s": per_rate,
        "continuous_tokens_per_s": cont_rate,
        "continuous_over_per_prompt": cont_rate / per_rate,
        "identical_candidates": identical,
    }))
}

/// Memory copy bandwidth in bytes per second (read + write traffic), best of five 256 MiB copies.
fn copy_bandwidth() -> f64 {
    let n = 256 << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * n as f64 / best
}

/// Bytes of the graph and its external weights.
fn weight_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.ends_with(".onnx") || name.ends_with(".onnx_data") || name.ends_with(".onnx.data")
        })
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum()
}

/// Runs a benchmark. Those that need a database (datasets, annotate, workers) make a fresh one:
/// a new database on the PostgreSQL server when `database_url` is `postgres://…`, else a
/// temporary SQLite file.
pub fn run(command: BenchCommand, database_url: &str) -> anyhow::Result<()> {
    let handle = tokio::runtime::Handle::current();
    let args = match command {
        BenchCommand::Generate(args) => args,
        BenchCommand::Datasets(args) => {
            let scratch = handle.block_on(Scratch::new(database_url))?;
            let result = datasets(args, &scratch.url, scratch.backend);
            handle.block_on(scratch.finish())?;
            return result;
        }
        BenchCommand::Annotate(args) => {
            return handle.block_on(crate::bench_annotate::run(args, database_url))
        }
        BenchCommand::Workers(args) => {
            return handle.block_on(crate::bench_workers::run(args, database_url))
        }
    };
    let mut engine = Engine::load(&args.model.model, args.model.device, args.model.threads)
        .with_context(|| format!("loading {}", args.model.model.display()))?;
    let prompt_ids =
        engine.encode_prompt(&PromptInput::Chat(vec![Message::new("user", PROMPT)]))?;
    let params = |seed: u64| DecodingParams {
        sampling: pairwise_inference::Sampling {
            temperature: 0.8,
            top_p: 0.95,
            ..Default::default()
        },
        max_new_tokens: args.max_new_tokens,
        seed,
        ..DecodingParams::default()
    };
    let tokens = f64::from(args.max_new_tokens);
    engine.generate_ignoring_eos(
        &prompt_ids,
        &[DecodingParams {
            max_new_tokens: 4,
            ..params(0)
        }],
    )?; // warm-up

    let t = Instant::now();
    engine.generate_ignoring_eos(&prompt_ids, &[params(0)])?;
    let single = tokens / t.elapsed().as_secs_f64();

    let t = Instant::now();
    for i in 0..args.n as u64 {
        engine.generate_ignoring_eos(&prompt_ids, &[params(i)])?;
    }
    let sequential = tokens * args.n as f64 / t.elapsed().as_secs_f64();

    let all: Vec<DecodingParams> = (0..args.n as u64).map(params).collect();
    let t = Instant::now();
    let batched_run = engine.generate_ignoring_eos(&prompt_ids, &all)?;
    let batched = tokens * args.n as f64 / t.elapsed().as_secs_f64();
    assert_eq!(
        batched_run.generated_tokens,
        args.n * args.max_new_tokens as usize
    );

    let continuous = continuous_vs_per_prompt(&mut engine, &args, params)?;

    let bandwidth = copy_bandwidth();
    let weights = weight_bytes(&engine.dir.path);
    let ceiling = bandwidth / weights.max(1) as f64;

    let run = |script: &str, python: Option<String>| -> anyhow::Result<Value> {
        let Some(python) = python else {
            return Ok(Value::Null);
        };
        let output = Command::new(&python)
            .arg(script)
            .arg("--model")
            .arg(&engine.dir.path)
            .arg("--prompt-ids")
            .arg(serde_json::to_string(&prompt_ids)?)
            .arg("--n")
            .arg(args.n.to_string())
            .arg("--max-new-tokens")
            .arg(args.max_new_tokens.to_string())
            .arg("--threads")
            .arg(args.model.threads.to_string())
            .arg("--temperature")
            .arg(TEMPERATURE.to_string())
            .arg("--top-p")
            .arg(TOP_P.to_string())
            .output()
            .with_context(|| format!("running {python} {script}"))?;
        if !output.status.success() {
            anyhow::bail!(
                "{script} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        serde_json::from_slice(&output.stdout).with_context(|| format!("{script} output"))
    };
    // The Python onnxruntime loop, and the anchor: onnxruntime-genai's own loop on the same
    // files and the same batched workload.
    let reference = run(
        "bench/python_ort_loop.py",
        interpreter(args.python.as_deref(), ".tools/venv/bin/python"),
    )?;
    let genai = run(
        "bench/genai_loop.py",
        interpreter(args.genai_python.as_deref(), ".tools/genai-venv/bin/python"),
    )?;
    let over_genai = genai
        .get("batched_tokens_per_s")
        .and_then(Value::as_f64)
        .map(|g| batched / g);
    let ratio = |key: &str, ours: f64| {
        reference
            .get(key)
            .and_then(Value::as_f64)
            .map(|py| ours / py)
    };
    let result = json!({
        "benchmark": "generate",
        "model": engine.dir.path.display().to_string(),
        "model_version": engine.version(),
        "provider": engine.provider().as_str(),
        "n": args.n,
        "decoding": { "temperature": TEMPERATURE, "top_p": TOP_P, "eos": "ignored" },
        "max_new_tokens": args.max_new_tokens,
        "prompt_tokens": prompt_ids.len(),
        "machine": { "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) },
        "tokens_per_s": { "single": single, "sequential": sequential, "batched": batched },
        "batched_over_sequential": batched / sequential,
        "bandwidth": { "copy_bytes_per_s": bandwidth, "weight_bytes": weights, "single_ceiling_tokens_per_s": ceiling, "single_share_of_ceiling": single / ceiling },
        "python_onnxruntime": reference,
        "onnxruntime_genai": genai,
        "over_onnxruntime_genai": over_genai,
        "rust_over_python": { "single": ratio("single_tokens_per_s", single), "batched": ratio("batched_tokens_per_s", batched) },
        "continuous_over_per_prompt": continuous["continuous_over_per_prompt"],
        "continuous": continuous,
    });
    let out = args.out.clone().unwrap_or_else(|| {
        let name = engine
            .dir
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        PathBuf::from(format!("bench/results/generate-{name}.json"))
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).ok();
    }
    std::fs::write(&out, serde_json::to_string_pretty(&result)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!("tokens/s  single {single:.1}  sequential×{n} {sequential:.1}  batched×{n} {batched:.1}  (batched/sequential {:.2}×)", batched / sequential, n = args.n);
        println!(
            "one-sequence ceiling {ceiling:.1} tokens/s ({:.2} GB/s copy, {:.0} MB weights)",
            bandwidth / 1e9,
            weights as f64 / 1e6
        );
        if let (Some(s), Some(b)) = (
            ratio("single_tokens_per_s", single),
            ratio("batched_tokens_per_s", batched),
        ) {
            println!("Rust / Python onnxruntime: single {s:.2}×, batched {b:.2}×");
        }
        println!(
            "{} prompts × {}: continuous batching ({} rows) {:.1} tokens/s, one batch per prompt {:.1} ({:.2}×), identical candidates: {}",
            args.prompts,
            args.n,
            args.max_rows,
            continuous["continuous_tokens_per_s"].as_f64().unwrap_or(0.0),
            continuous["per_prompt_tokens_per_s"].as_f64().unwrap_or(0.0),
            continuous["continuous_over_per_prompt"].as_f64().unwrap_or(0.0),
            continuous["identical_candidates"]
        );
        if let Some(g) = over_genai {
            println!("Pairwise / onnxruntime-genai (batched×{}): {g:.2}×", args.n);
        }
        println!("written to {}", out.display());
    }
    Ok(())
}
