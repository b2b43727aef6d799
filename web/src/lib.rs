//! Koschei web dashboard and JSON API: server-rendered HTML pages that
//! work without JavaScript, a read-mostly JSON API described by an OpenAPI
//! document, and the few audited edits logged-in users may make. The
//! original is `koschei/frontend/` in fedora-infra/koschei.
//!
//! # Layout
//!
//! * [`router`]: the whole application, every route with its layers.
//! * [`state`] (database pool, configuration and settings derived from it)
//!   and [`error`] (the one HTTP error type): leaves everything else uses.
//! * [`http`]: plumbing between the network and a handler: session and
//!   CSRF check, login, the per-request [`http::context::PageContext`],
//!   query and form parsing, limits, security headers, the access log,
//!   redirects, static files.
//! * [`pages`]: one module per page or group of pages, each with its own
//!   `router()`; a handler loads what its page shows and hands it to
//!   [`render`].
//! * [`render`]: HTML building blocks (the page frame, the package table,
//!   state badges, charts, SVG/PNG badges) and the HTML error page.
//! * [`api`]: the JSON API under `/api/v1` and its OpenAPI document.
//! * [`events`]: the live event stream `/api/v1/events` and its hub.
//!
//! # The path of a request
//!
//! [`router::app`] → layers ([`http::access_log`],
//! [`http::security_headers`], [`http::limits`], [`http::session`]'s
//! middleware, which loads the session and checks the CSRF token of every
//! POST) → extractors ([`http::context::PageContext`],
//! [`http::session::Session`]) → a page handler in [`pages`] → HTML from
//! [`render`]. A handler's [`error::AppError`] becomes an HTML error page
//! (or a redirect to the login) in [`render::error_page`].
//!
//! Dependencies point one way: `pages` and the API use `render` and
//! `http`, `render` uses `http`, everything uses `state` and `error`, and
//! `error` uses nothing of this crate.

pub mod api;
pub mod cache;
pub mod error;
pub mod events;
pub mod http;
pub mod listener;
pub mod pages;
pub mod render;
pub mod router;
pub mod state;

pub use router::app;
pub use state::AppState;
