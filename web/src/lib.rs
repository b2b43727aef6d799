//! Koschei web dashboard and JSON API (spec §6): server-rendered HTML pages
//! that work without JavaScript, a read-mostly JSON API described by an
//! OpenAPI document, and the few audited edits logged-in users may make.
//!
//! Every page and resource is one module with its own `router()`; the
//! modules share [`state::AppState`], the per-request [`context::PageContext`]
//! and the one HTTP error type [`error::AppError`].

// serde_json::json! of the OpenAPI document nests deeply.
#![recursion_limit = "256"]

pub mod access_log;
pub mod add_packages;
pub mod affected;
pub mod api;
pub mod api_list;
pub mod auth;
pub mod badge_png;
pub mod badges;
pub mod bugreport;
pub mod builds;
pub mod charts;
pub mod collections;
pub mod context;
pub mod deps;
pub mod docs;
pub mod error;
pub mod forms;
pub mod groups;
pub mod layout;
pub mod limits;
pub mod openapi;
pub mod package;
pub mod package_table;
pub mod packages;
pub mod peer;
pub mod query;
pub mod redirect;
pub mod security_headers;
pub mod session;
pub mod state;
pub mod static_files;
pub mod stats;
pub mod template;
pub mod user;

use axum::Router;

pub use state::AppState;

/// The whole application: every route, with the session and CSRF layer,
/// the request limits, security headers and the access log. Serve it with
/// [`limits::serve`] (or with
/// `into_make_service_with_connect_info::<SocketAddr>()`): login and the
/// log need the peer address.
pub fn app(state: AppState) -> Router {
    let request_limits = state.config.frontend.limits.clone();
    let router = Router::new()
        .merge(packages::router())
        .merge(package::router())
        .merge(builds::router())
        .merge(collections::router())
        .merge(groups::router())
        .merge(add_packages::router())
        .merge(user::router())
        .merge(affected::router())
        .merge(bugreport::router())
        .merge(stats::router())
        .merge(badges::router())
        .merge(docs::router())
        .merge(auth::router())
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::session_layer,
        ))
        .merge(static_files::router())
        .fallback(error::not_found_fallback)
        .with_state(state);
    let router = limits::add(router, &request_limits);
    access_log::add(security_headers::add(router))
}
