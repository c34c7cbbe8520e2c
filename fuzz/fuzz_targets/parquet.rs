//! Parquet pair imports: any bytes either open as a Parquet file or fail with an error, and
//! reading the rows never panics out of the reader or allocates without bound (libFuzzer's RSS
//! limit catches a file whose declared sizes would); every line read is one JSON object.
//!
//! The reader contains panics of the parquet crate's decoders (it turns them into errors), so
//! the hook libfuzzer-sys installs — abort on any panic, even a caught one — is replaced by one
//! that only prints; a panic that escapes the reader still reaches libfuzzer-sys's own
//! `catch_unwind`, which aborts, so it is still found.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::parquet_lines::ParquetLines;
use std::io::BufRead;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("contained: {info}"))));
    let Ok(lines) = ParquetLines::open(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    for line in std::io::BufReader::new(lines).lines().take(10_000) {
        let Ok(line) = line else { return };
        let row: serde_json::Value = serde_json::from_str(&line).expect("a JSON row");
        assert!(row.is_object());
    }
});
