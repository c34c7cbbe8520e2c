//! Math negatives from GSM8K-style solutions: a solution is split into steps (its lines, the
//! final `#### answer` line last) with their calculator annotations `<<expr=value>>`; the
//! reference is the chosen answer and each rejected variant carries one deliberate error of a
//! named type and the index of the first wrong step:
//! - `calculation_error_propagate`: one intermediate result changed, every later result that
//!   uses it recomputed from the wrong value (and the final answer with them);
//! - `calculation_error_keep`: one intermediate result changed, everything after it left as it
//!   was (the chain no longer follows from the step);
//! - `condition_omission`: a quantity given in the question dropped from a step's arithmetic,
//!   later results recomputed;
//! - `logical_leap`: a derivation step removed, so a later step uses a number nobody derived.
//!
//! Step labels follow the first-error convention of process supervision (PRM800K, Math-Shepherd):
//! steps before the first wrong one are `true`, it and every later step `false`.
//!
//! Choices (which step, which wrong value) are a function of the question's hash, so a build is
//! reproducible without an RNG seed.

use super::{
    arith::{self, agrees, format_number, number_value, same, Expr},
    json_lines, InputError,
};
use crate::stable_hash;
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, io::BufRead, ops::Range};

/// One problem of the input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MathItem {
    /// 1-based line of the input.
    #[serde(skip)]
    pub line: usize,
    pub question: String,
    /// The reference solution, ending in `#### final answer`.
    pub answer: String,
}

/// Reads GSM8K JSONL (`{"question", "answer"}` per line); errors name the line and field.
pub fn read_items<R: BufRead>(input: R) -> impl Iterator<Item = Result<MathItem, InputError>> {
    json_lines(input).map(|row| {
        let (line, value) = row?;
        let err = |field: &str, message: &str| InputError {
            line,
            field: field.to_string(),
            message: message.to_string(),
        };
        let field = |name: &str| match value.get(name) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(serde_json::Value::String(_)) => Err(err(name, "is empty")),
            Some(_) => Err(err(name, "must be a string")),
            None => Err(err(name, "is missing")),
        };
        let question = field("question")?;
        let answer = field("answer")?;
        if final_answer(&answer).is_none() {
            return Err(err("answer", "has no final `#### answer` line"));
        }
        Ok(MathItem {
            line,
            question,
            answer,
        })
    })
}

/// The text after the last `####`.
pub fn final_answer(answer: &str) -> Option<&str> {
    let (_, last) = answer.rsplit_once("####")?;
    let last = last.trim();
    (!last.is_empty()).then_some(last)
}

/// The steps of a solution: its non-empty lines, the `#### answer` line last.
pub fn steps(answer: &str) -> Vec<String> {
    answer
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Labels under the first-error convention: `true` before `first_wrong`, `false` from it on.
pub fn labels(len: usize, first_wrong: Option<usize>) -> Vec<bool> {
    (0..len)
        .map(|i| first_wrong.is_none_or(|w| i < w))
        .collect()
}

/// A calculator annotation inside one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Byte range of `<<expr=value>>`.
    pub span: Range<usize>,
    pub expr: String,
    pub value: String,
    /// The result as shown right after the annotation (`130,000`), if any.
    pub shown: Option<Range<usize>>,
    /// The expression as written before it (`80,000+50,000=$<<…`), if it matches.
    pub visible: Option<Range<usize>>,
}

impl Annotation {
    /// The parsed expression, when it parses and the written value agrees with it.
    pub fn checked(&self) -> Option<Expr> {
        let e = arith::parse(&self.expr).ok()?;
        let v = e.value();
        (v.is_finite() && agrees(&self.value, v)).then_some(e)
    }

    /// Whether the written value disagrees with the expression (a calculation error).
    pub fn is_wrong(&self) -> bool {
        match arith::parse(&self.expr) {
            Ok(e) => !agrees(&self.value, e.value()),
            Err(_) => false,
        }
    }
}

fn normalized(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | ',' | '$'))
        .collect()
}

/// The annotations of a step, left to right.
pub fn annotations(step: &str) -> Vec<Annotation> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = step[from..].find("<<").map(|i| i + from) {
        let Some(close) = step[open..].find(">>").map(|i| i + open) else {
            break;
        };
        let inner = &step[open + 2..close];
        from = close + 2;
        let Some((expr, value)) = inner.rsplit_once('=') else {
            continue;
        };
        let end = close + 2;
        let shown_len = step[end..]
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_digit()
                    || ((*c == '.' || *c == ',')
                        && step[end + i + 1..]
                            .chars()
                            .next()
                            .is_some_and(|n| n.is_ascii_digit()))
                    || (*i == 0 && *c == '-')
            })
            .count();
        let shown = (shown_len > 0).then(|| end..end + shown_len);
        out.push(Annotation {
            span: open..end,
            expr: expr.to_string(),
            value: value.trim().to_string(),
            shown,
            visible: visible_expression(step, open, expr),
        });
    }
    out
}

/// Where the expression is written out before the annotation (`16 - 3 - 4 = <<16-3-4=9>>`).
fn visible_expression(step: &str, open: usize, expr: &str) -> Option<Range<usize>> {
    let before = step[..open].trim_end_matches([' ', '$']);
    let before = before.strip_suffix('=')?.trim_end();
    let end = before.len();
    let allowed = |c: char| c.is_ascii_digit() || " .,+-*/x×÷()^$%".contains(c);
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| allowed(*c))
        .last()
        .map(|(i, _)| i)?;
    let want = normalized(expr);
    // The longest written suffix that reads as the annotation's expression.
    (start..end)
        .filter(|s| step.is_char_boundary(*s))
        .find(|s| normalized(&step[*s..end]) == want)
        .map(|s| {
            let lead = step[s..end].len() - step[s..end].trim_start().len();
            s + lead..end
        })
}

/// The error types a variant carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MathError {
    CalculationErrorPropagate,
    CalculationErrorKeep,
    ConditionOmission,
    LogicalLeap,
}

impl MathError {
    pub const ALL: [MathError; 4] = [
        Self::CalculationErrorPropagate,
        Self::CalculationErrorKeep,
        Self::ConditionOmission,
        Self::LogicalLeap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CalculationErrorPropagate => "calculation_error_propagate",
            Self::CalculationErrorKeep => "calculation_error_keep",
            Self::ConditionOmission => "condition_omission",
            Self::LogicalLeap => "logical_leap",
        }
    }
}

/// The changed annotation of a calculation error, to check it against its arithmetic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    pub step: usize,
    pub expr: String,
    pub written: String,
    pub correct: String,
}

/// A rejected solution with one deliberate error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MathVariant {
    pub error: MathError,
    pub steps: Vec<String>,
    pub first_wrong_step: usize,
    pub final_answer: String,
    /// What was changed, in words.
    pub note: String,
    /// For calculation errors: the annotation that was changed.
    pub injected: Option<Injected>,
}

impl MathVariant {
    pub fn labels(&self) -> Vec<bool> {
        labels(self.steps.len(), Some(self.first_wrong_step))
    }

    pub fn text(&self) -> String {
        self.steps.join("\n")
    }
}

/// A deterministic choice among `n` options for `purpose` on this question.
fn pick(question: &str, purpose: &str, n: usize) -> usize {
    let h = stable_hash(format!("{purpose}\n{question}"));
    let v = u64::from_str_radix(&h[..16], 16).unwrap_or(0);
    (v % n.max(1) as u64) as usize
}

const WORD_NUMBERS: [(&str, f64); 31] = [
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("fifteen", 15.0),
    ("sixteen", 16.0),
    ("seventeen", 17.0),
    ("eighteen", 18.0),
    ("nineteen", 19.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("hundred", 100.0),
    ("thousand", 1000.0),
    ("dozen", 12.0),
    ("twice", 2.0),
    ("double", 2.0),
    ("triple", 3.0),
    ("half", 2.0),
];

/// The quantities a question gives: written numbers (a percentage also as its fraction) and
/// small number words.
pub fn given_quantities(question: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let chars: Vec<char> = question.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || ((chars[i] == '.' || chars[i] == ',')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if let Some(v) = number_value(&text) {
                out.push(v);
                if chars.get(i) == Some(&'%') {
                    out.push(v / 100.0);
                }
            }
        } else {
            i += 1;
        }
    }
    for word in question
        .split(|c: char| !c.is_ascii_alphabetic())
        .map(str::to_ascii_lowercase)
    {
        if let Some((_, v)) = WORD_NUMBERS.iter().find(|(w, _)| *w == word) {
            out.push(*v);
        }
    }
    out
}

/// Thousands separators as the original showed them.
fn shown_like(original: &str, value: f64) -> String {
    let plain = format_number(value);
    if !original.contains(',') {
        return plain;
    }
    let (int, frac) = plain
        .split_once('.')
        .map_or((plain.as_str(), None), |(a, b)| (a, Some(b)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn spaced_like(original: &str, expr: &Expr) -> String {
    let plain = expr.to_string();
    if !original.contains(' ') {
        return plain;
    }
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in plain.chars() {
        if "+-*/^".contains(c) && prev.is_some_and(|p| p.is_ascii_digit() || p == ')') {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// `step` with annotation `a` rewritten: a new expression (also where it is written out) and a
/// new written value (also where it is shown).
fn rewrite(step: &str, a: &Annotation, expr: Option<&Expr>, value: f64) -> String {
    let value_text = format_number(value);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let expr_text = expr.map_or_else(|| a.expr.clone(), Expr::to_string);
    if let (Some(e), Some(visible)) = (expr, &a.visible) {
        edits.push((visible.clone(), spaced_like(&step[visible.clone()], e)));
    }
    edits.push((a.span.clone(), format!("<<{expr_text}={value_text}>>")));
    if let Some(shown) = &a.shown {
        edits.push((shown.clone(), shown_like(&step[shown.clone()], value)));
    }
    let mut out = step.to_string();
    for (range, text) in edits.into_iter().rev() {
        out.replace_range(range, &text);
    }
    out
}

/// Recomputes every annotation after (`step`, `ann`) whose expression uses a changed value;
/// returns the final answer after the changes.
fn propagate(
    steps: &mut [String],
    step: usize,
    ann: usize,
    mut changes: Vec<(f64, f64)>,
    final_answer: &str,
) -> String {
    for (s, text) in steps.iter_mut().enumerate().skip(step) {
        let mut a_index = if s == step { ann + 1 } else { 0 };
        loop {
            let anns = annotations(text);
            let Some(a) = anns.get(a_index) else { break };
            a_index += 1;
            let Ok(e) = arith::parse(&a.expr) else {
                continue;
            };
            let Some(old_value) = number_value(&a.value) else {
                continue;
            };
            let mut changed = e.clone();
            for (from, to) in &changes {
                changed = changed.replace_literal(*from, *to);
            }
            if changed == e {
                continue;
            }
            let v = changed.value();
            if !v.is_finite() {
                continue;
            }
            *text = rewrite(text, a, Some(&changed), v);
            if !same(v, old_value) {
                changes.push((old_value, v));
            }
        }
    }
    match number_value(final_answer) {
        Some(f) => match changes.iter().rev().find(|(from, _)| same(*from, f)) {
            Some((_, to)) => format_number(*to),
            None => final_answer.to_string(),
        },
        None => final_answer.to_string(),
    }
}

/// A solution split for building: reasoning steps and the final answer.
struct Parsed {
    reasoning: Vec<String>,
    final_answer: String,
}

fn parse_solution(answer: &str) -> Option<Parsed> {
    let final_answer = final_answer(answer)?.to_string();
    let reasoning: Vec<String> = steps(answer)
        .into_iter()
        .filter(|l| !l.trim_start().starts_with("####"))
        .collect();
    (!reasoning.is_empty()).then_some(Parsed {
        reasoning,
        final_answer,
    })
}

fn with_final(mut reasoning: Vec<String>, final_answer: &str) -> Vec<String> {
    reasoning.push(format!("#### {final_answer}"));
    reasoning
}

/// Wrong values a solver might write for `correct`: off by one or two, by ten, a factor of
/// ten, two digits swapped.
fn slips(correct: f64) -> Vec<f64> {
    let mut out = vec![
        correct + 1.0,
        correct - 1.0,
        correct + 2.0,
        correct - 2.0,
        correct + 10.0,
        correct - 10.0,
        correct * 10.0,
    ];
    let whole = (correct - correct.round()).abs() < 1e-9;
    if whole && correct.abs() >= 10.0 {
        let digits = format!("{}", correct.abs().round() as i64);
        let mut d: Vec<char> = digits.chars().collect();
        let n = d.len();
        d.swap(n - 1, n - 2);
        if let Ok(v) = d.iter().collect::<String>().parse::<f64>() {
            out.push(v.copysign(correct));
        }
    }
    if !whole {
        out.push(correct + 0.5);
    }
    out
}

/// Every number in a solution and its question (to keep a slip from equalling one of them).
fn numbers_in(question: &str, reasoning: &[String]) -> Vec<f64> {
    let mut all = given_quantities(question);
    for s in reasoning {
        for a in annotations(s) {
            if let Ok(e) = arith::parse(&a.expr) {
                all.extend(e.literals());
            }
            all.extend(number_value(&a.value));
        }
    }
    all
}

/// Annotation positions `(step, index)` with checked arithmetic.
fn checked_positions(reasoning: &[String]) -> Vec<(usize, usize, Expr, f64)> {
    let mut out = Vec::new();
    for (s, text) in reasoning.iter().enumerate() {
        for (i, a) in annotations(text).iter().enumerate() {
            if let (Some(e), Some(v)) = (a.checked(), number_value(&a.value)) {
                out.push((s, i, e, v));
            }
        }
    }
    out
}

/// Whether `value` is used as a literal by an annotation after step `step`.
fn used_later(reasoning: &[String], step: usize, value: f64) -> bool {
    reasoning[step + 1..].iter().any(|s| {
        annotations(s).iter().any(|a| {
            arith::parse(&a.expr).is_ok_and(|e| e.literals().iter().any(|l| same(*l, value)))
        })
    })
}

fn calculation_error(item: &MathItem, p: &Parsed, keep: bool) -> Result<MathVariant, String> {
    let error = if keep {
        MathError::CalculationErrorKeep
    } else {
        MathError::CalculationErrorPropagate
    };
    let positions = checked_positions(&p.reasoning);
    if positions.is_empty() {
        return Err("no annotation whose arithmetic checks".into());
    }
    let reused: Vec<_> = positions
        .iter()
        .filter(|(s, _, _, v)| used_later(&p.reasoning, *s, *v))
        .collect();
    let pool: Vec<_> = if reused.is_empty() {
        positions.iter().collect()
    } else {
        reused
    };
    let (s, i, e, written) = pool[pick(&item.question, error.as_str(), pool.len())];
    let avoid = numbers_in(&item.question, &p.reasoning);
    let correct = e.value();
    let slips: Vec<f64> = slips(correct)
        .into_iter()
        .filter(|v| {
            v.is_finite()
                && (correct < 0.0 || *v >= 0.0)
                && !agrees(&format_number(*v), correct)
                && !avoid.iter().any(|a| same(*a, *v))
        })
        .collect();
    if slips.is_empty() {
        return Err("no plausible wrong value".into());
    }
    let wrong = slips[pick(
        &item.question,
        &format!("{}-value", error.as_str()),
        slips.len(),
    )];
    let mut reasoning = p.reasoning.clone();
    let a = &annotations(&reasoning[*s])[*i];
    reasoning[*s] = rewrite(&reasoning[*s], a, None, wrong);
    let final_answer = if keep {
        p.final_answer.clone()
    } else {
        propagate(
            &mut reasoning,
            *s,
            *i,
            vec![(*written, wrong)],
            &p.final_answer,
        )
    };
    Ok(MathVariant {
        error,
        note: format!(
            "step {}: {} written as {} (correct {})",
            s + 1,
            a.expr,
            format_number(wrong),
            a.value
        ),
        injected: Some(Injected {
            step: *s,
            expr: a.expr.clone(),
            written: format_number(wrong),
            correct: a.value.clone(),
        }),
        steps: with_final(reasoning, &final_answer),
        first_wrong_step: *s,
        final_answer,
    })
}

fn condition_omission(item: &MathItem, p: &Parsed) -> Result<MathVariant, String> {
    let given = given_quantities(&item.question);
    let mut derived: Vec<f64> = Vec::new();
    let mut options = Vec::new();
    for (s, i, e, v) in checked_positions(&p.reasoning) {
        let mut literals = e.literals();
        literals.dedup_by(|a, b| same(*a, *b));
        for q in literals {
            if !given.iter().any(|g| same(*g, q)) || derived.iter().any(|d| same(*d, q)) {
                continue;
            }
            for dropped in e.without_operand(q) {
                let nv = dropped.value();
                if nv.is_finite() && !same(nv, v) && !dropped.literals().is_empty() {
                    options.push((s, i, q, dropped, v));
                }
            }
        }
        derived.push(v);
    }
    if options.is_empty() {
        return Err(
            "no step uses a quantity from the question in a way that can be dropped".into(),
        );
    }
    let (s, i, q, dropped, old) = &options[pick(
        &item.question,
        MathError::ConditionOmission.as_str(),
        options.len(),
    )];
    let mut reasoning = p.reasoning.clone();
    let a = annotations(&reasoning[*s])[*i].clone();
    let nv = dropped.value();
    reasoning[*s] = rewrite(&reasoning[*s], &a, Some(dropped), nv);
    let final_answer = propagate(&mut reasoning, *s, *i, vec![(*old, nv)], &p.final_answer);
    Ok(MathVariant {
        error: MathError::ConditionOmission,
        note: format!(
            "step {}: the given quantity {} dropped ({} became {})",
            s + 1,
            format_number(*q),
            a.expr,
            dropped
        ),
        injected: None,
        steps: with_final(reasoning, &final_answer),
        first_wrong_step: *s,
        final_answer,
    })
}

fn logical_leap(item: &MathItem, p: &Parsed) -> Result<MathVariant, String> {
    let given = given_quantities(&item.question);
    let n = p.reasoning.len();
    if n < 2 {
        return Err("a one-step solution has no step to skip".into());
    }
    let mut options = Vec::new();
    for k in 0..n - 1 {
        let results: Vec<f64> = annotations(&p.reasoning[k])
            .iter()
            .filter(|a| a.checked().is_some())
            .filter_map(|a| number_value(&a.value))
            .collect();
        if results.is_empty() || results.iter().any(|r| given.iter().any(|g| same(*g, *r))) {
            continue;
        }
        // The first later step that uses one of the skipped results (index after removal).
        let user = (k + 1..n).find(|&j| {
            annotations(&p.reasoning[j]).iter().any(|a| {
                arith::parse(&a.expr).is_ok_and(|e| {
                    e.literals()
                        .iter()
                        .any(|l| results.iter().any(|r| same(*l, *r)))
                })
            })
        });
        if let Some(j) = user {
            options.push((k, j - 1));
        }
    }
    if options.is_empty() {
        return Err("no derivation step whose result a later step uses".into());
    }
    let (k, first_wrong) = options[pick(
        &item.question,
        MathError::LogicalLeap.as_str(),
        options.len(),
    )];
    let mut reasoning = p.reasoning.clone();
    let removed = reasoning.remove(k);
    Ok(MathVariant {
        error: MathError::LogicalLeap,
        note: format!("step {} removed: {}", k + 1, removed.trim()),
        injected: None,
        steps: with_final(reasoning, &p.final_answer),
        first_wrong_step: first_wrong,
        final_answer: p.final_answer.clone(),
    })
}

/// Every variant this problem allows, one per error type; the errors say why a type was
/// skipped.
pub fn variants(item: &MathItem) -> Vec<(MathError, Result<MathVariant, String>)> {
    let Some(p) = parse_solution(&item.answer) else {
        return MathError::ALL
            .iter()
            .map(|e| (*e, Err("the answer has no steps before `####`".to_string())))
            .collect();
    };
    let mut made: Vec<(MathError, Result<MathVariant, String>)> = Vec::new();
    for error in MathError::ALL {
        let v = match error {
            MathError::CalculationErrorPropagate => calculation_error(item, &p, false),
            MathError::CalculationErrorKeep => calculation_error(item, &p, true),
            MathError::ConditionOmission => condition_omission(item, &p),
            MathError::LogicalLeap => logical_leap(item, &p),
        };
        // A kept error whose value nothing downstream used reads like the propagated one.
        let v = v.and_then(|v| {
            match made
                .iter()
                .find(|(_, o)| o.as_ref().is_ok_and(|o| o.steps == v.steps))
            {
                Some((same, _)) => Err(format!("the same text as {}", same.as_str())),
                None => Ok(v),
            }
        });
        made.push((error, v));
    }
    made
}

/// Counts of a build: variants made and problems skipped per error type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MathSummary {
    pub problems: usize,
    pub pairs: usize,
    pub by_error: BTreeMap<String, usize>,
    pub skipped: BTreeMap<String, usize>,
}

impl MathSummary {
    pub fn add(&mut self, made: &[(MathError, Result<MathVariant, String>)]) {
        self.problems += 1;
        for (error, v) in made {
            let key = error.as_str().to_string();
            match v {
                Ok(_) => {
                    self.pairs += 1;
                    *self.by_error.entry(key).or_default() += 1;
                }
                Err(_) => *self.skipped.entry(key).or_default() += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(question: &str, answer: &str) -> MathItem {
        MathItem {
            line: 1,
            question: question.into(),
            answer: answer.into(),
        }
    }

    const JANET: &str = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18";
    const JANET_Q: &str = "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?";

    #[test]
    fn reads_annotations_with_their_written_forms() {
        let a =
            &annotations("The cost came out to 80,000+50,000=$<<80000+50000=130000>>130,000")[0];
        assert_eq!(
            (a.expr.as_str(), a.value.as_str()),
            ("80000+50000", "130000")
        );
        let s = "The cost came out to 80,000+50,000=$<<80000+50000=130000>>130,000";
        assert_eq!(&s[a.shown.clone().unwrap()], "130,000");
        assert_eq!(&s[a.visible.clone().unwrap()], "80,000+50,000");
        assert!(a.checked().is_some());
    }

    #[test]
    fn a_propagated_calculation_error_changes_the_chain_and_the_answer() {
        let v = calculation_error(
            &item(JANET_Q, JANET),
            &parse_solution(JANET).unwrap(),
            false,
        )
        .unwrap();
        let inj = v.injected.clone().unwrap();
        assert_eq!(inj.step, 0, "the reused result is the one changed");
        let first = &annotations(&v.steps[0])[0];
        assert!(first.is_wrong(), "{:?}", v.steps);
        // The next step is recomputed from the wrong value, so its own arithmetic is right.
        let second = &annotations(&v.steps[1])[0];
        assert!(
            !second.is_wrong() && second.checked().is_some(),
            "{:?}",
            v.steps
        );
        assert_ne!(v.final_answer, "18");
        assert_eq!(v.steps.last().unwrap(), &format!("#### {}", v.final_answer));
        assert_eq!(v.labels(), vec![false, false, false]);
    }

    #[test]
    fn a_kept_calculation_error_leaves_the_rest() {
        let v = calculation_error(&item(JANET_Q, JANET), &parse_solution(JANET).unwrap(), true)
            .unwrap();
        assert!(annotations(&v.steps[0])[0].is_wrong());
        assert_eq!(v.steps[1], JANET.lines().nth(1).unwrap());
        assert_eq!(v.final_answer, "18");
    }

    #[test]
    fn omission_drops_a_given_quantity_and_recomputes() {
        let v = condition_omission(&item(JANET_Q, JANET), &parse_solution(JANET).unwrap()).unwrap();
        let a = &annotations(&v.steps[v.first_wrong_step])[0];
        assert!(
            a.checked().is_some(),
            "omission keeps arithmetic right: {:?}",
            v.steps
        );
        assert!(
            ["16-3", "16-4", "9"].contains(&a.expr.as_str()),
            "{}",
            a.expr
        );
        assert_ne!(v.final_answer, "18");
        // Where the expression is written out, it is rewritten too.
        if a.expr.starts_with("16-") {
            assert!(v.steps[0].starts_with(&format!("Janet sells 16 - {} = ", &a.expr[3..])));
        }
    }

    #[test]
    fn omission_of_a_term_rewrites_the_written_expression() {
        let q = "Ann has 16 eggs, eats 3 and gives 4 away. She sells the rest for $2 each.";
        let p = parse_solution(JANET).unwrap();
        let a = annotations(&p.reasoning[0])[0].clone();
        let dropped = arith::parse("16-3").unwrap();
        let step = rewrite(&p.reasoning[0], &a, Some(&dropped), 13.0);
        assert_eq!(step, "Janet sells 16 - 3 = <<16-3=13>>13 duck eggs a day.");
        let mut steps = vec![step, p.reasoning[1].clone()];
        let final_answer = propagate(&mut steps, 0, 0, vec![(9.0, 13.0)], "18");
        assert_eq!(
            steps[1],
            "She makes 13 * 2 = $<<13*2=26>>26 every day at the farmer’s market."
        );
        assert_eq!(final_answer, "26");
        assert!(given_quantities(q).contains(&4.0));
    }

    #[test]
    fn a_leap_removes_a_step_whose_result_is_used() {
        let v = logical_leap(&item(JANET_Q, JANET), &parse_solution(JANET).unwrap()).unwrap();
        assert_eq!(v.steps.len(), 2);
        assert_eq!(v.first_wrong_step, 0);
        assert!(v.steps[0].starts_with("She makes 9 * 2"));
    }

    #[test]
    fn input_errors_name_line_and_field() {
        let input = "{\"question\": \"q\", \"answer\": \"a\\n#### 1\"}\n\n{\"question\": 3, \"answer\": \"x\"}\n{\"question\": \"q\", \"answer\": \"no final\"}\nnot json\n";
        let got: Vec<_> = read_items(input.as_bytes()).collect();
        assert!(got[0].is_ok());
        assert_eq!(
            got[1].clone().unwrap_err().to_string(),
            "line 3: `question`: must be a string"
        );
        assert_eq!(got[2].clone().unwrap_err().field, "answer");
        assert_eq!(got[3].clone().unwrap_err().line, 5);
    }

    #[test]
    fn labels_follow_the_first_error() {
        assert_eq!(labels(4, Some(2)), [true, true, false, false]);
        assert_eq!(labels(2, None), [true, true]);
    }
}
