//! The Pairwise pipeline. Today: atomic prompt import (one code path for the CLI, the web form
//! and the REST API). Generation, judging, pairing, freezing and export arrive as later stages.

pub mod datasets;
pub mod import;

pub use datasets::{
    export_chunk, export_target, export_version, import_pairs, maybe_gunzip, ExportTarget,
};
pub use import::{import_prompts, ImportError, ImportOptions};
