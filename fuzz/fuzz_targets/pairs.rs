//! Pair import rows (HH-RLHF, TRL standard/conversational, UltraFeedback) and HH transcripts:
//! any line gives a pair or an error naming the line, never a panic; a parsed pair always has a
//! prompt ending with a user turn and distinct sides.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::{pair_formats, PairFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = pair_formats::parse_transcript(text);
    for (i, line) in text.lines().take(1000).enumerate() {
        let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for format in [
            PairFormat::HhRlhf,
            PairFormat::Trl,
            PairFormat::Ultrafeedback,
        ] {
            match pair_formats::from_json_row(i as u64 + 1, format, row.clone()) {
                Ok(record) => {
                    let _ =
                        pairwise_core::pair_hash(&record.prompt, &record.chosen, &record.rejected);
                    let _ = pair_formats::to_hh_transcript(&record.prompt, &record.chosen);
                }
                Err(e) => assert_eq!(e.line, i as u64 + 1),
            }
        }
    }
});
