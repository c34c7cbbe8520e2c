//! Prompts as the models see them: a prompt's conversation, the request a judge sees, and the
//! model input (a chat, or raw text without a chat template).

use pairwise_core::ChatMessage;
use pairwise_inference::{chat_template::Message, Engine, PromptInput};
use pairwise_store::entities::prompt;

/// The conversation of a prompt: its stored messages, or one user turn.
pub(crate) fn messages_of(p: &prompt::Model) -> Vec<ChatMessage> {
    conversation(p.messages.as_deref(), &p.text)
}

/// Stored messages (JSON), or — when there are none or they do not parse — `text` as one user
/// turn. Prompts and annotation items store their conversations alike.
pub(super) fn conversation(messages: Option<&str>, text: &str) -> Vec<ChatMessage> {
    messages
        .and_then(|m| serde_json::from_str::<Vec<ChatMessage>>(m).ok())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            vec![ChatMessage {
                role: "user".into(),
                content: text.to_owned(),
            }]
        })
}

/// The request a judge sees: the last user turn (the whole text for plain prompts).
pub(super) fn request_text(p: &prompt::Model) -> String {
    ChatMessage::last_user(&messages_of(p)).map_or_else(|| p.text.clone(), |m| m.content.clone())
}

/// A chat for the model, or the last user turn as raw text when it has no chat template.
pub(super) fn prompt_input(engine: &Engine, messages: &[ChatMessage]) -> PromptInput {
    if engine.dir.chat_template.is_some() {
        PromptInput::Chat(
            messages
                .iter()
                .map(|m| Message::new(m.role.clone(), m.content.clone()))
                .collect(),
        )
    } else {
        PromptInput::Raw(ChatMessage::last_user_text(messages))
    }
}

/// A conversation as plain text for a model server's `/completions` (which applies no chat
/// template): `role: content` turns, then `assistant: ` for the answer to follow.
pub(super) fn plain_prompt(messages: &[ChatMessage]) -> String {
    let mut text = String::new();
    for m in messages {
        text.push_str(&format!("{}: {}\n\n", m.role, m.content));
    }
    text.push_str("assistant: ");
    text
}

pub(super) fn user_prompt(engine: &Engine, text: String) -> PromptInput {
    prompt_input(
        engine,
        &[ChatMessage {
            role: "user".into(),
            content: text,
        }],
    )
}
