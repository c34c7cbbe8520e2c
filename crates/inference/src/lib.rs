//! ONNX Runtime inference for Pairwise: model directories, chat templates, logits processing and
//! seeded sampling, KV-cache generation of many candidates from one prefill, and log-prob scoring.

pub mod chat_template;
pub mod params;
pub mod sampler;

pub use params::{DecodingParams, ParamError};
pub use sampler::Sampler;
