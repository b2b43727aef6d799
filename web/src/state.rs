//! The application state handed to every handler.

use std::sync::Arc;

use koschei_core::Config;
use regex::Regex;
use sqlx::PgPool;

use crate::session::SessionKey;

/// Database pool, configuration and the derived settings handlers need.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    /// `frontend.auth.user_re`, anchored to match the whole identity.
    pub user_re: Arc<Regex>,
    /// Key signing the session cookie.
    pub session_key: Arc<SessionKey>,
}

impl AppState {
    /// Builds the state; fails on an invalid `frontend.auth.user_re`.
    pub fn new(pool: PgPool, config: Config) -> anyhow::Result<AppState> {
        let user_re = Regex::new(&format!("^(?:{})$", config.frontend.auth.user_re))
            .map_err(|e| anyhow::anyhow!("invalid frontend.auth.user_re: {e}"))?;
        let session_key = match &config.frontend.secret_key {
            Some(secret) if !secret.is_empty() => SessionKey::new(secret.as_bytes()),
            _ => {
                tracing::warn!(
                    "frontend.secret_key is not set: using a random key, sessions end at restart"
                );
                SessionKey::random()
            }
        };
        Ok(AppState {
            pool,
            config: Arc::new(config),
            user_re: Arc::new(user_re),
            session_key: Arc::new(session_key),
        })
    }
}
