//! The Pairwise pipeline as resumable jobs: prompt and pair import, generation runs over three
//! paths, judge runs against versioned rubrics, dataset freeze and export. Workers claim runs
//! from the database queue, so the server and standalone `pairwise worker` processes share them.

pub mod access;
pub mod annotation;
pub mod audit;
pub mod builders;
pub mod calibration;
pub mod constitutions;
pub mod datasets;
pub mod error;
pub mod evidence;
pub mod import;
pub mod leaderboard;
pub mod models;
pub mod pairing;
pub mod parquet_io;
pub mod projects;
pub mod report;
pub mod review;
pub mod rounds;
pub mod rubrics;
pub mod runs;
pub mod users;
pub mod worker;

pub use datasets::{export_target, export_version, ExportChunks, ExportTarget};
pub use error::PipelineError;
pub use import::{
    import_gold, import_pair_rows, import_pairs, import_prompts, maybe_gunzip, ImportError,
    ImportOptions, PairRows,
};
pub use pairing::{build_pairs, BuildReport};
pub use report::quality_report;
pub use runs::{
    create_generation, create_judge, create_reference, GenerateRequest, JudgeRequest, ModelRef,
};
pub use worker::{work_ahead, Outcome, Worker, WorkerOptions};
