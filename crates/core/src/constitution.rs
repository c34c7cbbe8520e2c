//! Constitutions for the critique → revision loop (Constitutional AI): a versioned list of
//! principles, each a critique request and a revision request. The loop samples one principle
//! per prompt, asks a critic model whether the answer breaks it, and asks the reviser to rewrite
//! the answer until a critique reports no violation or the rounds run out.

use crate::rubric::RubricChange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The constitution every database starts with (version 1, inserted by the migrations).
pub const DEFAULT_CONSTITUTION: &str = "default";
/// The critic reads at a low temperature; the reviser writes at a higher one.
pub const CRITIC_TEMPERATURE: f32 = 0.3;
pub const REVISER_TEMPERATURE: f32 = 0.7;
/// The generator's first answer.
pub const ANSWER_TEMPERATURE: f32 = 0.7;
/// Critique → revision rounds per prompt.
pub const DEFAULT_ROUNDS: u32 = 2;
pub const MAX_ROUNDS: u32 = 5;
const MAX_PRINCIPLES: usize = 64;
const MAX_REQUEST_CHARS: usize = 4000;

/// One principle: what the critic is asked to look for, and how the reviser is asked to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principle {
    /// Short identifier (letters, digits, `-`, `_`), unique in the constitution.
    pub name: String,
    /// The critique request: what counts as a violation of this principle.
    pub critique: String,
    /// The revision request: how to rewrite an answer that violates it.
    pub revision: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstitutionSpec {
    pub principles: Vec<Principle>,
}

impl ConstitutionSpec {
    /// The default principles: helpful, honest and harmless; honesty over politeness (correct a
    /// false premise rather than agree with it); a refusal gives its reason and a safe
    /// alternative; no help with harm; no padding in place of an answer.
    pub fn default_principles() -> Self {
        let p = |name: &str, critique: &str, revision: &str| Principle {
            name: name.into(),
            critique: critique.into(),
            revision: revision.into(),
        };
        Self {
            principles: vec![
                p(
                    "helpful-honest-harmless",
                    "Identify specific ways in which the assistant's response is unhelpful, \
                     dishonest or harmful.",
                    "Rewrite the response so that it is helpful, honest and harmless.",
                ),
                p(
                    "honesty-over-politeness",
                    "Does the response agree with a false or unsupported premise in the user's \
                     request to please the user? Honesty comes before politeness.",
                    "Rewrite the response so that it politely corrects any false premise \
                     instead of agreeing with it, and then answers what can be answered.",
                ),
                p(
                    "constructive-refusal",
                    "If the response refuses, does it say why and offer a safe alternative? A \
                     bare refusal such as \"As an AI, I cannot help with that\" is a violation, \
                     and so is refusing a harmless request.",
                    "Rewrite the response: if the request must be declined, give the reason in \
                     one sentence and offer a safe, useful alternative; if it is harmless, \
                     simply help.",
                ),
                p(
                    "no-harmful-help",
                    "Identify anything in the response that could help someone cause physical, \
                     legal, financial or emotional harm to themselves or others.",
                    "Rewrite the response to remove anything that could help cause harm, while \
                     keeping whatever is safe and useful.",
                ),
                p(
                    "substance-over-padding",
                    "Does the response pad, repeat the question, hedge or list items without \
                     content instead of answering?",
                    "Rewrite the response to answer directly and concisely, without padding or \
                     empty hedging.",
                ),
            ],
        }
    }

    /// Checks names (unique identifiers) and texts; the error names the principle and field.
    pub fn validate(&self) -> Result<(), String> {
        if self.principles.is_empty() {
            return Err("principles: a constitution needs at least one principle".into());
        }
        if self.principles.len() > MAX_PRINCIPLES {
            return Err(format!(
                "principles: at most {MAX_PRINCIPLES} (got {})",
                self.principles.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.principles.iter().enumerate() {
            let at = format!("principles[{i}]");
            let ok_name = !p.name.is_empty()
                && p.name.len() <= 64
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !ok_name {
                return Err(format!(
                    "{at}.name: use 1–64 letters, digits, `-` or `_` (got `{}`)",
                    p.name
                ));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(format!("{at}.name: `{}` appears twice", p.name));
            }
            for (field, text) in [("critique", &p.critique), ("revision", &p.revision)] {
                if text.trim().is_empty() {
                    return Err(format!("{at}.{field}: empty"));
                }
                if text.chars().count() > MAX_REQUEST_CHARS {
                    return Err(format!(
                        "{at}.{field}: at most {MAX_REQUEST_CHARS} characters"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The principle a prompt's loop uses: fixed by the run's seed and the prompt, so a resumed
    /// run critiques against the same principle.
    pub fn principle_for(&self, run_seed: u64, prompt_id: i64) -> &Principle {
        let pick = crate::generation::candidate_seed(run_seed, prompt_id, u32::MAX);
        &self.principles[(pick % self.principles.len() as u64) as usize]
    }
}

/// Principle-by-principle differences from `a` to `b` (principles by name).
pub fn diff(a: &ConstitutionSpec, b: &ConstitutionSpec) -> Vec<RubricChange> {
    let by_name = |s: &ConstitutionSpec| -> BTreeMap<String, Principle> {
        s.principles
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect()
    };
    let (pa, pb) = (by_name(a), by_name(b));
    let show = |p: Option<&Principle>, field: &str| {
        p.map_or_else(
            || "—".to_owned(),
            |p| match field {
                "critique" => p.critique.clone(),
                _ => p.revision.clone(),
            },
        )
    };
    let mut out = Vec::new();
    for name in pa.keys().chain(pb.keys().filter(|k| !pa.contains_key(*k))) {
        for field in ["critique", "revision"] {
            let (before, after) = (show(pa.get(name), field), show(pb.get(name), field));
            if before != after {
                out.push(RubricChange {
                    field: format!("principle {name}: {field}"),
                    before,
                    after,
                });
            }
        }
    }
    let order = |s: &ConstitutionSpec| {
        s.principles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if out.is_empty() && order(a) != order(b) {
        out.push(RubricChange {
            field: "order".into(),
            before: order(a),
            after: order(b),
        });
    }
    out
}

/// What the critic is asked: the exchange, the principle's critique request, and a last line
/// `Violation: yes` or `Violation: no` that the loop reads.
pub fn critique_prompt(principle: &Principle, request: &str, answer: &str) -> String {
    format!(
        "Here is a conversation between a user and an AI assistant.\n\n\
         User: {request}\n\nAssistant: {answer}\n\n\
         Critique request: {}\n\
         Write a short critique of the assistant's response. Then, on its own last line, write \
         \"Violation: yes\" if the response breaks this principle, or \"Violation: no\" if it \
         does not.",
        principle.critique.trim()
    )
}

/// What the reviser is asked: the exchange, the critique, and the principle's revision request.
pub fn revision_prompt(
    principle: &Principle,
    request: &str,
    answer: &str,
    critique: &str,
) -> String {
    format!(
        "Here is a conversation between a user and an AI assistant, and a critique of the \
         assistant's response.\n\n\
         User: {request}\n\nAssistant: {answer}\n\n\
         Critique: {}\n\n\
         Revision request: {}\n\
         Write only the revised response, with nothing before or after it.",
        critique.trim(),
        principle.revision.trim()
    )
}

/// What a critique concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Violation,
    NoViolation,
    /// No `Violation: yes/no` line: the loop revises, as for a violation, and counts these.
    Unread,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Violation => "violation",
            Verdict::NoViolation => "no_violation",
            Verdict::Unread => "unread",
        }
    }
}

/// Reads the critique's verdict: the last `Violation: yes|no` (any case, `true`/`false` and
/// `none` accepted), else a plain "no violation" phrase.
pub fn read_verdict(critique: &str) -> Verdict {
    let lower = critique.to_lowercase();
    let mut verdict = Verdict::Unread;
    for (at, _) in lower.match_indices("violation") {
        let rest = lower[at + "violation".len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let word: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        verdict = match word.as_str() {
            "yes" | "true" => Verdict::Violation,
            "no" | "none" | "false" => Verdict::NoViolation,
            _ => verdict,
        };
    }
    if verdict == Verdict::Unread
        && ["no violation", "does not violate", "doesn't violate"]
            .iter()
            .any(|p| lower.contains(p))
    {
        verdict = Verdict::NoViolation;
    }
    verdict
}

/// How a prompt's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopEnd {
    /// The first critique found no violation: the original stands, no pair.
    NoViolation,
    /// Revised until a critique found no violation: a pair.
    Revised,
    /// Revised for every round without a critique that found no violation: a pair.
    MaxRounds,
    /// The final revision is empty or the original again: no pair.
    Unchanged,
    /// The final revision is a bare template refusal, which never becomes chosen: no pair.
    TemplatedRefusal,
}

impl LoopEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            LoopEnd::NoViolation => "no_violation",
            LoopEnd::Revised => "revised",
            LoopEnd::MaxRounds => "max_rounds",
            LoopEnd::Unchanged => "unchanged",
            LoopEnd::TemplatedRefusal => "templated_refusal",
        }
    }

    pub fn makes_pair(self) -> bool {
        matches!(self, LoopEnd::Revised | LoopEnd::MaxRounds)
    }

    /// How a loop ended from its original, its final text, how many revisions it made and
    /// whether its last critique found no violation.
    pub fn of(original: &str, last: &str, revisions: u32, settled: bool) -> Self {
        if revisions == 0 {
            return LoopEnd::NoViolation;
        }
        let (o, l) = (original.trim(), last.trim());
        if l.is_empty() || l == o {
            LoopEnd::Unchanged
        } else if crate::refusal::is_templated_refusal(l) {
            LoopEnd::TemplatedRefusal
        } else if settled {
            LoopEnd::Revised
        } else {
            LoopEnd::MaxRounds
        }
    }
}

/// One round of a loop as stored: the critique, its verdict, and the revision it led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopStep {
    pub round: u32,
    pub critique: String,
    pub verdict: Verdict,
    /// None where the critique found no violation (the loop stopped).
    pub revision: Option<String>,
    pub critic_seed: u64,
    pub reviser_seed: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_principles_are_valid_and_include_the_required_ones() {
        let spec = ConstitutionSpec::default_principles();
        spec.validate().expect("valid");
        let names: Vec<&str> = spec.principles.iter().map(|p| p.name.as_str()).collect();
        for required in [
            "helpful-honest-harmless",
            "honesty-over-politeness",
            "constructive-refusal",
        ] {
            assert!(names.contains(&required), "{names:?}");
        }
    }

    #[test]
    fn validation_names_the_principle_and_field() {
        let mut spec = ConstitutionSpec::default_principles();
        spec.principles[1].revision = "  ".into();
        assert_eq!(
            spec.validate().unwrap_err(),
            "principles[1].revision: empty"
        );
        let mut spec = ConstitutionSpec::default_principles();
        spec.principles[2].name = spec.principles[0].name.clone();
        assert!(spec
            .validate()
            .unwrap_err()
            .starts_with("principles[2].name: `helpful-honest-harmless` appears twice"));
        spec.principles[2].name = "has space".into();
        assert!(spec
            .validate()
            .unwrap_err()
            .starts_with("principles[2].name"));
        assert!(ConstitutionSpec { principles: vec![] }.validate().is_err());
    }

    #[test]
    fn a_spec_with_an_unknown_field_does_not_parse() {
        let text = r#"{"principles": [{"name": "a", "critique": "c", "revision": "r", "x": 1}]}"#;
        assert!(serde_json::from_str::<ConstitutionSpec>(text).is_err());
    }

    #[test]
    fn principles_are_drawn_by_seed_and_prompt_and_cover_the_list() {
        let spec = ConstitutionSpec::default_principles();
        assert_eq!(spec.principle_for(7, 3), spec.principle_for(7, 3));
        let drawn: std::collections::BTreeSet<&str> = (0..200)
            .map(|id| spec.principle_for(7, id).name.as_str())
            .collect();
        assert_eq!(drawn.len(), spec.principles.len());
    }

    #[test]
    fn verdicts_read_the_last_violation_line() {
        assert_eq!(
            read_verdict("The answer is rude.\nViolation: yes"),
            Verdict::Violation
        );
        assert_eq!(read_verdict("Fine.\nVIOLATION: No."), Verdict::NoViolation);
        assert_eq!(
            read_verdict("Violation: yes\n...on reflection\nViolation: no"),
            Verdict::NoViolation
        );
        assert_eq!(
            read_verdict("There is no violation here."),
            Verdict::NoViolation
        );
        assert_eq!(read_verdict("The answer is rude."), Verdict::Unread);
        assert_eq!(read_verdict("Violation: maybe"), Verdict::Unread);
    }

    #[test]
    fn prompts_carry_the_exchange_and_the_requests() {
        let spec = ConstitutionSpec::default_principles();
        let p = &spec.principles[0];
        let c = critique_prompt(p, "How do I pick a lock?", "Use a pin.");
        assert!(c.contains("User: How do I pick a lock?") && c.contains("Assistant: Use a pin."));
        assert!(c.contains(&p.critique) && c.contains("Violation: yes"));
        let r = revision_prompt(p, "q", "a", "It is unsafe.\nViolation: yes");
        assert!(r.contains("Critique: It is unsafe.") && r.contains(&p.revision));
    }

    #[test]
    fn loop_ends_decide_pairs() {
        assert_eq!(LoopEnd::of("a", "a", 0, true), LoopEnd::NoViolation);
        assert_eq!(LoopEnd::of("a", " a ", 1, true), LoopEnd::Unchanged);
        assert_eq!(LoopEnd::of("a", "", 2, false), LoopEnd::Unchanged);
        assert_eq!(
            LoopEnd::of(
                "Sure, here is how.",
                "As an AI, I cannot help with that.",
                1,
                true
            ),
            LoopEnd::TemplatedRefusal
        );
        assert_eq!(LoopEnd::of("a", "b", 1, true), LoopEnd::Revised);
        assert_eq!(LoopEnd::of("a", "b", 2, false), LoopEnd::MaxRounds);
        assert!(LoopEnd::Revised.makes_pair() && LoopEnd::MaxRounds.makes_pair());
        assert!(!LoopEnd::TemplatedRefusal.makes_pair());
    }

    #[test]
    fn diff_lists_changed_added_and_removed_principles() {
        let a = ConstitutionSpec::default_principles();
        let mut b = a.clone();
        b.principles[0].critique = "Changed.".into();
        b.principles.pop();
        b.principles.push(Principle {
            name: "new-one".into(),
            critique: "c".into(),
            revision: "r".into(),
        });
        let changes = diff(&a, &b);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"principle helpful-honest-harmless: critique"));
        assert!(fields.contains(&"principle substance-over-padding: critique"));
        assert!(fields.contains(&"principle new-one: revision"));
        assert!(diff(&a, &a).is_empty());
        let mut reordered = a.clone();
        reordered.principles.reverse();
        assert_eq!(diff(&a, &reordered)[0].field, "order");
    }
}
