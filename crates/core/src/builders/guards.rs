//! Reward-hacking guards: counter-examples for what a policy learns when preference data rewards
//! length, hedging or agreement. From each good answer the builder makes "long but useless"
//! rejected answers — the same answer padded with filler, a restatement of the question with
//! only the answer's first sentence, the answer buried in hedges, a list without content — and,
//! where a row gives an answer that agrees with a false premise, that answer becomes rejected
//! against the one that corrects it. Pure text functions; phrase choices are a function of the
//! prompt's hash, so a build is reproducible.

use super::{json_lines, InputError};
use crate::stable_hash;
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// How a rejected answer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// The answer followed by filler that adds no information.
    Padding,
    /// The question restated at length, then only the answer's first sentence.
    Restating,
    /// The answer wrapped in hedges and disclaimers.
    Hedging,
    /// A numbered list of generic advice with no content.
    EmptyList,
    /// An answer that accepts the question's false premise (the chosen one corrects it).
    FalsePremise,
}

impl Guard {
    /// The guards made from every good answer.
    pub const DEGRADATIONS: [Guard; 4] = [
        Guard::Padding,
        Guard::Restating,
        Guard::Hedging,
        Guard::EmptyList,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Guard::Padding => "padding",
            Guard::Restating => "restating",
            Guard::Hedging => "hedging",
            Guard::EmptyList => "empty_list",
            Guard::FalsePremise => "false_premise",
        }
    }
}

/// One input row: a prompt, its good answer, and optionally an answer that agrees with a false
/// premise in the prompt (the good answer must correct it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardItem {
    pub line: usize,
    pub prompt: String,
    pub chosen: String,
    pub agreeing: Option<String>,
}

/// The rows of a JSONL file `{"prompt", "chosen", "agreeing"?}` (other keys, such as a TRL
/// `rejected`, are ignored); a missing or empty field names its line.
pub fn read_items<R: BufRead>(input: R) -> impl Iterator<Item = Result<GuardItem, InputError>> {
    json_lines(input).map(|row| {
        let (line, value) = row?;
        let text = |field: &str, required: bool| -> Result<Option<String>, InputError> {
            match value.get(field) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                None | Some(serde_json::Value::Null) if !required => Ok(None),
                _ => Err(InputError {
                    line,
                    field: field.into(),
                    message: "must be a non-empty string".into(),
                }),
            }
        };
        Ok(GuardItem {
            line,
            prompt: text("prompt", true)?.unwrap_or_default(),
            chosen: text("chosen", true)?.unwrap_or_default(),
            agreeing: text("agreeing", false)?,
        })
    })
}

/// One of `options`, chosen by the prompt's hash (and a salt per use, so choices differ).
fn pick<'a>(prompt: &str, salt: &str, options: &[&'a str]) -> &'a str {
    let h = stable_hash(format!("{salt}\u{1f}{prompt}"));
    let n = u64::from_str_radix(&h[..8], 16).unwrap_or(0) as usize;
    options[n % options.len()]
}

/// The first sentence of `text` (up to and including its first `.`, `!` or `?` followed by a
/// space or the end, else its first line).
fn first_sentence(text: &str) -> &str {
    let text = text.trim();
    let line = text.lines().next().unwrap_or(text);
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|(_, next)| next.is_whitespace())
        {
            return &line[..i + c.len_utf8()];
        }
    }
    line
}

/// The question as a short quotation (its first 160 characters).
fn quoted(prompt: &str) -> String {
    let flat: String = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 160 {
        format!("{}…", flat.chars().take(160).collect::<String>())
    } else {
        flat
    }
}

/// A "long but useless" version of the good answer `chosen` to `prompt`.
pub fn degrade(prompt: &str, chosen: &str, guard: Guard) -> String {
    let chosen = chosen.trim();
    match guard {
        Guard::Padding => format!(
            "{chosen}\n\n{} {} {}",
            pick(prompt, "pad1", &[
                "To summarise, the answer above covers the main points of the question.",
                "In short, everything above is the key information you need here.",
                "All in all, the points made above address what was asked.",
            ]),
            pick(prompt, "pad2", &[
                "It is worth noting that every situation is different, so these points may apply in different ways to different people.",
                "Of course, there are many aspects to consider, and each of them matters in its own way depending on the circumstances.",
                "Keep in mind that context matters a great deal, and what is true in one case may be less relevant in another.",
            ]),
            pick(prompt, "pad3", &[
                "I hope this detailed and thorough explanation helps to clarify things and gives you a complete picture of the topic.",
                "I hope this comprehensive overview has been helpful and answers your question fully and in depth.",
                "Hopefully this in-depth response gives you everything you need to understand the subject completely.",
            ]),
        ),
        Guard::Restating => format!(
            "You are asking: \"{q}\". {} {} {} {}",
            pick(prompt, "re1", &[
                "In other words, the question is about exactly that.",
                "To put the question another way, that is what needs to be answered here.",
                "Restating it, this is the question we need to address.",
            ]),
            pick(prompt, "re2", &[
                "This is a common question, and many people wonder about it.",
                "It is a good question, and it comes up quite often.",
                "Many people have asked this same question before.",
            ]),
            pick(prompt, "re3", &[
                "Answering it requires thinking about what the question is asking.",
                "To answer it, we should consider the question carefully.",
                "The answer depends on understanding the question itself.",
            ]),
            first_sentence(chosen),
            q = quoted(prompt),
        ),
        Guard::Hedging => format!(
            "{} {chosen}\n\n{} {}",
            pick(prompt, "he1", &[
                "I'm not entirely sure about this, and it may depend on many factors, but here is what I think, possibly:",
                "This is just my understanding and I could well be wrong, so please take it with a grain of salt:",
                "I can't be certain, and opinions differ, but it might be something like this:",
            ]),
            pick(prompt, "he2", &[
                "That said, this may not apply in your case, and things could be different.",
                "However, I might be mistaken, and there may be exceptions I am not aware of.",
                "Then again, it really depends, and other answers could be just as valid.",
            ]),
            pick(prompt, "he3", &[
                "You may want to verify this elsewhere before relying on it.",
                "Please double-check with other sources before acting on any of this.",
                "It would be best to consult someone else to be sure.",
            ]),
        ),
        Guard::EmptyList => format!(
            "Here are some key points to consider about \"{q}\":\n\n1. {}\n2. {}\n3. {}\n4. {}\n5. {}\n\nFollowing these steps will help you get the best result.",
            pick(prompt, "li1", &["Think about what you really need.", "Start by understanding your goal."]),
            pick(prompt, "li2", &["Consider the context carefully.", "Look at the situation as a whole."]),
            pick(prompt, "li3", &["Weigh the pros and cons.", "Think about the advantages and disadvantages."]),
            pick(prompt, "li4", &["Keep the main goal in mind.", "Stay focused on what matters most."]),
            pick(prompt, "li5", &["Make an informed decision.", "Take action when you are ready."]),
            q = quoted(prompt),
        ),
        // The agreeing answer comes from the row itself.
        Guard::FalsePremise => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "How do I keep basil fresh after buying it?";
    const ANSWER: &str = "Trim the stems and stand the basil in a glass of water at room \
        temperature, loosely covered with a bag. Change the water every day or two.";

    #[test]
    fn degradations_keep_or_drop_content_and_add_none() {
        let padded = degrade(PROMPT, ANSWER, Guard::Padding);
        assert!(padded.starts_with(ANSWER) && padded.len() > ANSWER.len() + 100);
        let restated = degrade(PROMPT, ANSWER, Guard::Restating);
        assert!(restated.contains(PROMPT));
        assert!(
            restated.ends_with("loosely covered with a bag."),
            "{restated}"
        );
        assert!(!restated.contains("Change the water"));
        let hedged = degrade(PROMPT, ANSWER, Guard::Hedging);
        assert!(hedged.contains(ANSWER) && hedged.len() > ANSWER.len() + 100);
        let list = degrade(PROMPT, ANSWER, Guard::EmptyList);
        assert!(list.contains("\n1. ") && list.contains("\n5. "));
        assert!(!list.contains("water") && !list.contains("stems"), "{list}");
        // Reproducible.
        for g in Guard::DEGRADATIONS {
            assert_eq!(degrade(PROMPT, ANSWER, g), degrade(PROMPT, ANSWER, g));
        }
    }

    #[test]
    fn first_sentences_stop_at_sentence_ends_not_decimals() {
        assert_eq!(
            first_sentence("Pi is 3.14 roughly. More."),
            "Pi is 3.14 roughly."
        );
        assert_eq!(first_sentence("No end here\nsecond line"), "No end here");
        assert_eq!(first_sentence("Why? Because."), "Why?");
    }

    #[test]
    fn rows_need_a_prompt_and_an_answer_and_may_carry_an_agreeing_one() {
        let input = "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"ignored\"}\n\
                     {\"prompt\": \"p2\", \"chosen\": \"c2\", \"agreeing\": \"a2\"}\n";
        let items: Vec<GuardItem> = read_items(input.as_bytes())
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(items[0].agreeing, None);
        assert_eq!(items[1].agreeing.as_deref(), Some("a2"));
        let bad = "{\"prompt\": \"p\", \"chosen\": \"c\"}\n{\"prompt\": \"p\", \"chosen\": \"\"}\n";
        let err = read_items(bad.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect_err("empty answer");
        assert_eq!((err.line, err.field.as_str()), (2, "chosen"));
    }
}
