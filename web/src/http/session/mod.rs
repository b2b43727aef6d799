//! The signed session cookie (user name with its session generation, issue
//! time, CSRF token, flash messages) and the middleware that loads it,
//! checks the CSRF token of every POST and writes the cookie back when it
//! changed.
//!
//! The cookie's content and signature are [`cookie_value`]'s. A cookie is
//! no session when its signature does not verify, when it was issued more
//! than `frontend.session_lifetime` seconds ago, or when its user has logged
//! out since: logging out increments `user.session_generation`, which every
//! cookie of that user names, so copies of the cookie stop working too.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use koschei_core::audit::Actor;
use koschei_core::model::LogEnvironment;

use crate::error::AppError;
use crate::state::AppState;

pub mod cookie_value;

pub use self::cookie_value::{FlashKind, SessionData, SessionKey, COOKIE_NAME};

/// The logged-in user, as the session layer loads it for the request.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i32,
    pub name: String,
    pub admin: bool,
}

impl User {
    /// The user as the author of audited changes made through the web.
    pub fn actor(&self) -> Actor {
        Actor {
            environment: LogEnvironment::Frontend,
            user_id: Some(self.id),
        }
    }
}

/// Name of the CSRF token field of every form.
pub const CSRF_FIELD: &str = "csrf_token";
/// Header carrying the CSRF token of a JSON request (the API's POSTs).
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 1 << 20;

struct SessionState {
    data: SessionData,
    /// Whether the cookie must be (re)written.
    dirty: bool,
    /// Whether the response carries the CSRF token (so must not be cached).
    token_shown: bool,
}

/// The session of the current request (cheap to clone; shared with the
/// middleware, which writes it back).
#[derive(Clone)]
pub struct Session(Arc<Mutex<SessionState>>);

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Session {
    fn new(data: Option<SessionData>, now: i64) -> Self {
        let mut data = data.unwrap_or_else(|| SessionData {
            issued: now,
            ..SessionData::default()
        });
        if data.csrf.is_empty() {
            data.csrf = new_token();
        }
        // A fresh session is only written once something needs it (a form
        // rendered, a login, a flash), so anonymous page views set no cookie.
        Session(Arc::new(Mutex::new(SessionState {
            data,
            dirty: false,
            token_shown: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The logged-in user name.
    pub fn user(&self) -> Option<String> {
        self.lock().data.user.clone()
    }

    /// Starts a new session for `user` at its current session generation
    /// (renews the CSRF token and the issue time).
    pub fn log_in(&self, user: String, generation: i32) {
        self.restart(Some(user), generation);
    }

    /// Ends the login (renews the CSRF token and the issue time).
    pub fn log_out(&self) {
        self.restart(None, 0);
    }

    fn restart(&self, user: Option<String>, generation: i32) {
        let mut s = self.lock();
        s.data.user = user;
        s.data.generation = generation;
        s.data.issued = now();
        s.data.csrf = new_token();
        s.dirty = true;
    }

    /// The CSRF token to embed in a form.
    pub fn csrf_token(&self) -> String {
        let mut s = self.lock();
        s.dirty = true;
        s.token_shown = true;
        s.data.csrf.clone()
    }

    /// Queues a message for the next page.
    pub fn flash(&self, kind: FlashKind, message: impl Into<String>) {
        let mut s = self.lock();
        s.data.flashes.push((kind, message.into()));
        s.dirty = true;
    }

    /// Takes the queued messages (they are shown once).
    pub fn take_flashes(&self) -> Vec<(FlashKind, String)> {
        let mut s = self.lock();
        if s.data.flashes.is_empty() {
            return Vec::new();
        }
        s.dirty = true;
        std::mem::take(&mut s.data.flashes)
    }

    fn csrf_matches(&self, token: &str) -> bool {
        let s = self.lock();
        let expected = s.data.csrf.as_bytes();
        let token = token.as_bytes();
        expected.len() == token.len()
            && expected
                .iter()
                .zip(token)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::BadRequest("no session".into()))
    }
}

/// Current time in Unix seconds.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `frontend.session_lifetime` in seconds.
fn lifetime(state: &AppState) -> i64 {
    i64::try_from(state.config.frontend.session_lifetime).unwrap_or(i64::MAX)
}

fn session_cookie(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// The session the request's cookie carries, if it is one: signed, not
/// expired, and (with a user) of the user's current session generation.
/// The user is returned with it.
async fn load(
    state: &AppState,
    cookie: Option<&str>,
    now: i64,
) -> Result<(Session, Option<User>), AppError> {
    let lifetime = lifetime(state);
    let Some(data) = cookie.and_then(|v| state.session_key.decode(v)) else {
        return Ok((Session::new(None, now), None));
    };
    // A little clock skew between restarts is tolerated, a future date not.
    if data.issued > now + 60 || now >= data.issued.saturating_add(lifetime) {
        let session = Session::new(None, now);
        if data.user.is_some() {
            session.flash(FlashKind::Info, "Your login has expired; log in again.");
        }
        return Ok((session, None));
    }
    let Some(name) = &data.user else {
        return Ok((Session::new(Some(data), now), None));
    };
    let row: Option<(i32, String, bool, i32)> =
        sqlx::query_as(r#"SELECT id, name, admin, session_generation FROM "user" WHERE name = $1"#)
            .bind(name)
            .fetch_optional(&state.pool)
            .await?;
    match row {
        Some((id, name, admin, generation)) if generation == data.generation => Ok((
            Session::new(Some(data), now),
            Some(User { id, name, admin }),
        )),
        // Logged out since (or the user is gone): an anonymous session.
        _ => Ok((Session::new(None, now), None)),
    }
}

/// Loads the session, rejects POST requests without the session's CSRF
/// token (form field `csrf_token`, or header `X-CSRF-Token`; refusals of
/// `/api/` requests are JSON: 401 without a login, 403 with one), runs the
/// handler and writes the cookie back when the session changed. Responses that carry the CSRF token or
/// belong to a logged-in session are marked `Cache-Control: private,
/// no-store`.
pub async fn session_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = now();
    let cookie = session_cookie(&req).map(str::to_string);
    let (session, user) = match load(&state, cookie.as_deref(), now).await {
        Ok(loaded) => loaded,
        Err(e) => return e.into_response(),
    };
    let (mut parts, body) = req.into_parts();
    let body = if parts.method == Method::POST {
        let api = parts.uri.path().starts_with("/api/");
        let refuse = |e: AppError| {
            if api {
                crate::api::ApiError(e).into_response()
            } else {
                e.into_response()
            }
        };
        let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => return refuse(AppError::BadRequest("Request body too large".into())),
        };
        let token = match parts.headers.get(CSRF_HEADER) {
            Some(header) => header.to_str().ok().map(str::to_string),
            None => serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
                .map(|(_, v)| v),
        };
        if !token.is_some_and(|t| session.csrf_matches(&t)) {
            return refuse(match (api, &user) {
                (true, None) => AppError::Unauthorized(
                    "Log in first: send the session cookie and its CSRF token".into(),
                ),
                (true, Some(_)) => AppError::Forbidden(format!(
                    "The {CSRF_HEADER} header is missing or not the session's CSRF token"
                )),
                (false, _) => AppError::BadRequest(
                    "The form has expired or its CSRF token is missing; reload the page and try again"
                        .into(),
                ),
            });
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(session.clone());
    if let Some(user) = user {
        parts.extensions.insert(user);
    }
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let s = session.lock();
    if s.dirty {
        let remaining = s
            .data
            .issued
            .saturating_add(lifetime(&state))
            .saturating_sub(now)
            .max(0);
        let cookie = Cookie::build((COOKIE_NAME, state.session_key.encode(&s.data)))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(state.config.frontend.secure_cookie)
            .max_age(cookie::time::Duration::seconds(remaining))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    if s.dirty || s.token_shown || s.data.user.is_some() {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_comparison() {
        let session = Session::new(None, 0);
        let token = session.csrf_token();
        assert!(session.csrf_matches(&token));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&token[1..]));
    }
}
