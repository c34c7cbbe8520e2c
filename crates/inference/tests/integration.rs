//! The inference crate on real ONNX models made by `make setup` (scripts/models/): the tiny
//! random-weight decoder for most checks, and the SmolLM2 demo model for greedy parity with a
//! plain onnxruntime-Python loop (its token ids are in `models/*/verify.json`).

use pairwise_inference::{
    chat_template::{ChatTemplate, Message},
    BatchRequest, DecodingParams, Device, Engine, InferenceError, ModelDir, PromptInput, Worker,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn model(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(name);
    assert!(
        dir.join("verify.json").is_file(),
        "{} is missing: run `make setup` first",
        dir.display()
    );
    dir
}

fn verify(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("verify.json")).expect("verify.json"))
        .expect("json")
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

fn greedy_parity(name: &str) {
    let dir = model(name);
    let reference = verify(&dir);
    let max_new = reference["max_new_tokens"]
        .as_u64()
        .expect("max_new_tokens") as u32;
    let mut engine = Engine::load(&dir, Device::Cpu, 0).expect("load");
    for case in reference["cases"].as_array().expect("cases") {
        let prompt_ids = ids(&case["prompt_ids"]);
        assert_eq!(
            engine
                .encode_text(case["prompt"].as_str().expect("prompt"), false)
                .expect("encode"),
            prompt_ids,
            "tokenizer parity"
        );
        let g = engine
            .generate(&prompt_ids, &[DecodingParams::greedy(max_new)], |_| ())
            .expect("generate");
        assert_eq!(
            g.candidates[0].token_ids,
            ids(&case["generated_ids"]),
            "{name}: {}",
            case["prompt"]
        );
    }
}

#[test]
fn greedy_token_ids_match_python_onnxruntime_on_the_tiny_model() {
    greedy_parity("tiny");
}

#[test]
fn greedy_token_ids_match_python_onnxruntime_on_the_demo_model() {
    greedy_parity("demo");
}

#[test]
fn the_demo_model_answers_in_english_through_its_chat_template() {
    let mut engine = Engine::load(model("demo"), Device::Cpu, 0).expect("load");
    let prompt = PromptInput::Chat(vec![Message::new("user", "What is the capital of France?")]);
    let ids = engine.encode_prompt(&prompt).expect("encode");
    let g = engine
        .generate(&ids, &[DecodingParams::greedy(12)], |_| ())
        .expect("generate");
    assert!(
        g.candidates[0].text.contains("Paris"),
        "{}",
        g.candidates[0].text
    );
}

#[test]
fn batched_rows_decode_exactly_like_single_runs() {
    let dir = model("tiny");
    let mut engine = Engine::load(&dir, Device::Cpu, 0).expect("load");
    let prompt = ids(&verify(&dir)["cases"][0]["prompt_ids"]);
    // Different lengths make rows leave the batch at different steps.
    let params: Vec<DecodingParams> = [3u32, 16, 9, 12]
        .iter()
        .map(|&n| DecodingParams::greedy(n))
        .collect();
    let batched = engine
        .generate_ignoring_eos(&prompt, &params)
        .expect("batched");
    for (p, candidate) in params.iter().zip(&batched.candidates) {
        let single = engine
            .generate_ignoring_eos(&prompt, std::slice::from_ref(p))
            .expect("single");
        assert_eq!(candidate.token_ids, single.candidates[0].token_ids);
        assert_eq!(candidate.token_count, p.max_new_tokens as usize);
    }
    assert_eq!(
        batched.steps, 15,
        "the batch runs until its longest row is done"
    );
}

#[test]
fn seeds_reproduce_and_temperature_zero_ignores_them() {
    let dir = model("demo");
    let mut engine = Engine::load(&dir, Device::Cpu, 0).expect("load");
    let prompt = engine
        .encode_prompt(&PromptInput::Chat(vec![Message::new(
            "user",
            "Tell me a fact about the sea.",
        )]))
        .expect("encode");
    let sampled = |seed| DecodingParams {
        max_new_tokens: 12,
        seed,
        ..DecodingParams::default()
    };
    let run = |engine: &mut Engine, params: Vec<DecodingParams>| -> Vec<String> {
        engine
            .generate(&prompt, &params, |_| ())
            .expect("generate")
            .candidates
            .into_iter()
            .map(|c| c.text)
            .collect()
    };
    let first = run(&mut engine, vec![sampled(1), sampled(2), sampled(3)]);
    let again = run(&mut engine, vec![sampled(1), sampled(2), sampled(3)]);
    assert_eq!(first, again, "same seeds, same texts");
    assert!(
        first[0] != first[1] || first[1] != first[2],
        "different seeds give different texts: {first:?}"
    );
    let greedy = run(
        &mut engine,
        vec![
            DecodingParams {
                seed: 5,
                ..DecodingParams::greedy(8)
            },
            DecodingParams {
                seed: 6,
                ..DecodingParams::greedy(8)
            },
        ],
    );
    assert_eq!(greedy[0], greedy[1]);
}

#[test]
fn scoring_a_generation_gives_back_its_own_logprobs() {
    let dir = model("tiny");
    let mut engine = Engine::load(&dir, Device::Cpu, 0).expect("load");
    let prompt = ids(&verify(&dir)["cases"][0]["prompt_ids"]);
    let params = DecodingParams {
        max_new_tokens: 10,
        seed: 9,
        ..DecodingParams::default()
    };
    let g = engine
        .generate_ignoring_eos(&prompt, &[params])
        .expect("generate");
    let c = &g.candidates[0];
    let scores = engine
        .score_ids(&[(prompt.clone(), c.token_ids.clone())])
        .expect("score");
    // Cached decoding and a full teacher-forced pass agree to float noise.
    assert_eq!(scores[0].count, c.token_count);
    assert!(
        (scores[0].sum - c.sum_logprob).abs() < 1e-3,
        "{} vs {}",
        scores[0].sum,
        c.sum_logprob
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

#[test]
fn broken_model_directories_name_the_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("m");
    copy_dir(&model("tiny"), &dir);
    let version = ModelDir::open(&dir).expect("open").version;
    assert_eq!(
        ModelDir::open(&dir).expect("open").version,
        version,
        "the version is stable"
    );

    std::fs::write(
        dir.join("generation_config.json"),
        "{\"eos_token_id\": 2, \"temperature\": 0.3}",
    )
    .expect("write");
    assert_ne!(
        ModelDir::open(&dir).expect("open").version,
        version,
        "changing a file changes the version"
    );

    std::fs::write(dir.join("config.json"), "{not json").expect("write");
    let err = ModelDir::open(&dir).expect_err("malformed");
    assert!(
        err.to_string().contains("config.json") && err.to_string().contains("invalid JSON"),
        "{err}"
    );

    copy_dir(&model("tiny"), &dir);
    std::fs::remove_file(dir.join("tokenizer.json")).expect("rm");
    let err = ModelDir::open(&dir).expect_err("missing");
    assert!(
        matches!(err, InferenceError::MissingFile(ref p) if p.ends_with("tokenizer.json")),
        "{err}"
    );
    assert!(err.to_string().contains("tokenizer.json"));
}

#[test]
fn a_full_worker_queue_answers_overloaded() {
    let dir = model("tiny");
    let engine = Engine::load(&dir, Device::Cpu, 1).expect("load");
    let worker = Worker::spawn(engine, 1).expect("spawn");
    let prompt = PromptInput::Raw("hello there".into());
    let long = vec![
        DecodingParams {
            max_new_tokens: 2000,
            stop: vec![],
            ..DecodingParams::greedy(2000)
        };
        4
    ];
    // One request runs, one waits; the queue holds no more, so a third or fourth is refused.
    let results: Vec<_> = (0..4)
        .map(|_| worker.submit_generate(prompt.clone(), long.clone()))
        .collect();
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(InferenceError::Overloaded(1)))),
        "some request must be refused"
    );
    for pending in results.into_iter().flatten() {
        pending.wait().expect("accepted requests finish");
    }
    assert_eq!(worker.queued(), 0);
}

#[test]
fn chat_templates_render_like_transformers() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_templates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let source = fixture["template"].as_str().expect("template");
        let (bos, eos) = (
            fixture["bos_token"].as_str().unwrap_or(""),
            fixture["eos_token"].as_str().unwrap_or(""),
        );
        for case in fixture["cases"].as_array().expect("cases") {
            let mut extra = case["extra"].as_object().cloned().unwrap_or_default();
            let template = match extra
                .remove("strftime_now")
                .and_then(|v| v.as_str().map(str::to_owned))
            {
                Some(now) => ChatTemplate::with_fixed_now(source, bos, eos, &now),
                None => ChatTemplate::new(source, bos, eos),
            }
            .expect("compile");
            let messages: Vec<Message> =
                serde_json::from_value(case["messages"].clone()).expect("messages");
            let add = case["add_generation_prompt"].as_bool().unwrap_or(false);
            let rendered = template.render(&messages, add, &extra);
            let name = format!("{} / {}", path.display(), case["name"]);
            if case["error"].as_bool() == Some(true) {
                assert!(rendered.is_err(), "{name} must raise");
            } else {
                assert_eq!(
                    rendered.expect(&name),
                    case["expected"].as_str().expect("expected"),
                    "{name}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} fixture cases found");
}

#[test]
fn reward_model_scores_match_onnxruntime_python_and_ignore_padding() {
    use pairwise_inference::RewardModel;
    let dir = model("tiny-reward");
    let reference = verify(&dir);
    let mut rm = RewardModel::load(&dir, Device::Cpu, 1).expect("load");
    let rows: Vec<Vec<u32>> = reference["input_ids"]
        .as_array()
        .expect("rows")
        .iter()
        .zip(reference["attention_mask"].as_array().expect("mask"))
        .map(|(ids_row, mask_row)| {
            ids(ids_row)
                .into_iter()
                .zip(mask_row.as_array().expect("mask row"))
                .filter(|(_, m)| m.as_i64() == Some(1))
                .map(|(id, _)| id)
                .collect()
        })
        .collect();
    let scores = rm.score_ids(&rows).expect("score");
    for (got, want) in scores
        .iter()
        .zip(reference["logits"].as_array().expect("logits"))
    {
        let want = want.as_f64().expect("logit") as f32;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
    // A row scores the same alone as in a padded batch.
    let alone = rm.score_ids(&rows[1..]).expect("score");
    assert!((alone[0] - scores[1]).abs() < 1e-6);

    let conversation = vec![Message::new("user", "Is the sky blue?")];
    let answers = vec!["Yes, on a clear day.".to_owned(), "No.".to_owned()];
    let a = rm.score(&conversation, &answers).expect("score");
    let b = rm.score(&conversation, &answers).expect("score");
    assert_eq!(a, b, "deterministic");
    assert_ne!(a[0], a[1]);
    assert_eq!(rm.version().len(), 64);
}

#[test]
fn a_decoder_is_not_a_reward_model() {
    let err = match pairwise_inference::RewardModel::load(model("tiny"), Device::Cpu, 1) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a decoder loaded as a reward model"),
    };
    assert!(err.contains("model.onnx"), "{err}");
}

/// Continuous batching: rows of prompts of different lengths share one left-padded cache, join
/// as others leave, and each candidate comes out exactly as when its prompt runs alone (same
/// seeds) — on the tiny model and on the real SmolLM2 demo model.
#[test]
fn continuous_batching_gives_each_prompt_the_candidates_it_gets_alone() {
    for name in ["tiny", "demo"] {
        let dir = model(name);
        let mut engine = Engine::load(&dir, Device::Cpu, 0).expect("load");
        let texts = [
            "Tell me a fact about the sea.",
            "Hi",
            "Write two sentences about a lighthouse keeper who finds a message in a bottle.",
            "What is 7 times 8?",
        ];
        let requests: Vec<BatchRequest> = texts
            .iter()
            .enumerate()
            .map(|(p, text)| BatchRequest {
                prompt_ids: engine
                    .encode_prompt(&PromptInput::Chat(vec![Message::new("user", *text)]))
                    .expect("encode"),
                // Sampled rows of different lengths: rows leave at different steps.
                params: (0..3u64)
                    .map(|i| DecodingParams {
                        max_new_tokens: 6 + 5 * i as u32,
                        seed: 100 * p as u64 + i,
                        ..DecodingParams::default()
                    })
                    .collect(),
            })
            .collect();
        // Five rows in flight: prompts wait for room and join a batch of other lengths; twelve:
        // all four prompts (of different lengths) prefill together, left-padded.
        for max_rows in [5, 12] {
            let mut mixed = vec![None; requests.len()];
            let mut order = Vec::new();
            engine
                .generate_continuous(&requests, max_rows, false, |i, g| {
                    order.push(i);
                    mixed[i] = Some(g);
                    Ok(())
                })
                .expect("continuous");
            assert_eq!(
                order.len(),
                requests.len(),
                "{name}: every prompt completes once"
            );
            for (r, g) in requests.iter().zip(&mixed) {
                let g = g.as_ref().expect("done");
                let alone = engine
                    .generate(&r.prompt_ids, &r.params, |_| ())
                    .expect("alone");
                let ids = |g: &pairwise_inference::Generation| -> Vec<Vec<u32>> {
                    g.candidates.iter().map(|c| c.token_ids.clone()).collect()
                };
                assert_eq!(
                    ids(g),
                    ids(&alone),
                    "{name}, {max_rows} rows: {:?}",
                    r.prompt_ids.len()
                );
                assert_eq!(
                    g.candidates.iter().map(|c| &c.text).collect::<Vec<_>>(),
                    alone.candidates.iter().map(|c| &c.text).collect::<Vec<_>>()
                );
            }
        }
    }
}
