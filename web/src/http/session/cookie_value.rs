//! The session cookie's value: what it carries ([`SessionData`]) and the
//! key that signs it ([`SessionKey`]).
//!
//! The cookie value is `base64url(JSON)` signed with HMAC-SHA256 by the
//! `cookie` crate, with a key derived from `frontend.secret_key`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, CookieJar, Key};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "koschei_session";
/// Key signing session cookies.
pub struct SessionKey(Key);

impl SessionKey {
    /// A key derived from the configured secret (HKDF). Secrets shorter than
    /// 32 bytes are hashed first; only `bypass_login` demos may use them
    /// ([`crate::state::AppState::new`] refuses them otherwise).
    pub fn new(secret: &[u8]) -> Self {
        let key = if secret.len() >= 32 {
            Key::derive_from(secret)
        } else {
            Key::derive_from(&Sha256::digest(secret))
        };
        SessionKey(key)
    }

    /// A random key (sessions do not survive a restart).
    pub fn random() -> Self {
        SessionKey(Key::generate())
    }

    /// Serialises and signs a session.
    pub fn encode(&self, data: &SessionData) -> String {
        let json = serde_json::to_vec(data).expect("session serialises");
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.0)
            .add(Cookie::new(COOKIE_NAME, URL_SAFE_NO_PAD.encode(json)));
        jar.get(COOKIE_NAME)
            .expect("cookie just added")
            .value()
            .to_string()
    }

    /// Verifies and deserialises a session cookie value.
    pub fn decode(&self, value: &str) -> Option<SessionData> {
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(COOKIE_NAME, value.to_string()));
        let cookie = jar.signed(&self.0).get(COOKIE_NAME)?;
        let json = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
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
    /// The user's `session_generation` at login.
    #[serde(default)]
    pub generation: i32,
    /// When the session began (login, or first use): Unix seconds.
    #[serde(default)]
    pub issued: i64,
    /// CSRF token of the session (random, created on first use).
    #[serde(default)]
    pub csrf: String,
    /// Messages shown once on the next page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flashes: Vec<(FlashKind, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_round_trip_and_tampering() {
        let key = SessionKey::new(&[7; 32]);
        let data = SessionData {
            user: Some("alice".into()),
            generation: 3,
            issued: 1_700_000_000,
            csrf: "t".into(),
            flashes: vec![(FlashKind::Info, "hi".into())],
        };
        let value = key.encode(&data);
        assert_eq!(key.decode(&value), Some(data));
        assert_eq!(SessionKey::new(&[8; 32]).decode(&value), None);
        // The signature (44 base64 characters) covers the payload.
        let (sig, _) = value.split_at(44);
        let forged = URL_SAFE_NO_PAD.encode(br#"{"user":"admin","csrf":"t"}"#);
        assert_eq!(key.decode(&format!("{sig}{forged}")), None);
        assert_eq!(key.decode(&value[44..]), None);
    }
}
