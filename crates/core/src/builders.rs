//! Domain builders: negatives made on purpose where judged preference alone teaches shortcuts —
//! math errors injected into reference solutions (with step labels for process supervision),
//! code mutations checked by execution, and tool-call trajectories checked against their
//! schemas. Pure functions; running code and storing pairs live in the pipeline.

pub mod arith;
pub mod code;
pub mod guards;
pub mod math;

use std::io::BufRead;

/// A bad line of a builder's input: where (1-based line, field) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: `{field}`: {message}")]
pub struct InputError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// The JSON object of each non-blank line with its 1-based line number; a line that cannot be
/// read or is not JSON is an error naming the line.
pub(crate) fn json_lines<R: BufRead>(
    input: R,
) -> impl Iterator<Item = Result<(usize, serde_json::Value), InputError>> {
    input.lines().enumerate().filter_map(|(i, line)| {
        let err = |message: String| InputError {
            line: i + 1,
            field: "line".into(),
            message,
        };
        match line {
            Err(e) => Some(Err(err(format!("cannot read: {e}")))),
            Ok(t) if t.trim().is_empty() => None,
            Ok(t) => Some(
                serde_json::from_str(&t)
                    .map(|v| (i + 1, v))
                    .map_err(|e| err(format!("not JSON: {e}"))),
            ),
        }
    })
}
