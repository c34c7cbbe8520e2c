//! The `pairwise` server: configuration, the axum router (pages, REST API, auth, security
//! layers) and the command line. `main.rs` only parses the command line and dispatches here.

pub mod bench;
pub mod bench_annotate;
pub mod bench_floor;
pub mod bench_workers;
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod serve;
