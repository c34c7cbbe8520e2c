//! Code negatives graded by execution: HumanEval-style tasks (`prompt`, `canonical_solution`,
//! `test`, `entry_point`), verdicts of running code against the task's tests, the grade that
//! orders negatives from most to least useful, and mutants of the canonical solution for when
//! model candidates give no useful failures.
//!
//! Grades, most valuable negative first: code that passes some asserts but fails others (an
//! edge case), code that fails every assert, a timeout, a runtime error, a syntax error.
//! Mutation operators: off-by-one (an integer literal ±1), boundary flip (`<` ↔ `<=`,
//! `>` ↔ `>=`), wrong comparison (`==` ↔ `!=`, `<` ↔ `>`), swapped arithmetic (`+` ↔ `-`) and
//! swapped logic (`and` ↔ `or`); strings and comments are never touched.

use super::{json_lines, InputError};
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// One task of the input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeTask {
    pub task_id: String,
    /// The signature and docstring the answer completes.
    pub prompt: String,
    /// The reference body (appended to `prompt`).
    pub canonical_solution: String,
    /// Python defining `check(candidate)`.
    pub test: String,
    pub entry_point: String,
}

impl CodeTask {
    /// The reference program: prompt and canonical body.
    pub fn canonical_program(&self) -> String {
        self.program(&self.canonical_solution)
    }

    /// A complete program from a completion: a completion that defines the entry point itself
    /// replaces the prompt's stub (the prompt's imports kept), anything else continues it.
    pub fn program(&self, completion: &str) -> String {
        if completion.contains(&format!("def {}(", self.entry_point)) {
            let imports: String = self
                .prompt
                .lines()
                .filter(|l| l.starts_with("import ") || l.starts_with("from "))
                .map(|l| format!("{l}\n"))
                .collect();
            format!("{imports}{completion}")
        } else {
            format!("{}{}", self.prompt, completion)
        }
    }
}

/// Reads HumanEval JSONL; errors name the line and field.
pub fn read_tasks<R: BufRead>(input: R) -> impl Iterator<Item = Result<CodeTask, InputError>> {
    json_lines(input).map(|row| {
        let (line, value) = row?;
        let err = |field: &str, message: &str| InputError {
            line,
            field: field.into(),
            message: message.into(),
        };
        let field = |name: &str| match value.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(err(name, "must be a string")),
            None => Err(err(name, "is missing")),
        };
        let task = CodeTask {
            task_id: field("task_id")?,
            prompt: field("prompt")?,
            canonical_solution: field("canonical_solution")?,
            test: field("test")?,
            entry_point: field("entry_point")?,
        };
        if !task.test.contains("def check(") {
            return Err(err("test", "defines no `check(candidate)`"));
        }
        if task.entry_point.trim().is_empty() {
            return Err(err("entry_point", "is empty"));
        }
        Ok(task)
    })
}

/// What running code against a task's tests gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passes,
    FailsTests,
    Timeout,
    RuntimeError,
    SyntaxError,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Self::Passes,
        Self::FailsTests,
        Self::Timeout,
        Self::RuntimeError,
        Self::SyntaxError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passes => "passes",
            Self::FailsTests => "fails_tests",
            Self::Timeout => "timeout",
            Self::RuntimeError => "runtime_error",
            Self::SyntaxError => "syntax_error",
        }
    }
}

/// A failed test statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAssert {
    pub line: u32,
    pub source: String,
    pub error: String,
}

/// The outcome of one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Test statements holding an assert, and how many of them passed.
    pub asserts_total: u32,
    pub asserts_passed: u32,
    /// The statements that failed (first few), with their error.
    #[serde(default)]
    pub failed: Vec<FailedAssert>,
    /// The error that stopped the program, for runtime and syntax errors and timeouts.
    #[serde(default)]
    pub error: Option<String>,
}

impl Outcome {
    /// Negatives ordered most valuable first (lower is better; passing code has no grade).
    pub fn grade(&self) -> Option<u8> {
        match self.verdict {
            Verdict::Passes => None,
            Verdict::FailsTests if self.asserts_passed > 0 => Some(1),
            Verdict::FailsTests => Some(2),
            Verdict::Timeout => Some(3),
            Verdict::RuntimeError => Some(4),
            Verdict::SyntaxError => Some(5),
        }
    }

    /// The grade's name, as recorded with a pair.
    pub fn grade_name(&self) -> &'static str {
        match self.grade() {
            None => "passes",
            Some(1) => "fails_edge_cases",
            Some(2) => "fails_all_tests",
            Some(3) => "timeout",
            Some(4) => "runtime_error",
            _ => "syntax_error",
        }
    }

    /// What a developer would read after running the tests: the error, or the failed asserts.
    pub fn feedback(&self) -> String {
        match self.verdict {
            Verdict::Passes => "All tests passed.".into(),
            Verdict::FailsTests => {
                let mut out = format!(
                    "{} of {} test asserts failed:",
                    self.asserts_total - self.asserts_passed,
                    self.asserts_total
                );
                for f in self.failed.iter().take(3) {
                    out.push_str(&format!("\n  line {}: {}", f.line, f.source));
                }
                out
            }
            _ => self
                .error
                .clone()
                .unwrap_or_else(|| self.verdict.as_str().into()),
        }
    }
}

/// A mutation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    OffByOne,
    BoundaryFlip,
    WrongComparison,
    SwappedArithmetic,
    SwappedLogic,
}

impl Mutation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OffByOne => "off_by_one",
            Self::BoundaryFlip => "boundary_flip",
            Self::WrongComparison => "wrong_comparison",
            Self::SwappedArithmetic => "swapped_arithmetic",
            Self::SwappedLogic => "swapped_logic",
        }
    }
}

/// A mutant: the mutated source and what changed where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutant {
    pub mutation: Mutation,
    pub source: String,
    /// 1-based line of the change in the mutated text.
    pub line: usize,
    pub from: String,
    pub to: String,
}

/// Byte ranges of code (not strings, not comments) in Python source.
fn code_spans(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                spans.push((start, i));
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                start = i;
            }
            q @ (b'"' | b'\'') => {
                spans.push((start, i));
                let triple = i + 2 < b.len() && b[i + 1] == q && b[i + 2] == q;
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple {
                        if i + 2 < b.len() && b[i] == q && b[i + 1] == q && b[i + 2] == q {
                            i += 3;
                            break;
                        }
                    } else if b[i] == q || b[i] == b'\n' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                start = i.min(b.len());
                continue;
            }
            _ => i += 1,
        }
    }
    spans.push((start, b.len()));
    spans.retain(|(a, z)| a < z);
    spans
}

/// Every single-site mutant of `src`, in source order.
pub fn mutants(src: &str) -> Vec<Mutant> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut push = |at: usize, len: usize, to: &str, mutation: Mutation| {
        let mut source = String::with_capacity(src.len() + 2);
        source.push_str(&src[..at]);
        source.push_str(to);
        source.push_str(&src[at + len..]);
        out.push(Mutant {
            mutation,
            line: src[..at].matches('\n').count() + 1,
            from: src[at..at + len].to_string(),
            to: to.to_string(),
            source,
        });
    };
    for (lo, hi) in code_spans(src) {
        let mut i = lo;
        while i < hi {
            let c = b[i];
            let next = if i + 1 < hi { b[i + 1] } else { 0 };
            let prev = if i > 0 { b[i - 1] } else { 0 };
            let word_start = !(prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'.');
            match (c, next) {
                (b'<', b'=') => {
                    push(i, 2, "<", Mutation::BoundaryFlip);
                    i += 2;
                }
                (b'>', b'=') => {
                    push(i, 2, ">", Mutation::BoundaryFlip);
                    i += 2;
                }
                (b'=', b'=') => {
                    push(i, 2, "!=", Mutation::WrongComparison);
                    i += 2;
                }
                (b'!', b'=') => {
                    push(i, 2, "==", Mutation::WrongComparison);
                    i += 2;
                }
                (b'<', _) if next != b'<' && prev != b'<' => {
                    push(i, 1, "<=", Mutation::BoundaryFlip);
                    push(i, 1, ">", Mutation::WrongComparison);
                    i += 1;
                }
                (b'>', _) if next != b'>' && prev != b'>' && prev != b'-' => {
                    push(i, 1, ">=", Mutation::BoundaryFlip);
                    push(i, 1, "<", Mutation::WrongComparison);
                    i += 1;
                }
                (b'+', _) if next != b'=' && prev != b'e' && prev != b'E' => {
                    push(i, 1, "-", Mutation::SwappedArithmetic);
                    i += 1;
                }
                (b'-', _)
                    if next != b'='
                        && next != b'>'
                        && prev.is_ascii_whitespace()
                        && next.is_ascii_whitespace() =>
                {
                    push(i, 1, "+", Mutation::SwappedArithmetic);
                    i += 1;
                }
                (b'0'..=b'9', _) if word_start => {
                    let mut j = i;
                    while j < hi && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let follows = if j < hi { b[j] } else { 0 };
                    let is_int = !(follows == b'.'
                        || follows == b'e'
                        || follows == b'x'
                        || follows.is_ascii_alphabetic());
                    if is_int {
                        if let Ok(n) = src[i..j].parse::<i64>() {
                            push(i, j - i, &(n + 1).to_string(), Mutation::OffByOne);
                            if n > 0 {
                                push(i, j - i, &(n - 1).to_string(), Mutation::OffByOne);
                            }
                        }
                    }
                    i = j.max(i + 1);
                }
                _ if word_start && src[i..hi].starts_with("and") && !is_ident(b, i + 3, hi) => {
                    push(i, 3, "or", Mutation::SwappedLogic);
                    i += 3;
                }
                _ if word_start && src[i..hi].starts_with("or") && !is_ident(b, i + 2, hi) => {
                    push(i, 2, "and", Mutation::SwappedLogic);
                    i += 2;
                }
                _ if c.is_ascii_alphabetic() || c == b'_' => {
                    // Skip the rest of an identifier (`x1` has no literal to mutate).
                    while i < hi && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
    }
    out
}

fn is_ident(b: &[u8], at: usize, hi: usize) -> bool {
    at < hi && (b[at].is_ascii_alphanumeric() || b[at] == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutates_code_but_not_strings_or_comments() {
        let src = "    if len(xs) < 2:  # fewer than 2 < 3\n        return 'a < b'\n    return xs[0] + xs[1] == 3 and ok\n";
        let ms = mutants(src);
        let sites: Vec<(Mutation, &str, &str, usize)> = ms
            .iter()
            .map(|m| (m.mutation, m.from.as_str(), m.to.as_str(), m.line))
            .collect();
        assert!(sites.contains(&(Mutation::BoundaryFlip, "<", "<=", 1)));
        assert!(sites.contains(&(Mutation::WrongComparison, "<", ">", 1)));
        assert!(sites.contains(&(Mutation::OffByOne, "2", "3", 1)));
        assert!(sites.contains(&(Mutation::WrongComparison, "==", "!=", 3)));
        assert!(sites.contains(&(Mutation::SwappedArithmetic, "+", "-", 3)));
        assert!(sites.contains(&(Mutation::SwappedLogic, "and", "or", 3)));
        // Nothing inside the comment or the string.
        assert!(ms.iter().all(|m| m.source.contains("# fewer than 2 < 3")));
        assert!(ms.iter().all(|m| m.source.contains("'a < b'")));
        // Identifiers with digits and indexes stay as written, except real literals.
        assert!(!sites.iter().any(|(_, from, _, _)| *from == "an"));
    }

    #[test]
    fn a_completion_with_its_own_def_replaces_the_stub() {
        let task = CodeTask {
            task_id: "t/0".into(),
            prompt: "from typing import List\n\ndef f(x: int) -> int:\n    \"\"\"doc\"\"\"\n"
                .into(),
            canonical_solution: "    return x + 1\n".into(),
            test: "def check(candidate):\n    assert candidate(1) == 2\n".into(),
            entry_point: "f".into(),
        };
        assert!(task
            .canonical_program()
            .ends_with("\"\"\"doc\"\"\"\n    return x + 1\n"));
        let own = task.program("def f(x):\n    return x + 1\n");
        assert_eq!(
            own,
            "from typing import List\ndef f(x):\n    return x + 1\n"
        );
    }

    #[test]
    fn grades_order_negatives() {
        let outcome = |verdict, passed| Outcome {
            verdict,
            asserts_total: 3,
            asserts_passed: passed,
            failed: vec![],
            error: None,
        };
        let mut grades: Vec<u8> = [
            outcome(Verdict::SyntaxError, 0),
            outcome(Verdict::Timeout, 0),
            outcome(Verdict::FailsTests, 2),
            outcome(Verdict::RuntimeError, 0),
            outcome(Verdict::FailsTests, 0),
        ]
        .iter()
        .filter_map(Outcome::grade)
        .collect();
        grades.sort();
        assert_eq!(grades, [1, 2, 3, 4, 5]);
        assert_eq!(outcome(Verdict::Passes, 3).grade(), None);
    }

    #[test]
    fn input_errors_name_line_and_field() {
        let input = "{\"task_id\": \"a\"}\n";
        let e = read_tasks(input.as_bytes()).next().unwrap().unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (1, "prompt"));
    }
}
