//! Agent trajectories: OpenAI-style tool-call conversations checked against the JSON Schemas of
//! their tools; a faulty trajectory and its supplied correction make a preference pair.
//!
//! Input is JSONL, one trajectory per line:
//! `{"id"?, "tools": [OpenAI tool specs], "messages": [OpenAI chat messages], "correction"?}`.
//! `correction` replaces every turn after the prompt (the turns before the first assistant turn),
//! so it repeats any good steps the faulty trajectory took before its mistake.
//!
//! Checks, per tool call, in message order (calls of one message in their order):
//! - `unknown_tool`: the called name is not among the declared tools (an API hallucination);
//!   its arguments are not checked further.
//! - `invalid_arguments`: the `arguments` string is not JSON, or not a JSON object; also any
//!   schema violation other than the two below (`enum`, `minimum`, `additionalProperties`, …),
//!   with the validator's message.
//! - `argument_type`: a `type` violation of the tool's `parameters` schema.
//! - `missing_argument`: a `required` violation of the tool's `parameters` schema.
//! - `action_loop`: the same call (tool name and canonical arguments: keys sorted, whitespace
//!   dropped; the raw text when the arguments are not JSON) answered with an error of identical
//!   text three times in a row among that tool's calls. Calls of other tools in between do not
//!   break the streak (an agent alternating a failing call with something else is still
//!   looping); a call of the same tool that differs, succeeds or gets no answer does. One finding
//!   at the third call; a fourth identical failure adds none.
//!
//! A tool result (the `tool` message whose `tool_call_id` answers the call) is an error when its
//! content is a JSON object with an `error` key that is not `null`, `false` or `""`, or when its
//! text starts with the word "error" in any case (`Error: …`, `ERROR 404`, `error:`; not
//! `Errors: 0` or `errorless`).
//!
//! Schema errors come from the `jsonschema` crate with its defaults: the draft from `$schema`,
//! 2020-12 without one; `format` asserted only where the draft makes it an assertion (drafts 4-7),
//! an annotation under 2019-09 and 2020-12; no remote `$ref` (a schema that needs one fails to
//! compile, an input error). One call may yield several findings, ordered by kind. A tool without
//! `parameters` accepts any JSON object; each schema is compiled once per checked trajectory.
//!
//! A pair needs findings and a correction that re-checks clean (the prompt turns plus the
//! correction, against the same tools): chosen is the correction, rejected the faulty turns,
//! both rendered as a transcript; the raw messages and the tools ride along in the metadata so
//! the tool-call JSON survives export.

use jsonschema::{error::ValidationErrorKind, Validator};
use pairwise_core::{ChatMessage, PairRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    io::BufRead,
};

/// Identical failing calls in a row that make an action loop.
pub const LOOP_THRESHOLD: usize = 3;

/// Roles a message may have.
const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];

/// A tool the agent may call, declared as in the OpenAI API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: Function,
}

/// The function a [`Tool`] declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments object; absent: any object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// One call in an assistant message's `tool_calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Answered by the `tool` message with this `tool_call_id`.
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

/// The function a [`ToolCall`] calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// The arguments as a JSON-encoded string, as the model wrote them.
    pub arguments: String,
}

/// One chat message: `system`, `developer`, `user`, `assistant` (text and/or tool calls) or
/// `tool` (the result of one call). Fields other than these are dropped on reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One line of the input: the tools, the conversation, and optionally its correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    /// 1-based line of the input.
    #[serde(skip)]
    pub line: usize,
    /// `line N` when the input has none.
    #[serde(default)]
    pub id: String,
    pub tools: Vec<Tool>,
    pub messages: Vec<Message>,
    /// The turns that replace every message after the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Vec<Message>>,
}

fn function_kind() -> String {
    "function".to_string()
}

/// A bad input line: where (1-based line, field path such as `messages[2].tool_calls[0].id`,
/// empty for the whole line) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AgentInputError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for AgentInputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}: `{}`: {}", self.line, self.field, self.message)
        }
    }
}

/// A field path and what is wrong with it.
type Bad = (String, String);

fn bad(field: impl Into<String>, message: impl Into<String>) -> Bad {
    (field.into(), message.into())
}

/// Reads trajectory JSONL. Blank lines are skipped; every other line is checked for the shape
/// above (roles, tool-call ids unique and answered only after they are made, tool names
/// unique, a user turn before the first assistant turn, `parameters` compiling as a JSON
/// Schema, a non-empty correction with an assistant turn) and errors name the line and field.
pub fn read_trajectories<R: BufRead>(
    input: R,
) -> impl Iterator<Item = Result<Trajectory, AgentInputError>> {
    input.lines().enumerate().filter_map(|(i, line)| {
        let line_no = i + 1;
        let err = |(field, message): Bad| AgentInputError {
            line: line_no,
            field,
            message,
        };
        let text = match line {
            Ok(t) => t,
            Err(e) => return Some(Err(err(bad("", format!("cannot read: {e}"))))),
        };
        if text.trim().is_empty() {
            return None;
        }
        Some(parse_line(line_no, &text).map_err(err))
    })
}

fn parse_line(line: usize, text: &str) -> Result<Trajectory, Bad> {
    let value: Value = serde_json::from_str(text).map_err(|e| bad("", format!("not JSON: {e}")))?;
    validate_shape(&value)?;
    let mut trajectory: Trajectory =
        serde_json::from_value(value).map_err(|e| bad("", e.to_string()))?;
    trajectory.line = line;
    if trajectory.id.trim().is_empty() {
        trajectory.id = format!("line {line}");
    }
    Ok(trajectory)
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Bad> {
    value
        .as_object()
        .ok_or_else(|| bad(field, "must be a JSON object"))
}

/// A present, non-null member of an object.
fn member<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn required_string<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a str, Bad> {
    let field = join(path, key);
    match member(obj, key) {
        None => Err(bad(field, "is missing")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(bad(field, "is empty")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad(field, "must be a string")),
    }
}

fn optional_string(obj: &Map<String, Value>, path: &str, key: &str) -> Result<(), Bad> {
    match member(obj, key) {
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => Err(bad(join(path, key), "must be a string")),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], Bad> {
    match member(obj, key) {
        None => Err(bad(key, "is missing")),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(bad(key, "must be an array")),
    }
}

/// `type`, when present, must be `"function"`.
fn function_type(obj: &Map<String, Value>, path: &str) -> Result<(), Bad> {
    match member(obj, "type") {
        None => Ok(()),
        Some(Value::String(s)) if s == "function" => Ok(()),
        Some(_) => Err(bad(join(path, "type"), "must be \"function\"")),
    }
}

fn validate_shape(value: &Value) -> Result<(), Bad> {
    let top = object(value, "")?;
    optional_string(top, "", "id")?;
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, tool) in array(top, "tools")?.iter().enumerate() {
        let path = format!("tools[{i}]");
        let tool = object(tool, &path)?;
        function_type(tool, &path)?;
        let path = join(&path, "function");
        let function = match member(tool, "function") {
            None => return Err(bad(path, "is missing")),
            Some(f) => object(f, &path)?,
        };
        let name = required_string(function, &path, "name")?;
        if let Some(first) = names.insert(name, i) {
            return Err(bad(
                join(&path, "name"),
                format!("`{name}` is already declared by tools[{first}]"),
            ));
        }
        optional_string(function, &path, "description")?;
        if let Some(parameters) = member(function, "parameters") {
            jsonschema::validator_for(parameters).map_err(|e| {
                bad(
                    join(&path, "parameters"),
                    format!("is not a valid JSON Schema: {e}"),
                )
            })?;
        }
    }
    let messages = array(top, "messages")?;
    validate_messages(messages, "messages", &mut HashSet::new())?;
    let Some(first_assistant) = messages
        .iter()
        .position(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return Err(bad("messages", "has no assistant turn"));
    };
    let prompt = &messages[..first_assistant];
    if !prompt
        .iter()
        .any(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    {
        return Err(bad(
            "messages",
            "has no user turn before the first assistant turn",
        ));
    }
    if member(top, "correction").is_some() {
        let correction = array(top, "correction")?;
        if correction.is_empty() {
            return Err(bad("correction", "is empty"));
        }
        // The prompt holds no tool calls (it ends before the first assistant turn), so the
        // correction's ids start from scratch.
        validate_messages(correction, "correction", &mut HashSet::new())?;
        if !correction
            .iter()
            .any(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        {
            return Err(bad("correction", "has no assistant turn"));
        }
    }
    Ok(())
}

/// Checks each message; `made` collects the call ids seen so far in the sequence.
fn validate_messages<'a>(
    messages: &'a [Value],
    list: &str,
    made: &mut HashSet<&'a str>,
) -> Result<(), Bad> {
    for (i, message) in messages.iter().enumerate() {
        let path = format!("{list}[{i}]");
        let message = object(message, &path)?;
        let role = required_string(message, &path, "role")?;
        if !ROLES.contains(&role) {
            return Err(bad(
                join(&path, "role"),
                format!("`{role}` is not one of {}", ROLES.join(", ")),
            ));
        }
        optional_string(message, &path, "content")?;
        optional_string(message, &path, "name")?;
        if let Some(calls) = member(message, "tool_calls") {
            let field = join(&path, "tool_calls");
            if role != "assistant" {
                return Err(bad(field, "only assistant turns make tool calls"));
            }
            let calls = calls
                .as_array()
                .ok_or_else(|| bad(field.clone(), "must be an array"))?;
            for (j, call) in calls.iter().enumerate() {
                let path = format!("{field}[{j}]");
                let call = object(call, &path)?;
                let id = required_string(call, &path, "id")?;
                if !made.insert(id) {
                    return Err(bad(
                        join(&path, "id"),
                        format!("`{id}` is used by an earlier call"),
                    ));
                }
                function_type(call, &path)?;
                let path = join(&path, "function");
                let function = match member(call, "function") {
                    None => return Err(bad(path, "is missing")),
                    Some(f) => object(f, &path)?,
                };
                required_string(function, &path, "name")?;
                match member(function, "arguments") {
                    None => return Err(bad(join(&path, "arguments"), "is missing")),
                    Some(Value::String(_)) => {}
                    Some(_) => {
                        return Err(bad(
                            join(&path, "arguments"),
                            "must be a string (the JSON-encoded arguments)",
                        ))
                    }
                }
            }
        }
        if role == "tool" {
            let id = required_string(message, &path, "tool_call_id")?;
            if !made.contains(id) {
                return Err(bad(
                    join(&path, "tool_call_id"),
                    format!("`{id}` answers no earlier tool call"),
                ));
            }
        } else if member(message, "tool_call_id").is_some() {
            return Err(bad(
                join(&path, "tool_call_id"),
                "only tool turns answer a tool call",
            ));
        }
    }
    Ok(())
}

/// What a check found wrong, in serialized (snake_case) form `unknown_tool`, `argument_type`,
/// `missing_argument`, `invalid_arguments`, `action_loop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A call of a tool that was not declared (an API hallucination).
    UnknownTool,
    /// An argument of the wrong JSON type.
    ArgumentType,
    /// A required argument left out.
    MissingArgument,
    /// Arguments that are not a JSON object, or break another schema rule.
    InvalidArguments,
    /// The same call getting the same error three times in a row.
    ActionLoop,
}

impl FindingKind {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTool => "unknown_tool",
            Self::ArgumentType => "argument_type",
            Self::MissingArgument => "missing_argument",
            Self::InvalidArguments => "invalid_arguments",
            Self::ActionLoop => "action_loop",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Index in the checked messages of the assistant message that made the call.
    pub message_index: usize,
    pub call_id: Option<String>,
    /// The called tool's name.
    pub tool: String,
    /// What is wrong, for a person.
    pub detail: String,
}

/// The tools of one trajectory, their schemas compiled once.
struct Toolbox<'t> {
    /// Declared names in declaration order, for messages.
    names: Vec<&'t str>,
    /// `None`: no `parameters` (or a schema that does not compile, which only a trajectory not
    /// read by [`read_trajectories`] can have): any object is accepted.
    validators: HashMap<&'t str, Option<Validator>>,
}

impl<'t> Toolbox<'t> {
    fn new(tools: &'t [Tool]) -> Self {
        let names = tools.iter().map(|t| t.function.name.as_str()).collect();
        let validators = tools
            .iter()
            .map(|t| {
                let validator = t
                    .function
                    .parameters
                    .as_ref()
                    .and_then(|p| jsonschema::validator_for(p).ok());
                (t.function.name.as_str(), validator)
            })
            .collect();
        Self { names, validators }
    }

    fn check(&self, messages: &[Message]) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut streaks: HashMap<&str, Streak> = HashMap::new();
        for (index, message) in messages.iter().enumerate() {
            for call in &message.tool_calls {
                let name = call.function.name.as_str();
                let finding = |kind, detail: String| Finding {
                    kind,
                    message_index: index,
                    call_id: Some(call.id.clone()),
                    tool: name.to_string(),
                    detail,
                };
                let raw = call.function.arguments.trim();
                let parsed: Result<Value, _> = serde_json::from_str(raw);
                match self.validators.get(name) {
                    None => findings.push(finding(
                        FindingKind::UnknownTool,
                        format!(
                            "`{name}` is not a declared tool (declared: {})",
                            if self.names.is_empty() {
                                "none".to_string()
                            } else {
                                self.names.join(", ")
                            }
                        ),
                    )),
                    Some(validator) => {
                        let mut found: Vec<(FindingKind, String)> = match &parsed {
                            Err(e) => vec![(
                                FindingKind::InvalidArguments,
                                format!("arguments are not JSON: {e}"),
                            )],
                            Ok(arguments @ Value::Object(_)) => validator
                                .as_ref()
                                .map(|v| schema_findings(v, arguments))
                                .unwrap_or_default(),
                            Ok(other) => vec![(
                                FindingKind::InvalidArguments,
                                format!(
                                    "arguments must be a JSON object, got {}",
                                    json_type(other)
                                ),
                            )],
                        };
                        found.sort_by_key(|(kind, _)| *kind);
                        findings.extend(found.into_iter().map(|(k, d)| finding(k, d)));
                    }
                }
                let key = match &parsed {
                    Ok(v) => canonical(v).to_string(),
                    Err(_) => raw.to_string(),
                };
                match result_of(messages, index, &call.id).and_then(error_text) {
                    Some(error) => {
                        let streak = streaks.entry(name).or_default();
                        if streak.arguments == key && streak.error == error {
                            streak.count += 1;
                        } else {
                            *streak = Streak {
                                arguments: key,
                                error,
                                count: 1,
                            };
                        }
                        if streak.count == LOOP_THRESHOLD {
                            findings.push(finding(
                                FindingKind::ActionLoop,
                                format!(
                                    "`{name}` called {LOOP_THRESHOLD} times in a row with the same \
                                     arguments {}, each answered with the same error: {}",
                                    clip(&streak.arguments),
                                    clip(&streak.error)
                                ),
                            ));
                        }
                    }
                    None => {
                        streaks.remove(name);
                    }
                }
            }
        }
        findings
    }
}

/// The last run of failing identical calls of one tool.
#[derive(Default)]
struct Streak {
    arguments: String,
    error: String,
    count: usize,
}

/// Classifies the schema violations of one arguments object.
fn schema_findings(validator: &Validator, arguments: &Value) -> Vec<(FindingKind, String)> {
    validator
        .iter_errors(arguments)
        .map(|error| {
            let at = argument_path(error.instance_path().as_str());
            match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let property = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_string);
                    let name = if at.is_empty() {
                        property
                    } else {
                        format!("{at}.{property}")
                    };
                    (
                        FindingKind::MissingArgument,
                        format!("missing required argument `{name}`"),
                    )
                }
                ValidationErrorKind::Type { .. } => (
                    FindingKind::ArgumentType,
                    with_path(&at, &error.to_string()),
                ),
                _ => (
                    FindingKind::InvalidArguments,
                    with_path(&at, &error.to_string()),
                ),
            }
        })
        .collect()
}

fn with_path(at: &str, message: &str) -> String {
    if at.is_empty() {
        format!("arguments: {message}")
    } else {
        format!("argument `{at}`: {message}")
    }
}

/// A JSON pointer into the arguments as `a.b[0].c`.
fn argument_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value with every object's keys sorted, for comparing calls.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// At most 200 characters, for details.
fn clip(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The content of the first `tool` message after `index` that answers `id`.
fn result_of<'m>(messages: &'m [Message], index: usize, id: &str) -> Option<&'m str> {
    messages
        .iter()
        .skip(index + 1)
        .find(|m| m.role == "tool" && m.tool_call_id.as_deref() == Some(id))
        .map(|m| m.content.as_deref().unwrap_or(""))
}

/// The trimmed text of a tool result that is an error.
fn error_text(content: &str) -> Option<String> {
    is_error_result(content).then(|| content.trim().to_string())
}

/// Whether a tool result reports an error: a JSON object with an `error` key that is not
/// `null`, `false` or `""`, or text starting with the word "error" in any case.
pub fn is_error_result(content: &str) -> bool {
    let text = content.trim();
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        return match map.get("error") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => true,
        };
    }
    let Some(head) = text.get(..5) else {
        return false;
    };
    head.eq_ignore_ascii_case("error")
        && !text[5..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Checks every tool call of the trajectory's messages (not its correction); findings come in
/// message order.
pub fn check(trajectory: &Trajectory) -> Vec<Finding> {
    Toolbox::new(&trajectory.tools).check(&trajectory.messages)
}

/// The first finding's kind, or `clean`.
pub fn verdict(findings: &[Finding]) -> &'static str {
    findings.first().map_or("clean", |f| f.kind.as_str())
}

/// Index (in the checked messages) of the message holding the first finding.
pub fn first_wrong_step(findings: &[Finding]) -> Option<usize> {
    findings.iter().map(|f| f.message_index).min()
}

/// Number of prompt turns: those before the first assistant message.
pub fn prompt_len(messages: &[Message]) -> usize {
    messages
        .iter()
        .position(|m| m.role == "assistant")
        .unwrap_or(messages.len())
}

/// The trajectory with its correction in place of the turns after the prompt, if it has one.
pub fn corrected_messages(trajectory: &Trajectory) -> Option<Vec<Message>> {
    let correction = trajectory.correction.as_ref()?;
    let prompt = prompt_len(&trajectory.messages);
    let mut messages = trajectory.messages[..prompt].to_vec();
    messages.extend(correction.iter().cloned());
    Some(messages)
}

/// A message as a prompt turn: its text, then its tool calls as compact JSON.
pub fn to_chat_message(message: &Message) -> ChatMessage {
    let text = message.content.clone().unwrap_or_default();
    let content = if message.tool_calls.is_empty() {
        text
    } else {
        let calls = serde_json::to_string(&message.tool_calls).unwrap_or_default();
        if text.trim().is_empty() {
            calls
        } else {
            format!("{text}\n{calls}")
        }
    };
    ChatMessage {
        role: message.role.clone(),
        content,
    }
}

/// Turns as a transcript, one block per message separated by a blank line: `role: text`, then
/// one `call name(arguments)` line per tool call; tool results as `tool: result`.
pub fn render(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| {
            let text = m.content.as_deref().unwrap_or("").trim();
            let mut lines = Vec::new();
            if !text.is_empty() || m.tool_calls.is_empty() {
                lines.push(format!("{}: {text}", m.role).trim_end().to_string());
            }
            for call in &m.tool_calls {
                lines.push(format!(
                    "call {}({})",
                    call.function.name,
                    call.function.arguments.trim()
                ));
            }
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The pair of a trajectory: `Ok(None)` when it is clean (nothing to learn) or has findings but
/// no correction; `Err` when the correction itself has findings (the first one named) or the
/// trajectory has no prompt.
pub fn build(trajectory: &Trajectory) -> Result<Option<PairRecord>, String> {
    let toolbox = Toolbox::new(&trajectory.tools);
    let findings = toolbox.check(&trajectory.messages);
    if findings.is_empty() {
        return Ok(None);
    }
    let Some(corrected) = corrected_messages(trajectory) else {
        return Ok(None);
    };
    let prompt = prompt_len(&trajectory.messages);
    if prompt == 0 {
        return Err("no turns before the first assistant turn to use as the prompt".to_string());
    }
    let correction = &corrected[prompt..];
    if !correction.iter().any(|m| m.role == "assistant") {
        return Err("the correction has no assistant turn".to_string());
    }
    if let Some(f) = toolbox.check(&corrected).first() {
        return Err(format!(
            "the correction is not clean: {} at correction[{}] (`{}`): {}",
            f.kind,
            f.message_index.saturating_sub(prompt),
            f.tool,
            f.detail
        ));
    }
    let faulty = &trajectory.messages[prompt..];
    let mut metadata = Map::new();
    metadata.insert("builder".into(), json!("agent"));
    metadata.insert("verdict".into(), json!(verdict(&findings)));
    metadata.insert("findings".into(), to_json(&findings)?);
    metadata.insert(
        "first_wrong_step".into(),
        json!(first_wrong_step(&findings)),
    );
    metadata.insert("trajectory_id".into(), json!(trajectory.id));
    metadata.insert("tools".into(), to_json(&trajectory.tools)?);
    metadata.insert("chosen_messages".into(), to_json(correction)?);
    metadata.insert("rejected_messages".into(), to_json(faulty)?);
    Ok(Some(PairRecord {
        prompt: trajectory.messages[..prompt]
            .iter()
            .map(to_chat_message)
            .collect(),
        chosen: render(correction),
        rejected: render(faulty),
        score_chosen: None,
        score_rejected: None,
        metadata,
    }))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// Counts of a build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub trajectories: usize,
    pub pairs: usize,
    /// Trajectories per verdict (`clean` or a finding kind).
    pub by_verdict: BTreeMap<String, usize>,
    /// Faulty trajectories without a correction.
    pub uncorrected: usize,
    /// Corrections that did not re-check clean.
    pub corrections_rejected: usize,
    /// Corrections asked of a generator (when one was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<super::GeneratedCounts>,
}

impl AgentSummary {
    /// Counts one trajectory from its [`check`] findings and its [`build`] outcome.
    pub fn add(&mut self, findings: &[Finding], outcome: &Result<Option<PairRecord>, String>) {
        self.trajectories += 1;
        *self
            .by_verdict
            .entry(verdict(findings).to_string())
            .or_default() += 1;
        match outcome {
            Ok(Some(_)) => self.pairs += 1,
            Ok(None) if !findings.is_empty() => self.uncorrected += 1,
            Ok(None) => {}
            Err(_) => self.corrections_rejected += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/agent/trajectories.jsonl"
    );

    fn fixture() -> Vec<Trajectory> {
        let file = std::fs::File::open(FIXTURE).unwrap();
        read_trajectories(std::io::BufReader::new(file))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn read_one(line: &str) -> Result<Trajectory, AgentInputError> {
        read_trajectories(line.as_bytes()).next().unwrap()
    }

    fn by_id<'a>(all: &'a [Trajectory], id: &str) -> &'a Trajectory {
        all.iter().find(|t| t.id == id).unwrap()
    }

    /// id, verdict, first wrong step, what build gives: a pair, nothing, or a rejection.
    const EXPECTED: [(&str, &str, Option<usize>, &str); 10] = [
        ("weather-clean", "clean", None, "none"),
        ("weather-unknown-tool", "unknown_tool", Some(2), "pair"),
        ("calendar-type-mismatch", "argument_type", Some(4), "pair"),
        (
            "search-missing-argument",
            "missing_argument",
            Some(1),
            "pair",
        ),
        ("sql-invalid-json", "invalid_arguments", Some(2), "pair"),
        ("sql-action-loop", "action_loop", Some(6), "pair"),
        (
            "weather-enum-violation",
            "invalid_arguments",
            Some(1),
            "pair",
        ),
        ("calendar-uncorrected", "missing_argument", Some(2), "none"),
        ("weather-parallel-clean", "clean", None, "none"),
        (
            "search-bad-correction",
            "argument_type",
            Some(1),
            "rejected",
        ),
    ];

    #[test]
    fn fixture_verdicts_and_first_wrong_steps() {
        let all = fixture();
        assert_eq!(all.len(), EXPECTED.len());
        for (id, expected_verdict, step, _) in EXPECTED {
            let findings = check(by_id(&all, id));
            assert_eq!(verdict(&findings), expected_verdict, "{id}: {findings:#?}");
            assert_eq!(first_wrong_step(&findings), step, "{id}");
        }
    }

    #[test]
    fn each_error_type_is_flagged_with_its_detail() {
        let all = fixture();
        let only = |id: &str| {
            let findings = check(by_id(&all, id));
            assert_eq!(findings.len(), 1, "{id}: {findings:#?}");
            findings.into_iter().next().unwrap()
        };
        let f = only("weather-unknown-tool");
        assert_eq!(
            (f.kind, f.tool.as_str()),
            (FindingKind::UnknownTool, "get_forecast")
        );
        assert_eq!(f.call_id.as_deref(), Some("call_o1"));
        assert!(f.detail.contains("declared: get_weather"), "{}", f.detail);

        let f = only("calendar-type-mismatch");
        assert_eq!(f.kind, FindingKind::ArgumentType);
        assert!(
            f.detail.starts_with("argument `duration_minutes`: \"30\""),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("integer"), "{}", f.detail);

        let f = only("search-missing-argument");
        assert_eq!(f.kind, FindingKind::MissingArgument);
        assert_eq!(f.detail, "missing required argument `query`");

        let f = only("sql-invalid-json");
        assert_eq!(f.kind, FindingKind::InvalidArguments);
        assert!(
            f.detail.starts_with("arguments are not JSON"),
            "{}",
            f.detail
        );

        let f = only("weather-enum-violation");
        assert_eq!(f.kind, FindingKind::InvalidArguments);
        assert!(
            f.detail.contains("\"kelvin\" is not one of"),
            "{}",
            f.detail
        );

        // Key order differs in the second call: the canonical arguments still match.
        let f = only("sql-action-loop");
        assert_eq!((f.kind, f.message_index), (FindingKind::ActionLoop, 6));
        assert_eq!(f.call_id.as_deref(), Some("call_l3"));
        assert!(f.detail.contains("does not exist"), "{}", f.detail);

        let f = only("calendar-uncorrected");
        assert_eq!(f.kind, FindingKind::MissingArgument);
        assert_eq!(f.detail, "missing required argument `title`");

        let findings = check(by_id(&all, "search-bad-correction"));
        assert_eq!(
            findings[0].detail,
            "argument `max_results`: \"10\" is not of type \"integer\""
        );
    }

    #[test]
    fn corrected_trajectories_build_pairs_whose_chosen_rechecks_clean() {
        let all = fixture();
        let mut summary = AgentSummary::default();
        for (id, expected_verdict, step, outcome) in EXPECTED {
            let trajectory = by_id(&all, id);
            let findings = check(trajectory);
            let built = build(trajectory);
            summary.add(&findings, &built);
            match outcome {
                "none" => assert_eq!(built, Ok(None), "{id}"),
                "rejected" => {
                    let e = built.unwrap_err();
                    assert!(e.contains("unknown_tool at correction[0]"), "{id}: {e}");
                }
                _ => {
                    let pair = built.unwrap().unwrap();
                    let meta = &pair.metadata;
                    assert_eq!(meta["builder"], "agent");
                    assert_eq!(meta["verdict"], expected_verdict);
                    assert_eq!(meta["first_wrong_step"], json!(step));
                    assert_eq!(meta["trajectory_id"], id);
                    assert_eq!(pair.prompt.last().unwrap().role, "user", "{id}");
                    assert_eq!(
                        serde_json::from_value::<Vec<Finding>>(meta["findings"].clone()).unwrap(),
                        findings
                    );
                    // The raw messages survive: the chosen turns re-check clean against the
                    // stored tools, the rejected ones give the same verdict again.
                    let recheck = |key: &str| {
                        let tools: Vec<Tool> =
                            serde_json::from_value(meta["tools"].clone()).unwrap();
                        let turns: Vec<Message> =
                            serde_json::from_value(meta[key].clone()).unwrap();
                        let prompt = prompt_len(&trajectory.messages);
                        let mut messages = trajectory.messages[..prompt].to_vec();
                        messages.extend(turns);
                        check(&Trajectory {
                            line: 0,
                            id: id.to_string(),
                            tools,
                            messages,
                            correction: None,
                        })
                    };
                    assert_eq!(recheck("chosen_messages"), vec![], "{id}");
                    assert_eq!(verdict(&recheck("rejected_messages")), expected_verdict);
                    assert!(pair.chosen.contains("call "), "{id}: {}", pair.chosen);
                    assert!(pair.rejected.contains("call "), "{id}: {}", pair.rejected);
                    assert_ne!(pair.chosen, pair.rejected);
                }
            }
        }
        let by_verdict = |v: &str| summary.by_verdict.get(v).copied().unwrap_or(0);
        assert_eq!(summary.trajectories, 10);
        assert_eq!(summary.pairs, 6);
        assert_eq!(summary.uncorrected, 1);
        assert_eq!(summary.corrections_rejected, 1);
        assert_eq!(
            (
                by_verdict("clean"),
                by_verdict("invalid_arguments"),
                by_verdict("action_loop")
            ),
            (2, 2, 1)
        );
        let kinds: HashSet<String> = summary.by_verdict.keys().cloned().collect();
        for kind in [
            "unknown_tool",
            "argument_type",
            "missing_argument",
            "invalid_arguments",
            "action_loop",
        ] {
            assert!(kinds.contains(kind), "no fixture flags {kind}");
        }
    }

    #[test]
    fn pairs_render_transcripts_and_flatten_the_prompt() {
        let all = fixture();
        let pair = build(by_id(&all, "calendar-type-mismatch"))
            .unwrap()
            .unwrap();
        assert_eq!(pair.prompt.len(), 2);
        assert_eq!(pair.prompt[0].role, "system");
        assert!(pair
            .rejected
            .starts_with("call list_events({\"date\": \"2024-06-12\"})\n\ntool: [{"));
        assert!(pair.rejected.contains(
            "call create_event({\"title\": \"Sync with Dana\", \"start\": \"2024-06-12T10:00:00\", \"duration_minutes\": \"30\""
        ));
        assert!(pair
            .rejected
            .ends_with("assistant: I couldn't create the event, sorry."));
        assert!(pair.chosen.contains(
            "assistant: You're free at 10:00 tomorrow (only the 09:00 standup). Booking it now.\ncall create_event("
        ));
        assert!(pair
            .chosen
            .contains("tool: {\"id\": \"evt_812\", \"status\": \"confirmed\"}"));

        let message = Message {
            role: "assistant".into(),
            content: Some("Checking.".into()),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                kind: "function".into(),
                function: FunctionCall {
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Oslo\"}".into(),
                },
            }],
            tool_call_id: None,
            name: None,
        };
        assert_eq!(
            to_chat_message(&message).content,
            "Checking.\n[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]"
        );
    }

    #[test]
    fn trajectories_round_trip_as_jsonl() {
        for trajectory in fixture() {
            let line = serde_json::to_string(&trajectory).unwrap();
            let mut back = read_one(&line).unwrap();
            back.line = trajectory.line;
            assert_eq!(back, trajectory);
        }
    }

    const WEATHER_TOOL: &str = r#"{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"],"additionalProperties":false}}}"#;

    fn line_with(tools: &str, messages: &str) -> String {
        format!(r#"{{"tools":[{tools}],"messages":[{{"role":"user","content":"hi"}},{messages}]}}"#)
    }

    fn calls(args: &[&str]) -> Trajectory {
        let mut turns = Vec::new();
        for (i, a) in args.iter().enumerate() {
            turns.push(format!(
                r#"{{"role":"assistant","content":null,"tool_calls":[{{"id":"c{i}","type":"function","function":{{"name":"get_weather","arguments":{}}}}}]}}"#,
                serde_json::to_string(a).unwrap()
            ));
            turns.push(format!(
                r#"{{"role":"tool","tool_call_id":"c{i}","content":"ok"}}"#
            ));
        }
        read_one(&line_with(WEATHER_TOOL, &turns.join(","))).unwrap()
    }

    #[test]
    fn arguments_are_classified_by_schema_error() {
        let kinds = |args: &str| -> Vec<FindingKind> {
            check(&calls(&[args])).into_iter().map(|f| f.kind).collect()
        };
        assert_eq!(kinds(r#"{"city":"Oslo","days":2}"#), vec![]);
        assert_eq!(kinds(r#"{"days":2}"#), vec![FindingKind::MissingArgument]);
        assert_eq!(kinds(r#"{"city":7}"#), vec![FindingKind::ArgumentType]);
        assert_eq!(
            kinds(r#"{"days":"2"}"#),
            vec![FindingKind::ArgumentType, FindingKind::MissingArgument]
        );
        assert_eq!(
            kinds(r#"{"city":"Oslo","when":"now"}"#),
            vec![FindingKind::InvalidArguments]
        );
        assert_eq!(kinds(r#"["Oslo"]"#), vec![FindingKind::InvalidArguments]);
        assert_eq!(
            kinds(r#"{"city":"Oslo""#),
            vec![FindingKind::InvalidArguments]
        );
        assert_eq!(kinds(""), vec![FindingKind::InvalidArguments]);
        let f = &check(&calls(&[r#"{"city":"Oslo","when":"now"}"#]))[0];
        assert!(
            f.detail.contains("Additional properties are not allowed"),
            "{}",
            f.detail
        );
        let f = &check(&calls(&["42"]))[0];
        assert_eq!(f.detail, "arguments must be a JSON object, got a number");
    }

    /// Calls of `get_weather` (and `search` where the arguments are `S`), each answered with the
    /// given result.
    fn looped(turns: &[(&str, &str)]) -> Vec<Finding> {
        let tools = format!(
            r#"{WEATHER_TOOL},{{"type":"function","function":{{"name":"search","parameters":{{"type":"object"}}}}}}"#
        );
        let mut messages = Vec::new();
        for (i, (args, result)) in turns.iter().enumerate() {
            let (name, args) = match args.strip_prefix("S") {
                Some(rest) => ("search", rest),
                None => ("get_weather", *args),
            };
            messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": format!("c{i}"), "type": "function", "function": {"name": name, "arguments": args}}
            ]}));
            messages
                .push(json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": result}));
        }
        let messages: Vec<String> = messages.iter().map(Value::to_string).collect();
        check(&read_one(&line_with(&tools, &messages.join(","))).unwrap())
    }

    #[test]
    fn action_loops_need_three_identical_failures_in_a_row_of_one_tool() {
        const A: &str = r#"{"city":"Atlantis"}"#;
        const B: &str = r#"{ "city" : "Atlantis" }"#;
        const E: &str = "Error: city not found";
        const NO_LOOP: Vec<usize> = Vec::new();
        let loops = |turns: &[(&str, &str)]| -> Vec<usize> {
            looped(turns)
                .into_iter()
                .filter(|f| f.kind == FindingKind::ActionLoop)
                .map(|f| f.message_index)
                .collect()
        };
        // Whitespace in the arguments does not matter; the third call is flagged, once.
        assert_eq!(loops(&[(A, E), (B, E), (A, E)]), vec![5]);
        assert_eq!(loops(&[(A, E), (A, E), (A, E), (A, E)]), vec![5]);
        assert_eq!(
            loops(&[(A, E), (A, E), (A, E), (A, E), (A, E), (A, E)]),
            vec![5]
        );
        // Another tool's calls in between do not break the streak.
        assert_eq!(
            loops(&[(A, E), ("S{}", "3 hits"), (A, E), ("S{}", E), (A, E)]),
            vec![9]
        );
        // A success, another error text or other arguments do.
        assert_eq!(
            loops(&[(A, E), (A, "{\"temp\":3}"), (A, E), (A, E)]),
            NO_LOOP
        );
        assert_eq!(loops(&[(A, E), (A, "Error: timeout"), (A, E)]), NO_LOOP);
        assert_eq!(loops(&[(A, E), (r#"{"city":"Oslo"}"#, E), (A, E)]), NO_LOOP);
        // Errors must be errors.
        assert_eq!(loops(&[(A, "no"), (A, "no"), (A, "no")]), NO_LOOP);
        let json_error = r#"{"error": {"code": 404}}"#;
        assert_eq!(
            loops(&[(A, json_error), (A, json_error), (A, json_error)]),
            vec![5]
        );
    }

    #[test]
    fn error_results_are_recognised() {
        for yes in [
            "Error: city not found",
            "  error: bad input",
            "ERROR 404",
            "Error",
            "error - timeout",
            r#"{"error": "not found"}"#,
            r#"{"error": {"code": 1}, "data": null}"#,
            r#"{"error": true}"#,
        ] {
            assert!(is_error_result(yes), "{yes}");
        }
        for no in [
            "Errors: 0",
            "errorless run",
            "",
            "ok",
            "The error rate is 2%",
            r#"{"error": null, "data": 1}"#,
            r#"{"error": ""}"#,
            r#"{"error": false}"#,
            r#"["error"]"#,
            "érror",
        ] {
            assert!(!is_error_result(no), "{no}");
        }
    }

    #[test]
    fn bad_input_lines_name_the_line_and_field() {
        let good = line_with(WEATHER_TOOL, r#"{"role":"assistant","content":"Hello"}"#);
        let missing_name = line_with(
            WEATHER_TOOL,
            r#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]}"#,
        );
        let input = format!("{good}\n\n{missing_name}\n   \n{good}\n");
        let results: Vec<_> = read_trajectories(input.as_bytes()).collect();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].as_ref().unwrap().id, "line 1");
        assert_eq!(results[2].as_ref().unwrap().line, 5);
        assert_eq!(
            results[1].as_ref().unwrap_err().to_string(),
            "line 3: `messages[1].tool_calls[0].function.name`: is missing"
        );

        let error = |line: &str| read_one(line).unwrap_err();
        let field = |line: &str| error(line).field;
        let e = error("{\"tools\": [");
        assert_eq!((e.line, e.field.as_str()), (1, ""));
        assert!(e.to_string().starts_with("line 1: not JSON: "), "{e}");
        assert_eq!(field("[]"), "");
        assert_eq!(field(r#"{"messages":[]}"#), "tools");
        assert_eq!(field(r#"{"tools":[]}"#), "messages");
        assert_eq!(field(r#"{"id":3,"tools":[],"messages":[]}"#), "id");
        let bad_schema =
            r#"{"type":"function","function":{"name":"f","parameters":{"type":"strin"}}}"#;
        let e = error(&line_with(
            bad_schema,
            r#"{"role":"assistant","content":"x"}"#,
        ));
        assert_eq!(e.field, "tools[0].function.parameters");
        assert!(e.message.starts_with("is not a valid JSON Schema"), "{e}");
        let twice = format!("{WEATHER_TOOL},{WEATHER_TOOL}");
        assert_eq!(
            field(&line_with(&twice, r#"{"role":"assistant","content":"x"}"#)),
            "tools[1].function.name"
        );
        assert_eq!(
            field(&line_with(
                r#"{"type":"retrieval"}"#,
                r#"{"role":"assistant","content":"x"}"#
            )),
            "tools[0].type"
        );
        let field_of = |messages: &str| field(&line_with(WEATHER_TOOL, messages));
        assert_eq!(
            field_of(r#"{"role":"robot","content":"x"}"#),
            "messages[1].role"
        );
        assert_eq!(
            field_of(r#"{"role":"assistant","content":["x"]}"#),
            "messages[1].content"
        );
        assert_eq!(
            field_of(
                r#"{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]}"#
            ),
            "messages[1].tool_calls[0].function.arguments"
        );
        assert_eq!(
            field_of(
                r#"{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}},{"id":"c","function":{"name":"f","arguments":"{}"}}]}"#
            ),
            "messages[1].tool_calls[1].id"
        );
        assert_eq!(
            field_of(
                r#"{"role":"assistant","content":"x"},{"role":"tool","tool_call_id":"nope","content":"x"}"#
            ),
            "messages[2].tool_call_id"
        );
        assert_eq!(
            field_of(r#"{"role":"user","content":"x","tool_calls":[]}"#),
            "messages[1].tool_calls"
        );
        assert_eq!(field_of(r#"{"role":"user","content":"again"}"#), "messages");
        let no_user = r#"{"tools":[],"messages":[{"role":"assistant","content":"x"}]}"#;
        assert_eq!(
            error(no_user).to_string(),
            "line 1: `messages`: has no user turn before the first assistant turn"
        );
        let correction = |c: &str| {
            let mut v: Value = serde_json::from_str(&good).unwrap();
            v["correction"] = serde_json::from_str(c).unwrap();
            error(&v.to_string())
        };
        assert_eq!(correction("[]").field, "correction");
        assert_eq!(correction(r#"{"role":"assistant"}"#).field, "correction");
        assert_eq!(
            correction(r#"[{"role":"assistant","content":1}]"#).field,
            "correction[0].content"
        );
        assert_eq!(
            correction(r#"[{"role":"tool","content":"x"}]"#).field,
            "correction[0].tool_call_id"
        );
        assert_eq!(
            correction(r#"[{"role":"user","content":"x"}]"#).to_string(),
            "line 1: `correction`: has no assistant turn"
        );
    }
}
