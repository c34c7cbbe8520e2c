//! Prompt import (JSONL and CSV): any bytes give records or line-numbered errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::{ImportFormat, PromptReader};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = if selector % 2 == 0 {
        ImportFormat::Jsonl
    } else {
        ImportFormat::Csv
    };
    let Ok(reader) = PromptReader::new(body, format) else {
        return;
    };
    for record in reader.take(10_000) {
        match record {
            Ok(r) => assert_eq!(r.hash.len(), 64, "every stored prompt has a sha256 hash"),
            Err(e) => assert!(e.line >= 1, "errors name a line"),
        }
    }
});
