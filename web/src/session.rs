//! The signed session cookie (user name, CSRF token, flash messages) and
//! the middleware that loads it, checks the CSRF token of every POST and
//! writes the cookie back when it changed.
//!
//! The cookie holds `base64url(JSON) "." base64url(HMAC-SHA256(JSON))`; a
//! cookie whose signature does not verify is ignored (a fresh session).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::AppError;
use crate::state::AppState;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "koschei_session";
/// Name of the CSRF token field of every form.
pub const CSRF_FIELD: &str = "csrf_token";
/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 1 << 20;

/// Secret key signing session cookies.
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    /// A key from the configured secret.
    pub fn new(secret: &[u8]) -> Self {
        SessionKey(secret.to_vec())
    }

    /// A random key (sessions do not survive a restart).
    pub fn random() -> Self {
        let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        SessionKey(key)
    }

    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(data);
        mac
    }

    /// Serialises and signs a session.
    pub fn encode(&self, data: &SessionData) -> String {
        let json = serde_json::to_vec(data).expect("session serialises");
        let sig = self.mac(&json).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    /// Verifies and deserialises a session cookie value.
    pub fn decode(&self, value: &str) -> Option<SessionData> {
        let (payload, sig) = value.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        self.mac(&json).verify_slice(&sig).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// Category of a flash message (Bootstrap-like names, as in Koschei).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Danger,
    Info,
}

impl FlashKind {
    /// CSS class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Danger => "danger",
            FlashKind::Info => "info",
        }
    }
}

/// What the session cookie carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// Logged-in user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// CSRF token of the session (random, created on first use).
    #[serde(default)]
    pub csrf: String,
    /// Messages shown once on the next page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flashes: Vec<(FlashKind, String)>,
}

struct SessionState {
    data: SessionData,
    /// Whether the cookie must be (re)written.
    dirty: bool,
}

/// The session of the current request (cheap to clone; shared with the
/// middleware, which writes it back).
#[derive(Clone)]
pub struct Session(Arc<Mutex<SessionState>>);

impl Session {
    fn new(data: Option<SessionData>) -> Self {
        let mut data = data.unwrap_or_default();
        if data.csrf.is_empty() {
            data.csrf = uuid::Uuid::new_v4().simple().to_string();
        }
        // A fresh session is only written once something needs it (a form
        // rendered, a login, a flash), so anonymous page views set no cookie.
        Session(Arc::new(Mutex::new(SessionState { data, dirty: false })))
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The logged-in user name.
    pub fn user(&self) -> Option<String> {
        self.lock().data.user.clone()
    }

    /// Logs a user in (or out with `None`) and renews the CSRF token.
    pub fn set_user(&self, user: Option<String>) {
        let mut s = self.lock();
        s.data.user = user;
        s.data.csrf = uuid::Uuid::new_v4().simple().to_string();
        s.dirty = true;
    }

    /// The CSRF token to embed in a form.
    pub fn csrf_token(&self) -> String {
        let mut s = self.lock();
        s.dirty = true;
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

    fn dirty_data(&self) -> Option<SessionData> {
        let s = self.lock();
        s.dirty.then(|| s.data.clone())
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

/// Loads the session, rejects POST requests without the session's CSRF
/// token (form field `csrf_token`), runs the handler and writes the cookie
/// back when the session changed.
pub async fn session_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = Session::new(session_cookie(&req).and_then(|v| state.session_key.decode(v)));
    let (mut parts, body) = req.into_parts();
    let body = if parts.method == Method::POST {
        let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => return AppError::BadRequest("Request body too large".into()).into_response(),
        };
        let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD))
            .map(|(_, v)| v);
        if !token.is_some_and(|t| session.csrf_matches(&t)) {
            return AppError::BadRequest(
                "The form has expired or its CSRF token is missing; reload the page and try again"
                    .into(),
            )
            .into_response();
        }
        Body::from(bytes)
    } else {
        body
    };
    parts.extensions.insert(session.clone());
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(data) = session.dirty_data() {
        let secure = state
            .config
            .frontend
            .external_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let cookie = format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax{}",
            state.session_key.encode(&data),
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_tampering() {
        let key = SessionKey::new(b"secret");
        let data = SessionData {
            user: Some("alice".into()),
            csrf: "t".into(),
            flashes: vec![(FlashKind::Info, "hi".into())],
        };
        let value = key.encode(&data);
        assert_eq!(key.decode(&value), Some(data));
        assert_eq!(SessionKey::new(b"other").decode(&value), None);
        let (payload, sig) = value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"user":"admin","csrf":"t"}"#);
        assert_eq!(key.decode(&format!("{forged}.{sig}")), None);
        assert_eq!(key.decode(payload), None);
    }

    #[test]
    fn csrf_comparison() {
        let session = Session::new(None);
        let token = session.csrf_token();
        assert!(session.csrf_matches(&token));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&token[1..]));
    }
}
