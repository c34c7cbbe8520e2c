//! Parquet pair imports: any bytes either open as a Parquet file or fail with an error, and
//! reading the rows never panics or allocates without bound (libFuzzer's RSS limit catches a
//! file whose declared sizes would); every line read is one JSON object.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::parquet_lines::ParquetLines;
use std::io::BufRead;

fuzz_target!(|data: &[u8]| {
    let Ok(lines) = ParquetLines::open(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    for line in std::io::BufReader::new(lines).lines().take(10_000) {
        let Ok(line) = line else { return };
        let row: serde_json::Value = serde_json::from_str(&line).expect("a JSON row");
        assert!(row.is_object());
    }
});
