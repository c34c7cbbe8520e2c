//! Components shared by several pages.

pub mod guard;
pub mod nav;
pub mod pager;
pub mod upload;
pub mod version_diff;
