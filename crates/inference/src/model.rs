//! Model directories in the optimum / transformers.js layout: `model.onnx` (or `onnx/model.onnx`,
//! with external data beside it), `tokenizer.json`, `tokenizer_config.json`, `config.json` and an
//! optional `generation_config.json`. The version of a model is the sha256 over its files.

use crate::{
    chat_template::ChatTemplate,
    error::{InferenceError, Result},
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::{
    io::Read,
    path::{Path, PathBuf},
};
use tokenizers::Tokenizer;

/// The hyper-parameters generation needs, read from `config.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelConfig {
    pub model_type: String,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    /// Tokens that end a generation (config, generation config and tokenizer config together).
    pub eos_token_ids: Vec<u32>,
    pub bos_token_id: Option<u32>,
}

/// A model directory, checked and loaded (tokenizer, template, config), but no session yet.
pub struct ModelDir {
    pub path: PathBuf,
    pub model_file: PathBuf,
    pub config: ModelConfig,
    pub tokenizer: Tokenizer,
    pub chat_template: Option<ChatTemplate>,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    /// sha256 (hex) over every file of the directory, names included.
    pub version: String,
}

impl std::fmt::Debug for ModelDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelDir")
            .field("path", &self.path)
            .field("version", &self.version)
            .finish()
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            InferenceError::MissingFile(path.to_owned())
        } else {
            InferenceError::Malformed {
                file: path.to_owned(),
                message: e.to_string(),
            }
        }
    })?;
    serde_json::from_str(&text).map_err(|e| InferenceError::Malformed {
        file: path.to_owned(),
        message: format!("invalid JSON: {e}"),
    })
}

fn malformed(file: &Path, message: impl Into<String>) -> InferenceError {
    InferenceError::Malformed {
        file: file.to_owned(),
        message: message.into(),
    }
}

fn usize_field(config: &Value, file: &Path, key: &str) -> Result<Option<usize>> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n as usize))
            .ok_or_else(|| malformed(file, format!("`{key}` must be a non-negative integer"))),
    }
}

/// Token ids from a field that may be an integer or a list of integers.
fn token_ids(value: Option<&Value>) -> Vec<u32> {
    match value {
        Some(Value::Number(n)) => n.as_u64().map(|n| vec![n as u32]).unwrap_or_default(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_u64)
            .map(|n| n as u32)
            .collect(),
        _ => Vec::new(),
    }
}

/// A special token of `tokenizer_config.json`: a string or `{"content": ...}`.
fn special_token(config: &Value, key: &str) -> Option<String> {
    match config.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

impl ModelDir {
    /// Opens and checks a model directory; a missing or malformed file is an error naming it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.is_dir() {
            return Err(InferenceError::MissingFile(path));
        }
        let model_file = ["model.onnx", "onnx/model.onnx"]
            .iter()
            .map(|name| path.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| InferenceError::MissingFile(path.join("model.onnx")))?;

        let config_file = path.join("config.json");
        let config_json = read_json(&config_file)?;
        let tokenizer_config_file = path.join("tokenizer_config.json");
        let tokenizer_config = read_json(&tokenizer_config_file)?;
        let generation_file = path.join("generation_config.json");
        let generation = if generation_file.is_file() {
            read_json(&generation_file)?
        } else {
            Value::Null
        };

        let tokenizer_file = path.join("tokenizer.json");
        if !tokenizer_file.is_file() {
            return Err(InferenceError::MissingFile(tokenizer_file));
        }
        let tokenizer = Tokenizer::from_file(&tokenizer_file)
            .map_err(|e| malformed(&tokenizer_file, e.to_string()))?;

        let layers = usize_field(&config_json, &config_file, "num_hidden_layers")?
            .ok_or_else(|| malformed(&config_file, "`num_hidden_layers` is missing"))?;
        let heads = usize_field(&config_json, &config_file, "num_attention_heads")?
            .ok_or_else(|| malformed(&config_file, "`num_attention_heads` is missing"))?;
        let kv_heads =
            usize_field(&config_json, &config_file, "num_key_value_heads")?.unwrap_or(heads);
        let head_dim = match usize_field(&config_json, &config_file, "head_dim")? {
            Some(d) => d,
            None => {
                let hidden =
                    usize_field(&config_json, &config_file, "hidden_size")?.ok_or_else(|| {
                        malformed(&config_file, "`head_dim` or `hidden_size` is needed")
                    })?;
                hidden / heads.max(1)
            }
        };
        let vocab_size = usize_field(&config_json, &config_file, "vocab_size")?
            .unwrap_or_else(|| tokenizer.get_vocab_size(true));

        let bos_token = special_token(&tokenizer_config, "bos_token");
        let eos_token = special_token(&tokenizer_config, "eos_token");
        let mut eos_token_ids = token_ids(generation.get("eos_token_id"));
        eos_token_ids.extend(token_ids(config_json.get("eos_token_id")));
        if let Some(id) = eos_token.as_deref().and_then(|t| tokenizer.token_to_id(t)) {
            eos_token_ids.push(id);
        }
        eos_token_ids.sort_unstable();
        eos_token_ids.dedup();
        if eos_token_ids.is_empty() {
            return Err(malformed(
                &config_file,
                "no `eos_token_id` in config.json or generation_config.json",
            ));
        }
        let bos_token_id = token_ids(config_json.get("bos_token_id")).first().copied();

        let chat_template = match tokenizer_config.get("chat_template") {
            Some(Value::String(source)) => Some(source.clone()),
            // A list of named templates: take `default`.
            Some(Value::Array(list)) => list
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                .and_then(|t| t.get("template").and_then(Value::as_str))
                .map(str::to_owned),
            _ => None,
        }
        .map(|source| {
            ChatTemplate::new(
                &source,
                bos_token.as_deref().unwrap_or(""),
                eos_token.as_deref().unwrap_or(""),
            )
            .map_err(|e| malformed(&tokenizer_config_file, e.to_string()))
        })
        .transpose()?;

        let config = ModelConfig {
            model_type: config_json
                .get("model_type")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            vocab_size,
            eos_token_ids,
            bos_token_id,
        };
        let version = directory_hash(&path)?;
        Ok(Self {
            path,
            model_file,
            config,
            tokenizer,
            chat_template,
            bos_token,
            eos_token,
            version,
        })
    }
}

/// sha256 over (relative name, length, bytes) of every regular file, in sorted order. Hidden
/// files are skipped; changing, adding or renaming a file changes the version.
pub fn directory_hash(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| malformed(&dir, e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| malformed(&dir, e.to_string()))?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for file in files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let mut f = std::fs::File::open(&file).map_err(|e| malformed(&file, e.to_string()))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update(len.to_le_bytes());
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| malformed(&file, e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(hex::encode(hasher.finalize()))
}
