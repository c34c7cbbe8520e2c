//! The pipeline end to end against real SQLite and PostgreSQL.
//!
//! One test binary; each topic is a module. Runs need the test models under `models/`
//! (`make setup-models`); imports read the data sets under `shared/data/`.

mod blind;
mod builders;
mod calibration;
mod common;
mod critique;
mod curation;
mod datasets;
mod drift;
mod eval;
mod import;
mod judging;
mod leaderboard;
mod queue_cost;
mod recipes;
mod review;
mod rounds;
mod runs;
