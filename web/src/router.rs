//! The whole application: every page's and the API's routes, with the
//! session and CSRF layer, the request limits, conditional GET,
//! compression, security headers and the access log.

use axum::Router;

use crate::http::{
    access_log, auth, compression, conditional, limits, security_headers, session, static_files,
};
use crate::pages::{
    add_packages, affected, badges, bugreport, builds, collections, docs, groups, impact, package,
    packages, stats, user,
};
use crate::state::AppState;

/// The application router. Serve it with [`limits::serve`] (or with
/// `into_make_service_with_connect_info::<SocketAddr>()`): login and the
/// log need the peer address.
pub fn app(state: AppState) -> Router {
    let request_limits = state.config.frontend.limits.clone();
    // Answers the page cache may keep (handlers attach their `cache::Tags`).
    let cached = |router: Router<AppState>| {
        router.route_layer(axum::middleware::from_fn_with_state(
            state.page_cache.clone(),
            crate::cache::responses::layer,
        ))
    };
    let router = Router::new()
        .merge(cached(packages::router()))
        .merge(cached(package::router()))
        .merge(builds::router())
        .merge(collections::router())
        .merge(groups::router())
        .merge(add_packages::router())
        .merge(impact::router())
        .merge(user::router())
        .merge(affected::router())
        .merge(bugreport::router())
        .merge(stats::router())
        .merge(badges::router())
        .merge(docs::router())
        .merge(auth::router())
        .merge(cached(crate::api::router()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::session_layer,
        ))
        .merge(static_files::router())
        .fallback(crate::error::not_found_fallback)
        .with_state(state);
    // Layers from the innermost out: each line wraps the ones above.
    let router = limits::add(router, &request_limits);
    let router = conditional::add(router);
    let router = compression::add(router);
    let router = security_headers::add(router);
    access_log::add(router)
}
