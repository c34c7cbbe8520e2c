//! Chat templates rendered the way Hugging Face transformers renders them
//! (`transformers.utils.chat_template_utils`): Jinja with `trim_blocks` and `lstrip_blocks`,
//! loop controls, Python string/dict methods, `raise_exception`, `strftime_now`, and a `tojson`
//! that writes like Python's `json.dumps(ensure_ascii=False)`. Follows TGI's and mistral.rs's
//! minijinja setups.

use minijinja::{value::Kwargs, Environment, Error as JinjaError, ErrorKind, Value};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template does not compile.
    #[error("chat template does not compile: {0}")]
    Syntax(String),
    /// The template called `raise_exception` (e.g. roles out of order).
    #[error("chat template refused the conversation: {0}")]
    Raised(String),
    /// Rendering failed otherwise.
    #[error("chat template failed: {0}")]
    Render(String),
}

/// A compiled chat template with the special tokens it may refer to.
#[derive(Clone)]
pub struct ChatTemplate {
    env: Arc<Environment<'static>>,
    bos_token: String,
    eos_token: String,
    /// `strftime_now` answers this instead of the clock when set (fixtures, reproducible prompts).
    fixed_now: Option<String>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish()
    }
}

const NAME: &str = "chat";
/// Marks errors that the template raised itself, to tell them from rendering failures.
const RAISED: &str = "raise_exception: ";

impl ChatTemplate {
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, TemplateError> {
        Self::build(source, bos_token, eos_token, None)
    }

    /// Like [`ChatTemplate::new`], with `strftime_now(fmt)` formatting this fixed date-time
    /// (RFC 3339) instead of the local clock.
    pub fn with_fixed_now(
        source: &str,
        bos_token: &str,
        eos_token: &str,
        now: &str,
    ) -> Result<Self, TemplateError> {
        Self::build(source, bos_token, eos_token, Some(now.to_owned()))
    }

    fn build(
        source: &str,
        bos_token: &str,
        eos_token: &str,
        fixed_now: Option<String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<Value, JinjaError> {
                Err(JinjaError::new(
                    ErrorKind::InvalidOperation,
                    format!("{RAISED}{message}"),
                ))
            },
        );
        let now = fixed_now.clone();
        env.add_function(
            "strftime_now",
            move |format: String| -> Result<String, JinjaError> {
                let at = match &now {
                    Some(fixed) => chrono::DateTime::parse_from_rfc3339(fixed)
                        .map_err(|e| JinjaError::new(ErrorKind::InvalidOperation, e.to_string()))?
                        .naive_local(),
                    None => chrono::Local::now().naive_local(),
                };
                Ok(at.format(&format).to_string())
            },
        );
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| TemplateError::Syntax(e.to_string()))?;
        Ok(Self {
            env: Arc::new(env),
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
            fixed_now,
        })
    }

    /// Renders `messages`; `extra` adds variables (e.g. `date_string`, `tools`).
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| TemplateError::Syntax(e.to_string()))?;
        let mut context = serde_json::Map::new();
        context.insert(
            "messages".into(),
            serde_json::to_value(messages).unwrap_or_default(),
        );
        context.insert("add_generation_prompt".into(), add_generation_prompt.into());
        context.insert("bos_token".into(), self.bos_token.clone().into());
        context.insert("eos_token".into(), self.eos_token.clone().into());
        for (k, v) in extra {
            context.insert(k.clone(), v.clone());
        }
        template
            .render(Value::from_serialize(&context))
            .map_err(|e| {
                if let Some(message) = e.detail().and_then(|d| d.strip_prefix(RAISED)) {
                    TemplateError::Raised(message.to_owned())
                } else {
                    TemplateError::Render(format!("{e:#}"))
                }
            })
    }

    pub fn has_fixed_now(&self) -> bool {
        self.fixed_now.is_some()
    }
}

/// Python `json.dumps(value, ensure_ascii=False, indent=indent)`: `", "` and `": "` separators
/// when compact, `","` plus newlines when indented; keys in insertion order.
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, JinjaError> {
    let indent: Option<usize> = kwargs.get("indent")?;
    // Accepted for compatibility; insertion order is kept, as with Python's default.
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    let result = match indent {
        None => {
            let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonCompact);
            serde::Serialize::serialize(&value, &mut ser)
        }
        Some(n) => {
            let spaces = " ".repeat(n);
            let mut ser = serde_json::Serializer::with_formatter(
                &mut out,
                serde_json::ser::PrettyFormatter::with_indent(spaces.as_bytes()),
            );
            serde::Serialize::serialize(&value, &mut ser)
        }
    };
    result.map_err(|e| JinjaError::new(ErrorKind::InvalidOperation, e.to_string()))?;
    // The JSON is inserted verbatim (a template renders text, not HTML).
    Ok(Value::from_safe_string(
        String::from_utf8_lossy(&out).into_owned(),
    ))
}

/// serde_json formatter with Python's default separators.
struct PythonCompact;

impl serde_json::ser::Formatter for PythonCompact {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn chatml_renders_turns_and_the_generation_prompt() {
        let t = ChatTemplate::new(CHATML, "", "<|im_end|>").expect("compile");
        let text = t
            .render(&[Message::new("user", "Hi")], true, &Default::default())
            .expect("render");
        assert_eq!(
            text,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn raise_exception_and_python_methods_work() {
        let src = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first turn must be user') }}{% endif %}{{ messages[0]['content'].strip().upper() }}";
        let t = ChatTemplate::new(src, "", "").expect("compile");
        assert_eq!(
            t.render(&[Message::new("user", "  hi ")], false, &Default::default())
                .expect("render"),
            "HI"
        );
        let err = t
            .render(&[Message::new("system", "x")], false, &Default::default())
            .expect_err("raises");
        assert!(
            matches!(err, TemplateError::Raised(ref m) if m == "first turn must be user"),
            "{err}"
        );
    }

    #[test]
    fn tojson_writes_like_python_json_dumps() {
        let t = ChatTemplate::new("{{ x | tojson }}|{{ x | tojson(indent=2) }}", "", "")
            .expect("compile");
        let mut extra = serde_json::Map::new();
        extra.insert("x".into(), serde_json::json!({"b": [1, "é<"], "a": null}));
        let text = t.render(&[], false, &extra).expect("render");
        assert_eq!(text, "{\"b\": [1, \"é<\"], \"a\": null}|{\n  \"b\": [\n    1,\n    \"é<\"\n  ],\n  \"a\": null\n}");
    }

    #[test]
    fn strftime_now_uses_the_fixed_date() {
        let t = ChatTemplate::with_fixed_now(
            "{{ strftime_now('%d %b %Y') }}",
            "",
            "",
            "2024-07-26T10:00:00Z",
        )
        .expect("compile");
        assert_eq!(
            t.render(&[], false, &Default::default()).expect("render"),
            "26 Jul 2024"
        );
    }
}
