//! Models behind an OpenAI-compatible server (vLLM, TGI, llama.cpp's server, hosted APIs):
//! listing served models, chat completions with every decoding parameter and the per-candidate
//! seed, token log-probs, and bounded concurrency with retries.
//!
//! The API key is never part of the configuration that is stored: a registered remote model names
//! an environment variable, and only the worker that calls the server reads it.
//!
//! Retries: 429, 5xx, timeouts and connection errors are retried with exponential backoff and
//! jitter (0.5 s doubling, capped at 30 s), honouring `Retry-After`; other answers are final.

use crate::{chat_template::Message, params::DecodingParams};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::{sync::Arc, time::Duration};
use tokio::sync::Semaphore;

/// How to reach a served model. Stored with the model registry (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteConfig {
    /// Base URL of the OpenAI-compatible API, ending in `/v1` (`http://127.0.0.1:8089/v1`).
    pub base_url: String,
    /// The model name the server serves (`smollm2-135m`).
    pub model: String,
    /// The environment variable on the worker that holds the API key, if the server needs one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Requests in flight at once, for all runs of one worker.
    pub concurrency: u32,
    /// Seconds one request may take.
    pub timeout_secs: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server could not be reached (after the retries, when retried).
    #[error("{url}: unreachable: {message}")]
    Unreachable { url: String, message: String },
    /// The server refused the API key (or wants one).
    #[error("{url}: 401 unauthorized (check the API key in ${env})", env = .env.as_deref().unwrap_or("…"))]
    Unauthorized { url: String, env: Option<String> },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The server does not serve the model.
    #[error("{url}: the server does not serve `{model}` (it serves: {served})")]
    NotServed {
        url: String,
        model: String,
        served: String,
    },
    /// The answer is not what the API promises.
    #[error("{url}: unexpected answer: {message}")]
    Malformed { url: String, message: String },
    /// The configuration is unusable (bad URL, API key variable unset).
    #[error("{0}")]
    Config(String),
}

type Result<T> = std::result::Result<T, RemoteError>;

/// One generated choice.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub text: String,
    pub finish_reason: String,
    /// Per generated token: its text, log-prob and the top alternatives (when asked for).
    pub logprobs: Vec<TokenLogprob>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
    pub top: Vec<(String, f64)>,
}

/// A chat completion as the server returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The server's model id.
    pub model: String,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<Choice>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What a chat request asks for beyond the messages.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// Top alternatives per token to return (0: no log-probs).
    pub top_logprobs: u32,
    /// `response_format` (e.g. a JSON schema), where the server supports it.
    pub response_format: Option<Value>,
}

/// A client of one remote model; clones share the concurrency bound.
#[derive(Clone)]
pub struct RemoteModel {
    config: RemoteConfig,
    http: reqwest::Client,
    key: Option<String>,
    permits: Arc<Semaphore>,
    max_attempts: u32,
    /// Which `response_format` with a JSON schema to send: 0 `json_schema`, 1 `json_object`
    /// with `schema`, 2 none (the server refused both; JSON judges parse free text).
    schema_form: Arc<std::sync::atomic::AtomicU8>,
}

impl std::fmt::Debug for RemoteModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RemoteModel")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RemoteModel {
    /// A client for `config`; reads the API key from its environment variable (which must be set
    /// when named).
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| RemoteError::Config(format!("remote URL `{base}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RemoteError::Config(format!(
                "remote URL `{base}`: only http and https"
            )));
        }
        let key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                RemoteError::Config(format!(
                    "the API key variable ${var} is not set in this process's environment"
                ))
            })?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(u64::from(config.timeout_secs.max(1))))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RemoteError::Config(e.to_string()))?;
        let permits = Arc::new(Semaphore::new(config.concurrency.clamp(1, 256) as usize));
        Ok(Self {
            config: RemoteConfig {
                base_url: base,
                ..config
            },
            http,
            key,
            permits,
            max_attempts: 6,
            schema_form: Default::default(),
        })
    }

    /// Gives up after `n` attempts (tests use fewer).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    /// A version string for provenance: the server's base URL and served model name.
    pub fn version(&self) -> String {
        format!("{}@{}", self.config.model, self.config.base_url)
    }

    /// Checks the server: `GET /models` must answer and list the model.
    pub async fn check(&self) -> Result<()> {
        let url = format!("{}/models", self.config.base_url);
        let value = self.send(|| self.http.get(&url), &url).await?;
        let served: Vec<String> = value["data"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if served.contains(&self.config.model) {
            Ok(())
        } else {
            Err(RemoteError::NotServed {
                url,
                model: self.config.model.clone(),
                served: if served.is_empty() {
                    "nothing".into()
                } else {
                    served.join(", ")
                },
            })
        }
    }

    /// One chat completion (one choice) with `params` (every decoding parameter and the seed).
    pub async fn chat(
        &self,
        messages: &[Message],
        params: &DecodingParams,
        options: &ChatOptions,
    ) -> Result<Completion> {
        let url = format!("{}/chat/completions", self.config.base_url);
        let body = chat_body(&self.config.model, messages, params, options);
        let value = self.send(|| self.http.post(&url).json(&body), &url).await?;
        parse_completion(&url, &value)
    }

    /// A chat completion constrained to the JSON `schema`: `response_format` of type
    /// `json_schema` (OpenAI, vLLM, llama.cpp's own server), else `json_object` with a `schema`
    /// (llama-cpp-python's server). A form the server refuses (HTTP 400/422/501, or an error that
    /// names `response_format`, which llama-cpp-python sends as a 500) is not asked for again by this client or its clones; `None` once the server took neither, and the
    /// caller falls back to parsing free text.
    pub async fn chat_json(
        &self,
        messages: &[Message],
        params: &DecodingParams,
        name: &str,
        schema: &Value,
    ) -> Result<Option<Completion>> {
        use std::sync::atomic::Ordering;
        loop {
            let form = self.schema_form.load(Ordering::Relaxed);
            let response_format = match form {
                0 => json!({
                    "type": "json_schema",
                    "json_schema": {"name": name, "strict": true, "schema": schema},
                }),
                1 => json!({"type": "json_object", "schema": schema}),
                _ => return Ok(None),
            };
            let options = ChatOptions {
                top_logprobs: 0,
                response_format: Some(response_format),
            };
            match self.chat(messages, params, &options).await {
                Ok(completion) => return Ok(Some(completion)),
                Err(RemoteError::Status {
                    status, message, ..
                }) if matches!(status, 400 | 422 | 501) || refuses_format(&message) => {
                    // Refused: the next form (another caller may have moved on already).
                    let _ = self.schema_form.compare_exchange(
                        form,
                        form + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the server refused every `response_format` with a JSON schema.
    pub fn schema_refused(&self) -> bool {
        self.schema_form.load(std::sync::atomic::Ordering::Relaxed) >= 2
    }

    /// The mean log-prob of `answer`'s tokens after `prompt` (teacher forcing), from
    /// `/completions` with `echo` and `logprobs`: the server scores the whole text and the tokens
    /// that start at or after `prompt`'s end are the answer's. `(mean, tokens)`; an empty answer
    /// is `(0, 0)`. A server that does not return prompt log-probs is an error saying so.
    pub async fn answer_logprob(&self, prompt: &str, answer: &str) -> Result<(f64, usize)> {
        let url = format!("{}/completions", self.config.base_url);
        let text = format!("{prompt}{answer}");
        let body = json!({
            "model": self.config.model,
            "prompt": text,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": true,
            "logprobs": 1,
        });
        let value = self.send(|| self.http.post(&url).json(&body), &url).await?;
        let missing = || RemoteError::Malformed {
            url: url.clone(),
            message: "this server does not return prompt log-probs (`echo` with `logprobs` on \
                      /completions); score the reference model locally"
                .into(),
        };
        let lp = &value["choices"][0]["logprobs"];
        let offsets = lp["text_offset"].as_array().ok_or_else(missing)?;
        let logprobs = lp["token_logprobs"].as_array().ok_or_else(missing)?;
        if offsets.len() != logprobs.len() || offsets.len() < 2 {
            return Err(missing());
        }
        // Offsets count characters of the echoed text; the answer spans [start, end).
        let start = prompt.chars().count() as u64;
        let end = text.chars().count() as u64;
        let mut sum = 0.0;
        let mut n = 0usize;
        for (o, l) in offsets.iter().zip(logprobs) {
            let Some(o) = o.as_u64() else { continue };
            if o >= start && o < end {
                if let Some(l) = l.as_f64() {
                    sum += l;
                    n += 1;
                }
            }
        }
        if n == 0 {
            return Ok((0.0, 0));
        }
        Ok((sum / n as f64, n))
    }

    /// Checks that the server's echoed prompt log-probs belong to their own tokens: the server
    /// continues a prompt greedily, then scores prompt + continuation with `echo`; on an aligned
    /// server the most likely token at each continuation position is that position's token (it
    /// was chosen greedily). llama-cpp-python 0.3.36 gives each token the next position's
    /// distribution instead — its scores disagree with local scoring of the same text (Pearson
    /// about −0.1 over 20 answers, 10 nats apart on average;
    /// `bench/results/remote-reference-agreement.json`) — so such a server is refused rather than
    /// trusted.
    pub async fn check_prompt_logprobs(&self) -> Result<()> {
        let url = format!("{}/completions", self.config.base_url);
        // Plain text that any language model continues predictably.
        let prompt = "Count from one to ten: one, two, three,";
        let body = json!({"model": self.config.model, "prompt": prompt, "max_tokens": 8, "temperature": 0.0});
        let value = self.send(|| self.http.post(&url).json(&body), &url).await?;
        let continuation = value["choices"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let text = format!("{prompt}{continuation}");
        let body = json!({"model": self.config.model, "prompt": text, "max_tokens": 1,
            "temperature": 0.0, "echo": true, "logprobs": 1});
        let value = self.send(|| self.http.post(&url).json(&body), &url).await?;
        let fail = |message: String| RemoteError::Malformed {
            url: url.clone(),
            message,
        };
        let lp = &value["choices"][0]["logprobs"];
        let (Some(tokens), Some(top), Some(offsets)) = (
            lp["tokens"].as_array(),
            lp["top_logprobs"].as_array(),
            lp["text_offset"].as_array(),
        ) else {
            return Err(fail(
                "this server does not return prompt log-probs (`echo` with `logprobs` on \
                 /completions); score the reference model locally"
                    .into(),
            ));
        };
        let best = |i: usize| -> Option<String> {
            top.get(i)?
                .as_object()?
                .iter()
                .filter_map(|(t, l)| Some((t.clone(), l.as_f64()?)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(t, _)| t)
        };
        let start = prompt.chars().count() as u64;
        let end = text.chars().count() as u64;
        let (mut positions, mut aligned, mut shifted) = (0, 0, 0);
        for i in 0..tokens.len().min(offsets.len()) {
            let Some(o) = offsets[i].as_u64() else {
                continue;
            };
            if o < start || o >= end {
                continue;
            }
            positions += 1;
            let token = tokens[i].as_str().unwrap_or_default();
            if best(i).as_deref() == Some(token) {
                aligned += 1;
            }
            if tokens.get(i + 1).and_then(Value::as_str) == best(i).as_deref() {
                shifted += 1;
            }
        }
        if positions < 2 {
            return Err(fail(format!(
                "could not check the server's echoed prompt log-probs (its continuation of a \
                 counting prompt had {positions} tokens); score the reference model locally"
            )));
        }
        if aligned * 4 >= positions * 3 {
            return Ok(());
        }
        Err(fail(format!(
            "the server's echoed prompt log-probs are misaligned (its greedy continuation is the \
             top token at {aligned} of {positions} positions, the next position's token at \
             {shifted}): reference scores from it would be wrong; score the reference model \
             locally"
        )))
    }

    /// Sends a request built by `make` (again on each retry) and returns its JSON body.
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder, url: &str) -> Result<Value> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| RemoteError::Config(e.to_string()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = make();
            if let Some(key) = &self.key {
                req = req.bearer_auth(key);
            }
            let (retry, error, after) = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    let after = retry_after(res.headers());
                    if status.is_success() {
                        return res
                            .json::<Value>()
                            .await
                            .map_err(|e| RemoteError::Malformed {
                                url: url.to_owned(),
                                message: e.to_string(),
                            });
                    }
                    let message = res.text().await.unwrap_or_default();
                    let message: String = message.chars().take(300).collect();
                    if status.as_u16() == 401 {
                        return Err(RemoteError::Unauthorized {
                            url: url.to_owned(),
                            env: self.config.api_key_env.clone(),
                        });
                    }
                    // A request the server cannot take (some answer a validation error with a
                    // 500) fails the same way every time: not retried.
                    let retry = (status.as_u16() == 429 || status.is_server_error())
                        && !refuses_format(&message);
                    let error = RemoteError::Status {
                        url: url.to_owned(),
                        status: status.as_u16(),
                        message,
                    };
                    (retry, error, after)
                }
                Err(e) => (
                    e.is_connect() || e.is_timeout() || e.is_request(),
                    RemoteError::Unreachable {
                        url: url.to_owned(),
                        message: e.to_string(),
                    },
                    None,
                ),
            };
            if !retry || attempt >= self.max_attempts {
                return Err(error);
            }
            let wait = after.unwrap_or_else(|| backoff(attempt));
            tracing::warn!(%url, attempt, wait_ms = wait.as_millis() as u64, error = %error, "remote model: retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// 0.5 s doubling per attempt, capped at 30 s, with up to 50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
    let base = base.min(30.0);
    let jitter = rand::thread_rng().gen_range(0.0..0.5) * base;
    Duration::from_secs_f64(base + jitter)
}

/// `Retry-After` in seconds (HTTP dates are not used by these servers), capped at 60 s.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)))
}

/// The request body: messages, every decoding parameter, the seed, and log-probs if asked.
/// Parameters outside the OpenAI API (`top_k`, `repetition_penalty`) are sent only when they do
/// something, since hosted APIs refuse unknown fields.
pub fn chat_body(
    model: &str,
    messages: &[Message],
    params: &DecodingParams,
    options: &ChatOptions,
) -> Value {
    let s = &params.sampling;
    let mut body = json!({
        "model": model,
        "messages": messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect::<Vec<_>>(),
        "n": 1,
        "max_tokens": params.max_new_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "seed": params.seed,
    });
    if s.top_k > 0 {
        body["top_k"] = json!(s.top_k);
    }
    if (s.repetition_penalty - 1.0).abs() > f32::EPSILON {
        body["repetition_penalty"] = json!(s.repetition_penalty);
        body["repeat_penalty"] = json!(s.repetition_penalty);
    }
    if !params.stop.is_empty() {
        body["stop"] = json!(params.stop);
    }
    if options.top_logprobs > 0 {
        body["logprobs"] = json!(true);
        body["top_logprobs"] = json!(options.top_logprobs.min(20));
    }
    if let Some(format) = &options.response_format {
        body["response_format"] = format.clone();
    }
    body
}

/// Whether an error body says the server cannot take the request's `response_format`
/// (llama-cpp-python answers such a validation error with HTTP 500).
fn refuses_format(message: &str) -> bool {
    message.contains("response_format")
}

fn parse_completion(url: &str, v: &Value) -> Result<Completion> {
    let malformed = |message: &str| RemoteError::Malformed {
        url: url.to_owned(),
        message: message.to_owned(),
    };
    let choices = v["choices"]
        .as_array()
        .ok_or_else(|| malformed("no `choices`"))?
        .iter()
        .map(|c| {
            let text = c["message"]["content"]
                .as_str()
                .or_else(|| c["text"].as_str())
                .unwrap_or_default()
                .to_owned();
            let logprobs = c["logprobs"]["content"]
                .as_array()
                .map(|tokens| {
                    tokens
                        .iter()
                        .map(|t| TokenLogprob {
                            token: t["token"].as_str().unwrap_or_default().to_owned(),
                            logprob: t["logprob"].as_f64().unwrap_or(f64::NEG_INFINITY),
                            top: t["top_logprobs"]
                                .as_array()
                                .map(|top| {
                                    top.iter()
                                        .map(|a| {
                                            (
                                                a["token"].as_str().unwrap_or_default().to_owned(),
                                                a["logprob"].as_f64().unwrap_or(f64::NEG_INFINITY),
                                            )
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Choice {
                text,
                finish_reason: c["finish_reason"].as_str().unwrap_or("").to_owned(),
                logprobs,
            }
        })
        .collect::<Vec<_>>();
    if choices.is_empty() {
        return Err(malformed("no choice came back"));
    }
    Ok(Completion {
        model: v["model"].as_str().unwrap_or_default().to_owned(),
        system_fingerprint: v["system_fingerprint"].as_str().map(str::to_owned),
        choices,
        prompt_tokens: v["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        completion_tokens: v["usage"]["completion_tokens"].as_u64().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_every_parameter_and_the_seed_but_only_useful_extras() {
        let params = DecodingParams {
            max_new_tokens: 32,
            seed: 42,
            ..Default::default()
        };
        let m = [Message {
            role: "user".into(),
            content: "hi".into(),
        }];
        let body = chat_body("m", &m, &params, &ChatOptions::default());
        assert_eq!(body["seed"], 42);
        assert_eq!(body["max_tokens"], 32);
        assert_eq!(body["temperature"], 1.0);
        assert!(body.get("top_k").is_none() && body.get("logprobs").is_none());
        let mut p = params.clone();
        p.sampling.top_k = 40;
        p.sampling.repetition_penalty = 1.2;
        let body = chat_body(
            "m",
            &m,
            &p,
            &ChatOptions {
                top_logprobs: 5,
                response_format: None,
            },
        );
        assert_eq!(body["top_k"], 40);
        assert_eq!(body["logprobs"], true);
        assert_eq!(body["top_logprobs"], 5);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(1) >= Duration::from_millis(500) && backoff(1) < Duration::from_millis(751)
        );
        assert!(backoff(20) <= Duration::from_secs(45));
    }

    #[test]
    fn a_completion_with_logprobs_parses() {
        let v = json!({"model": "m", "system_fingerprint": "fp", "usage": {"prompt_tokens": 3, "completion_tokens": 1},
            "choices": [{"message": {"content": "A"}, "finish_reason": "length",
              "logprobs": {"content": [{"token": "A", "logprob": -0.1, "top_logprobs": [{"token": "A", "logprob": -0.1}, {"token": "B", "logprob": -2.4}]}]}}]});
        let c = parse_completion("u", &v).expect("parse");
        assert_eq!(c.choices[0].text, "A");
        assert_eq!(c.choices[0].logprobs[0].top[1], ("B".into(), -2.4));
        assert_eq!(c.system_fingerprint.as_deref(), Some("fp"));
        assert!(parse_completion("u", &json!({"choices": []})).is_err());
    }
}
