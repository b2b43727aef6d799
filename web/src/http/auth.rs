//! Login and logout (the original's `koschei/frontend/auth.py`). The identity comes from a request header
//! set by the reverse proxy that protects `/login`
//! (`frontend.auth.user_header`, ignored unless `frontend.auth.enabled`),
//! believed only from a peer listed in `frontend.auth.trusted_proxies` and
//! only when sent once; it is matched completely against
//! `frontend.auth.user_re` whose group 1 is the user name. `bypass_login`
//! (development) logs in as that user, created as an administrator. Logout
//! is a POST (CSRF-checked) and ends every session of the user.

use std::net::IpAddr;

use axum::extract::{RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koschei_core::error::is_valid_user_name;
use percent_encoding::percent_decode_str;

use crate::error::{AppError, AppResult};
use crate::http::peer::peer_addr;
use crate::http::query::QueryArgs;
use crate::http::session::{FlashKind, Session};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login).post(login))
        .route("/logout", post(logout))
}

/// `next` when it is a path on this site, else the front page (no open
/// redirects). Only visible ASCII is accepted, and neither the value nor
/// its percent-decoded forms may contain control characters or
/// backslashes or start with `//`: browsers drop tabs and newlines and read
/// `\` as `/`, so `/\t/host` or `/\\host` would lead to another host.
pub fn safe_next(next: Option<&str>) -> String {
    fn local_path(p: &str) -> bool {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.chars().any(|c| c.is_control() || c == '\\')
    }
    let Some(next) = next.filter(|n| n.bytes().all(|b| b.is_ascii_graphic())) else {
        return "/".into();
    };
    let mut current = next.to_string();
    loop {
        if !local_path(&current) {
            return "/".into();
        }
        let decoded = percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == current {
            return next.to_string();
        }
        current = decoded;
    }
}

/// Who the request says it is: `(user name, identity, make admin)`.
fn identity(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> AppResult<(String, String, bool)> {
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
    let mut values = headers.get_all(auth.user_header.as_str()).iter();
    let value = values.next();
    if values.next().is_some() {
        return Err(AppError::BadRequest(format!(
            "The {} header was sent more than once",
            auth.user_header
        )));
    }
    if value.is_some() && !peer.is_some_and(|p| state.trusted_proxies.contains(p)) {
        tracing::warn!(
            peer = ?peer,
            "identity header from a peer outside frontend.auth.trusted_proxies refused"
        );
        return Err(AppError::Forbidden(
            "Log in through the authentication proxy: this peer is not trusted to name users"
                .into(),
        ));
    }
    let identity = value
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
        .filter(|n| is_valid_user_name(n))
        .ok_or_else(|| AppError::Forbidden(format!("Identity {identity} is not accepted")))?;
    Ok((name, identity.to_string(), false))
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    RawQuery(raw): RawQuery,
    req: Request,
) -> AppResult<Response> {
    let peer = peer_addr(req.extensions()).map(|a| a.ip());
    let (name, identity, make_admin) = identity(&state, peer, req.headers())?;
    let (admin, created, generation): (bool, bool, i32) = sqlx::query_as(
        r#"INSERT INTO "user" (name, admin) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET admin = "user".admin OR EXCLUDED.admin
           RETURNING admin, (xmax = 0) AS created, session_generation"#,
    )
    .bind(&name)
    .bind(make_admin)
    .fetch_one(&state.pool)
    .await?;
    session.log_in(name.clone(), generation);
    if created {
        session.flash(
            FlashKind::Info,
            format!("New user \"{name}\" was registered."),
        );
    }
    // The messages of the original's `koschei/frontend/auth.py`.
    session.flash(
        FlashKind::Success,
        format!("Logged in as user \"{name}\" with identity \"{identity}\"."),
    );
    if admin {
        session.flash(FlashKind::Info, "You have admin privileges.");
    }
    tracing::info!(user = ?name, identity = ?identity, peer = ?peer, "login");
    let query = QueryArgs::parse(raw.as_deref());
    Ok(crate::http::redirect::found(&safe_next(query.get("next"))))
}

/// Ends the login here and in every other session of the user (copies of
/// the cookie included).
async fn logout(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    if let Some(name) = session.user() {
        sqlx::query(
            r#"UPDATE "user" SET session_generation = session_generation + 1 WHERE name = $1"#,
        )
        .bind(&name)
        .execute(&state.pool)
        .await?;
        session.log_out();
        session.flash(FlashKind::Success, "Successfully logged out.");
    } else {
        session.flash(FlashKind::Info, "You were not logged in.");
    }
    Ok(crate::http::redirect::found("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(safe_next(Some("/package/foo?x=1")), "/package/foo?x=1");
        assert_eq!(safe_next(Some("/package/a%20b")), "/package/a%20b");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%2F/evil.example",
            "/%252F/evil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/ /evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
