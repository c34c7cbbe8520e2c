//! ONNX Runtime inference for Pairwise: model directories, chat templates, logits processing and
//! seeded sampling, KV-cache generation of many candidates from one prefill, and log-prob scoring.

pub mod chat_template;
pub mod embed;
pub mod engine;
pub mod error;
pub mod generate;
pub mod language_model;
pub mod model;
pub mod onnx;
pub mod params;
pub mod remote;
pub mod reward;
pub mod runtime;
pub mod sampler;
pub mod worker;

pub use engine::{Engine, PromptInput};
pub use error::InferenceError;
pub use generate::{
    generate, generate_continuous, score, BatchRequest, Candidate, FinishReason, Generation, Score,
    TokenEvent,
};
pub use language_model::LanguageModel;
pub use model::ModelDir;
pub use onnx::OnnxDecoder;
pub use params::{DecodingParams, ParamError, Sampling};
pub use remote::{RemoteConfig, RemoteError, RemoteModel};
pub use reward::RewardModel;
pub use runtime::{Device, Provider};
pub use sampler::Sampler;
pub use worker::Worker;
