//! Agreement inputs (JSONL and CSV, long and wide): any bytes give ratings or a line-numbered
//! error, and the statistics of whatever parsed are finite and at most 1.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pairwise_core::agreement::{agreement, read_csv, read_jsonl, CsvLayout};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let parsed = match selector % 3 {
        0 => read_jsonl(body),
        1 => read_csv(
            body,
            &CsvLayout::Long {
                item: "item".into(),
                annotator: "annotator".into(),
                label: "label".into(),
            },
        ),
        _ => read_csv(
            body,
            &CsvLayout::Wide {
                columns: vec!["a".into(), "b".into()],
                item: None,
            },
        ),
    };
    let Ok(ratings) = parsed else {
        return;
    };
    let stats = agreement(&ratings);
    for v in [
        stats.percent_agreement,
        stats.fleiss_kappa,
        stats.krippendorff_alpha,
    ]
    .into_iter()
    .flatten()
    .chain(stats.cohen.iter().filter_map(|c| c.kappa))
    {
        assert!(v.is_finite() && v <= 1.0 + 1e-9, "statistic {v}");
    }
});
