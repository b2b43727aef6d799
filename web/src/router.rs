//! The whole application: every page's and the API's routes, with the
//! session and CSRF layer, the request limits, security headers and the
//! access log.

use axum::Router;

use crate::http::{access_log, auth, limits, security_headers, session, static_files};
use crate::pages::{
    add_packages, affected, badges, bugreport, builds, collections, docs, groups, package,
    packages, stats, user,
};
use crate::state::AppState;

/// The application router. Serve it with [`limits::serve`] (or with
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
        .merge(crate::api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::session_layer,
        ))
        .merge(static_files::router())
        .fallback(crate::error::not_found_fallback)
        .with_state(state);
    let router = limits::add(router, &request_limits);
    access_log::add(security_headers::add(router))
}
