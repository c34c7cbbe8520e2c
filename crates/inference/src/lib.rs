//! ONNX Runtime inference for Pairwise: model directories, chat templates, seeded sampling,
//! batched multi-candidate decoding and log-prob scoring. Filled by the inference issue; nothing
//! here is used yet.
