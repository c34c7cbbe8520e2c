//! The code builder: HumanEval-style tasks run in the sandbox against their own tests. The
//! canonical solution must pass (it becomes the chosen answer); model candidates, when given,
//! are run and graded; when they give no useful failure (none that fails tests), mutants of the
//! canonical solution are run until enough of them fail, and the failing ones are the
//! negatives, most valuable grade first. The chosen answer is a passing model candidate where
//! there is one (on-policy), else the canonical solution. Every negative also makes a debug
//! trajectory: the task, the failing code, the test feedback, the fix.

use super::{
    sandbox::{Sandbox, SandboxError},
    user_prompt, Built,
};
use futures_util::{stream, StreamExt};
use pairwise_core::{
    builders::code::{mutants, CodeTask, Mutant, Mutation, Outcome, Verdict},
    stable_hash, PairRecord,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Bumped when the same input would build different pairs.
pub const BUILDER_VERSION: u32 = 1;

const DRIVER: &str = include_str!("code_driver.py");

/// Runs programs against a task's tests.
#[derive(Debug, Clone)]
pub struct CodeRunner {
    sandbox: Sandbox,
}

impl CodeRunner {
    pub async fn new() -> Result<Self, SandboxError> {
        Ok(Self {
            sandbox: Sandbox::detect().await?,
        })
    }

    pub fn with_sandbox(sandbox: Sandbox) -> Self {
        Self { sandbox }
    }

    /// Runs `program` against `task`'s tests.
    pub async fn run(&self, task: &CodeTask, program: &str) -> Result<Outcome, SandboxError> {
        let marker = format!("@@pairwise-result-{:016x}@@", rand::random::<u64>());
        let files = [
            ("solution.py", program),
            ("tests.py", task.test.as_str()),
            ("driver.py", DRIVER),
        ];
        let run = self
            .sandbox
            .run(&files, &["driver.py", &marker, &task.entry_point])
            .await?;
        let reported = run
            .stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(marker.as_str()))
            .and_then(|json| serde_json::from_str::<Outcome>(json).ok());
        if run.timed_out() {
            return Ok(Outcome {
                verdict: Verdict::Timeout,
                asserts_total: 0,
                asserts_passed: 0,
                failed: Vec::new(),
                error: Some(format!(
                    "TimeoutError: no result within {} s of CPU / {} s of wall time",
                    self.sandbox.limits.cpu_seconds,
                    self.sandbox.limits.wall.as_secs()
                )),
            });
        }
        Ok(reported.unwrap_or_else(|| {
            let last = run
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("the program exited before the tests finished");
            Outcome {
                verdict: Verdict::RuntimeError,
                asserts_total: 0,
                asserts_passed: 0,
                failed: Vec::new(),
                error: Some(format!("{} ({:?})", last.trim(), run.ending)),
            }
        }))
    }
}

/// Options of a code build.
#[derive(Debug, Clone)]
pub struct CodeOptions {
    /// Failing mutants kept per task when candidates give no useful failure.
    pub mutants_per_task: usize,
    /// Mutants run per task at most.
    pub mutant_budget: usize,
    /// Model candidates per task id (completions or whole functions).
    pub candidates: HashMap<String, Vec<String>>,
    /// Tasks run at the same time.
    pub parallel: usize,
}

impl Default for CodeOptions {
    fn default() -> Self {
        Self {
            mutants_per_task: 2,
            mutant_budget: 8,
            candidates: HashMap::new(),
            parallel: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Counts of a code build.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CodeSummary {
    pub tasks: usize,
    pub canonical_passed: usize,
    pub canonical_failed: Vec<String>,
    pub candidates_run: usize,
    pub mutants_run: usize,
    pub pairs: usize,
    /// Negatives per verdict.
    pub verdicts: BTreeMap<String, usize>,
    /// Negatives per grade name (fails_edge_cases, fails_all_tests, timeout, …).
    pub grades: BTreeMap<String, usize>,
    /// Mutant negatives per operator.
    pub mutations: BTreeMap<String, usize>,
    /// Tasks with no failing candidate or mutant.
    pub without_negative: usize,
    /// Tasks whose chosen answer is a passing model candidate rather than the canonical one.
    pub chosen_from_candidates: usize,
}

/// The result of `--check-canonical`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanonicalCheck {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub verdicts: BTreeMap<String, usize>,
    /// Tasks whose canonical solution did not pass, with why.
    pub failures: Vec<Value>,
}

/// Runs every task's canonical solution; `progress` gets (done, total).
pub async fn check_canonical(
    runner: &CodeRunner,
    tasks: &[CodeTask],
    parallel: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<CanonicalCheck, SandboxError> {
    let mut check = CanonicalCheck {
        total: tasks.len(),
        ..CanonicalCheck::default()
    };
    // The futures are made before the stream (a closure in `map` would make the stream's
    // future not `Send` for every lifetime, which a worker's spawned task needs).
    let futures: Vec<_> = tasks
        .iter()
        .map(|t| async move { (t, runner.run(t, &t.canonical_program()).await) })
        .collect();
    let mut runs = stream::iter(futures).buffered(parallel.max(1));
    let mut done = 0;
    while let Some((task, outcome)) = runs.next().await {
        let outcome = outcome?;
        *check
            .verdicts
            .entry(outcome.verdict.as_str().to_string())
            .or_default() += 1;
        if outcome.verdict == Verdict::Passes {
            check.passed += 1;
        } else {
            check.failed += 1;
            check.failures.push(json!({
                "task_id": task.task_id,
                "verdict": outcome.verdict,
                "feedback": outcome.feedback(),
            }));
        }
        done += 1;
        progress(done, tasks.len());
    }
    Ok(check)
}

/// A negative of one task.
struct Negative {
    completion: String,
    outcome: Outcome,
    origin: Value,
}

/// What one task gave.
struct TaskResult {
    canonical: Outcome,
    negatives: Vec<Negative>,
    /// Model candidates that pass: the on-policy chosen answers.
    passing: Vec<String>,
    candidates_run: usize,
    mutants_run: usize,
}

/// Mutants in an order that alternates operators (so a small budget tries several kinds).
fn interleaved(all: Vec<Mutant>) -> Vec<Mutant> {
    let mut by_kind: BTreeMap<Mutation, std::collections::VecDeque<Mutant>> = BTreeMap::new();
    for m in all {
        by_kind.entry(m.mutation).or_default().push_back(m);
    }
    let mut out = Vec::new();
    while by_kind.values().any(|q| !q.is_empty()) {
        for q in by_kind.values_mut() {
            out.extend(q.pop_front());
        }
    }
    out
}

async fn build_task(
    runner: &CodeRunner,
    task: &CodeTask,
    options: &CodeOptions,
) -> Result<TaskResult, SandboxError> {
    let canonical = runner.run(task, &task.canonical_program()).await?;
    let mut result = TaskResult {
        canonical,
        negatives: Vec::new(),
        passing: Vec::new(),
        candidates_run: 0,
        mutants_run: 0,
    };
    if result.canonical.verdict != Verdict::Passes {
        return Ok(result);
    }
    for (i, completion) in options
        .candidates
        .get(&task.task_id)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let outcome = runner.run(task, &task.program(completion)).await?;
        result.candidates_run += 1;
        if outcome.verdict == Verdict::Passes {
            result.passing.push(completion.clone());
        } else {
            result.negatives.push(Negative {
                completion: completion.clone(),
                outcome,
                origin: json!({"origin": "candidate", "candidate": i}),
            });
        }
    }
    let useful = result
        .negatives
        .iter()
        .any(|n| n.outcome.grade() <= Some(2));
    if !useful {
        let mut found = 0;
        for m in interleaved(mutants(&task.canonical_solution))
            .into_iter()
            .take(options.mutant_budget)
        {
            if found == options.mutants_per_task {
                break;
            }
            let outcome = runner.run(task, &task.program(&m.source)).await?;
            result.mutants_run += 1;
            // A mutant that still passes is equivalent under these tests: not a negative.
            if outcome.verdict == Verdict::Passes {
                continue;
            }
            found += 1;
            result.negatives.push(Negative {
                completion: m.source.clone(),
                outcome,
                origin: json!({
                    "origin": "mutant",
                    "mutation": m.mutation,
                    "line": m.line,
                    "from": m.from,
                    "to": m.to,
                }),
            });
        }
    }
    result.negatives.sort_by_key(|n| {
        (
            n.outcome.grade(),
            std::cmp::Reverse(n.outcome.asserts_passed),
        )
    });
    Ok(result)
}

/// Pairs, debug trajectories and counts of a code build.
pub struct CodeBuild {
    pub built: Built,
    /// One conversation per negative: task → failing code → test feedback → fix.
    pub trajectories: Vec<Value>,
    pub summary: CodeSummary,
}

fn task_prompt(task: &CodeTask) -> String {
    format!(
        "Complete the following Python function.\n\n```python\n{}```",
        task.prompt
    )
}

/// Builds pairs from `tasks`; `progress` gets (tasks done, total).
pub async fn build_code(
    runner: &CodeRunner,
    tasks: &[CodeTask],
    options: &CodeOptions,
    input: &[u8],
    source: &str,
    mut progress: impl FnMut(usize, usize),
) -> Result<CodeBuild, SandboxError> {
    let mut summary = CodeSummary {
        tasks: tasks.len(),
        ..CodeSummary::default()
    };
    let mut pairs = Vec::new();
    let mut trajectories = Vec::new();
    let futures: Vec<_> = tasks
        .iter()
        .map(|t| async move { (t, build_task(runner, t, options).await) })
        .collect();
    let mut runs = stream::iter(futures).buffered(options.parallel.max(1));
    let mut done = 0;
    while let Some((task, result)) = runs.next().await {
        let result = result?;
        done += 1;
        progress(done, tasks.len());
        summary.candidates_run += result.candidates_run;
        summary.mutants_run += result.mutants_run;
        if result.canonical.verdict != Verdict::Passes {
            summary.canonical_failed.push(task.task_id.clone());
            continue;
        }
        summary.canonical_passed += 1;
        if result.negatives.is_empty() {
            summary.without_negative += 1;
        }
        let prompt = task_prompt(task);
        // A passing model candidate is the chosen answer (on-policy, like the rejected ones
        // from the same model); else the canonical solution.
        let (chosen, chosen_origin) = match result.passing.first() {
            Some(c) => (task.program(c), "candidate"),
            None => (task.canonical_program(), "canonical"),
        };
        summary.chosen_from_candidates += usize::from(!result.passing.is_empty());
        for n in &result.negatives {
            let o = &n.outcome;
            *summary
                .verdicts
                .entry(o.verdict.as_str().to_string())
                .or_default() += 1;
            *summary
                .grades
                .entry(o.grade_name().to_string())
                .or_default() += 1;
            if let Some(m) = n.origin.get("mutation").and_then(Value::as_str) {
                *summary.mutations.entry(m.to_string()).or_default() += 1;
            }
            let mut metadata = json!({
                "builder": "code",
                "task_id": task.task_id,
                "verdict": o.verdict,
                "grade": o.grade(),
                "grade_name": o.grade_name(),
                "asserts_total": o.asserts_total,
                "asserts_passed": o.asserts_passed,
                "failed_asserts": o.failed,
                "error": o.error,
                "feedback": o.feedback(),
                "chosen_origin": chosen_origin,
            });
            if let (Value::Object(m), Value::Object(origin)) = (&mut metadata, &n.origin) {
                m.extend(origin.clone());
            }
            let Value::Object(metadata) = metadata else {
                continue;
            };
            trajectories.push(json!({
                "messages": [
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": format!("```python\n{}```", task.program(&n.completion))},
                    {"role": "user", "content": format!("Running the tests gave:\n{}\nPlease fix the code.", o.feedback())},
                    {"role": "assistant", "content": format!("```python\n{chosen}```")},
                ],
                "metadata": metadata,
            }));
            pairs.push(PairRecord {
                prompt: user_prompt(&prompt),
                chosen: format!("```python\n{chosen}```"),
                rejected: format!("```python\n{}```", task.program(&n.completion)),
                score_chosen: None,
                score_rejected: None,
                metadata,
            });
        }
    }
    summary.pairs = pairs.len();
    let built = Built {
        builder: "code",
        source: source.to_string(),
        provenance: json!({
            "builder": "code",
            "builder_version": BUILDER_VERSION,
            "input": source,
            "input_sha256": stable_hash(input),
            "mutants_per_task": options.mutants_per_task,
            "mutant_budget": options.mutant_budget,
            "candidates": options.candidates.values().map(Vec::len).sum::<usize>(),
            "limits": {
                "cpu_seconds": runner.sandbox.limits.cpu_seconds,
                "wall_seconds": runner.sandbox.limits.wall.as_secs_f64(),
                "memory_bytes": runner.sandbox.limits.memory_bytes,
                "processes": runner.sandbox.limits.processes,
            },
        }),
        pairs,
    };
    Ok(CodeBuild {
        built,
        trajectories,
        summary,
    })
}
