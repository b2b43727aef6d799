//! The pages of the dashboard, one module per page or group of pages, each
//! with its own `router()`: a handler takes the
//! [`PageContext`](crate::http::context::PageContext), loads what its page
//! shows and renders it with [`crate::render`].

pub mod add_packages;
pub mod affected;
pub mod badges;
pub mod bugreport;
pub mod builds;
pub mod collections;
pub mod docs;
pub mod groups;
pub mod impact;
pub mod package;
pub mod packages;
pub mod stats;
pub mod user;
