//! One routed page per file.

pub mod annotate;
pub mod audit;
pub mod calibration;
pub mod candidates;
pub mod constitutions;
pub mod critiques;
pub mod datasets;
pub mod eval;
pub mod home;
pub mod leaderboard;
pub mod login;
pub mod members;
pub mod models;
pub mod not_found;
pub mod projects;
pub mod prompts;
pub mod review;
pub mod rounds;
pub mod rubrics;
pub mod runs;
pub mod users;
pub mod version;
