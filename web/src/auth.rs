//! Login and logout (spec §6.5). The identity comes from a request header
//! set by a trusted reverse proxy that protects `/login`
//! (`frontend.auth.user_header`, ignored unless `frontend.auth.enabled`),
//! matched completely against `frontend.auth.user_re` whose group 1 is the
//! user name. `bypass_login` (development) logs in as that user, created as
//! an administrator. The user name is kept in the signed session cookie.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::error::{AppError, AppResult};
use crate::query::{encode, QueryArgs};
use crate::session::{FlashKind, Session};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login).post(login))
        .route("/logout", get(logout))
}

/// URL of the login page returning to `next` afterwards.
pub fn login_url(next: &str) -> String {
    format!("/login?next={}", encode(next))
}

/// `next` when it is a local path, else the front page (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Who the request says it is: `(user name, identity)`.
fn identity(state: &AppState, headers: &HeaderMap) -> AppResult<(String, String, bool)> {
    if let Some(name) = state
        .config
        .bypass_login
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        return Ok((name.to_string(), name.to_string(), true));
    }
    let auth = &state.config.frontend.auth;
    if !auth.enabled {
        return Err(AppError::NotImplemented(
            "Login is not configured on this server".into(),
        ));
    }
    let identity = headers
        .get(auth.user_header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AppError::NotImplemented("No identity was supplied by the authentication proxy".into())
        })?;
    let name = state
        .user_re
        .captures(identity)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AppError::Forbidden(format!("Identity {identity} is not accepted")))?;
    Ok((name, identity.to_string(), false))
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (name, identity, make_admin) = identity(&state, &headers)?;
    let (admin, created): (bool, bool) = sqlx::query_as(
        r#"INSERT INTO "user" (name, admin) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET admin = "user".admin OR EXCLUDED.admin
           RETURNING admin, (xmax = 0) AS created"#,
    )
    .bind(&name)
    .bind(make_admin)
    .fetch_one(&state.pool)
    .await?;
    if created {
        session.flash(FlashKind::Info, format!("New user {name} was registered."));
    }
    session.set_user(Some(name.clone()));
    let mut message = format!("Logged in as user {name} with identity {identity}.");
    if admin {
        message.push_str(" You have admin privileges.");
    }
    session.flash(FlashKind::Success, message);
    let query = QueryArgs::parse(raw.as_deref());
    Ok(Redirect::to(&safe_next(query.get("next"))).into_response())
}

async fn logout(session: Session) -> Response {
    if session.user().is_some() {
        session.set_user(None);
        session.flash(FlashKind::Info, "You were logged out.");
    }
    Redirect::to("/").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/package/foo?x=1")), "/package/foo?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
