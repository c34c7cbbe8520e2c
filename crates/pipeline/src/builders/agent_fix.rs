//! Corrections made by a generator for faulty trajectories that came without one: the model
//! (an OpenAI-compatible server) sees the tools, the conversation up to the faulty call and what
//! was wrong with it, and answers with one tool call under a JSON Schema built from the tools
//! (`anyOf` one object per tool: its name as a constant, its own `parameters` as the
//! arguments), so a grammar-constrained server cannot name an unknown tool or mistype an
//! argument. The call replaces the faulty turn and everything after it, and the corrected
//! trajectory is re-checked like a supplied correction before it may become chosen.

use super::agent::{
    check, first_wrong_step, prompt_len, FunctionCall, Message, ToolCall, Trajectory,
};
use pairwise_inference::{chat_template::Message as ChatMessage, DecodingParams, RemoteModel};
use serde_json::{json, Value};

/// The schema of one corrected call for `trajectory`'s tools.
pub fn call_schema(trajectory: &Trajectory) -> Value {
    let options: Vec<Value> = trajectory
        .tools
        .iter()
        .map(|t| {
            let parameters = t
                .function
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object"}));
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": [t.function.name]},
                    "arguments": parameters,
                },
                "required": ["name", "arguments"],
            })
        })
        .collect();
    json!({"anyOf": options})
}

/// The conversation the generator sees.
fn context(trajectory: &Trajectory, upto: usize, problem: &str) -> Vec<ChatMessage> {
    let tools = serde_json::to_string(&trajectory.tools).unwrap_or_default();
    let mut out = vec![ChatMessage::new(
        "system",
        format!(
            "You are an assistant that calls tools. The available tools, as JSON Schema:\n{tools}\n\
             Answer with one tool call as JSON: {{\"name\": tool name, \"arguments\": {{...}}}}."
        ),
    )];
    for m in &trajectory.messages[..upto] {
        let mut text = m.content.clone().unwrap_or_default();
        for call in &m.tool_calls {
            text.push_str(&format!(
                "\ncall {}({})",
                call.function.name, call.function.arguments
            ));
        }
        // Chat templates know user, assistant and system; tool results are shown as user text.
        let role = match m.role.as_str() {
            "assistant" | "system" => m.role.clone(),
            "tool" => "user".into(),
            _ => "user".into(),
        };
        let text = if m.role == "tool" {
            format!("Tool result: {text}")
        } else {
            text
        };
        out.push(ChatMessage::new(role, text));
    }
    out.push(ChatMessage::new(
        "user",
        format!("Your next tool call was rejected: {problem}. Reply with the corrected call."),
    ));
    out
}

/// What became of one request for a correction.
#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    /// A correction (the turns after the prompt) that re-checks clean.
    Clean(Vec<Message>),
    /// The model's call still has a finding (named) or was not a call.
    Refused(String),
}

/// Asks `model` for a correction of `trajectory` (which has findings and no correction).
pub async fn generate_correction(
    model: &RemoteModel,
    trajectory: &Trajectory,
) -> Result<Generated, pairwise_inference::RemoteError> {
    let findings = check(trajectory);
    let (Some(first), Some(finding)) = (first_wrong_step(&findings), findings.first()) else {
        return Ok(Generated::Refused("the trajectory has no finding".into()));
    };
    let problem = format!("{} on `{}`: {}", finding.kind, finding.tool, finding.detail);
    let messages = context(trajectory, first, &problem);
    let params = DecodingParams::greedy(256);
    let Some(completion) = model
        .chat_json(&messages, &params, "tool_call", &call_schema(trajectory))
        .await?
    else {
        return Ok(Generated::Refused("the server returned no answer".into()));
    };
    let text = completion
        .choices
        .first()
        .map(|c| c.text.trim().to_string())
        .unwrap_or_default();
    let call: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Ok(Generated::Refused(format!("not a JSON call ({e}): {text}"))),
    };
    let (Some(name), Some(arguments)) = (
        call.get("name").and_then(Value::as_str),
        call.get("arguments"),
    ) else {
        return Ok(Generated::Refused(format!("no name and arguments: {text}")));
    };
    let fix = Message {
        role: "assistant".into(),
        content: None,
        tool_calls: vec![ToolCall {
            id: "call_corrected".into(),
            kind: "function".into(),
            function: FunctionCall {
                name: name.to_string(),
                arguments: arguments.to_string(),
            },
        }],
        tool_call_id: None,
        name: None,
    };
    let prompt = prompt_len(&trajectory.messages);
    let mut correction: Vec<Message> = trajectory.messages[prompt..first].to_vec();
    correction.push(fix);
    let mut corrected = trajectory.messages[..prompt].to_vec();
    corrected.extend(correction.iter().cloned());
    let recheck = Trajectory {
        messages: corrected,
        correction: None,
        ..trajectory.clone()
    };
    Ok(match check(&recheck).first() {
        None => Generated::Clean(correction),
        Some(f) => Generated::Refused(format!("{} on `{}`: {}", f.kind, f.tool, f.detail)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_schema_offers_each_tool_with_its_own_parameters() {
        let t: Trajectory = serde_json::from_value(json!({
            "id": "t",
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                {"type": "function", "function": {"name": "now"}}
            ],
            "messages": [{"role": "user", "content": "weather?"}]
        }))
        .expect("trajectory");
        let schema = call_schema(&t);
        let options = schema["anyOf"].as_array().expect("anyOf");
        assert_eq!(options.len(), 2);
        assert_eq!(options[0]["properties"]["name"]["enum"][0], "get_weather");
        assert_eq!(options[0]["properties"]["arguments"]["required"][0], "city");
        assert_eq!(
            options[1]["properties"]["arguments"],
            json!({"type": "object"})
        );
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        assert!(validator.is_valid(&json!({"name": "get_weather", "arguments": {"city": "Oslo"}})));
        assert!(!validator.is_valid(&json!({"name": "get_weather", "arguments": {"city": 3}})));
        assert!(!validator.is_valid(&json!({"name": "get_forecast", "arguments": {}})));
    }
}
