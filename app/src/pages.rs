//! One routed page per file.

pub mod datasets;
pub mod home;
pub mod login;
pub mod not_found;
pub mod projects;
pub mod prompts;
pub mod users;
