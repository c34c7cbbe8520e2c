//! Judge output: scores are read from any text without panicking, and when they are, every
//! dimension is present and within 0–1.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::{judge, rubric::RubricSpec};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rubric = RubricSpec::default_3h();
    for object in judge::json_objects(text) {
        assert!(object.starts_with('{') && object.ends_with('}'));
    }
    if let Ok(scores) = judge::parse_scores(text, &rubric) {
        assert_eq!(scores.len(), rubric.dimensions.len());
        assert!(scores.values().all(|v| (0.0..=1.0).contains(v)));
        let overall = rubric.overall(&scores).expect("overall");
        assert!((0.0..=1.0).contains(&overall));
    }
});
