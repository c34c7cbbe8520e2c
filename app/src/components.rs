//! Components shared by several pages.

pub mod guard;
pub mod nav;
