//! The application state handed to every handler.

use std::sync::Arc;

use anyhow::bail;
use axum::http::HeaderName;
use koschei_core::Config;
use regex::Regex;
use sqlx::PgPool;

use crate::cache::PageCache;
use crate::events::EventHub;
use crate::http::peer::TrustedProxies;
use crate::http::session::cookie_value::SessionKey;

/// Shortest `frontend.secret_key` accepted outside `bypass_login` demos.
pub const MIN_SECRET_LEN: usize = 32;

/// Database pool, configuration and the derived settings handlers need.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    /// `frontend.auth.user_re`, anchored to match the whole identity.
    pub user_re: Arc<Regex>,
    /// `frontend.auth.trusted_proxies`.
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Key signing the session cookie.
    pub session_key: Arc<SessionKey>,
    /// Dist-git's cached maintainer map (`pagure.owner_alias_url`), for user pages.
    pub pagure: Option<Arc<koschei_core::pagure::MaintainerCache>>,
    /// The cache of anonymous answers (`frontend.cache`; `None` when disabled).
    pub page_cache: Option<Arc<PageCache>>,
    /// The event stream's hub (started by the first stream, or by `main`).
    pub events: EventHub,
}

impl AppState {
    /// Builds the state; fails on an invalid `frontend.auth` setting and on a
    /// missing, placeholder or short `frontend.secret_key` (allowed only
    /// with `bypass_login`, a development setting). Starts the page cache's
    /// change feed, so it must run inside a Tokio runtime.
    pub fn new(pool: PgPool, config: Config) -> anyhow::Result<AppState> {
        let auth = &config.frontend.auth;
        let user_re = Regex::new(&format!("^(?:{})$", auth.user_re))
            .map_err(|e| anyhow::anyhow!("invalid frontend.auth.user_re: {e}"))?;
        if HeaderName::try_from(auth.user_header.as_str()).is_err() {
            bail!("invalid frontend.auth.user_header {:?}", auth.user_header);
        }
        let trusted_proxies = TrustedProxies::parse(&auth.trusted_proxies)?;
        let session_key = session_key(&config)?;
        let pagure = koschei_core::pagure::MaintainerCache::from_config(&config.pagure)?;
        let page_cache = PageCache::start(pool.clone(), &config.frontend.cache);
        let events = EventHub::new(
            pool.clone(),
            &config.fedmsg_publisher.modname,
            config.frontend.limits.max_event_streams,
        );
        Ok(AppState {
            pool,
            config: Arc::new(config),
            user_re: Arc::new(user_re),
            trusted_proxies: Arc::new(trusted_proxies),
            session_key: Arc::new(session_key),
            pagure: pagure.map(Arc::new),
            page_cache,
            events,
        })
    }
}

/// The key from `frontend.secret_key`, checked unless `bypass_login` is set.
fn session_key(config: &Config) -> anyhow::Result<SessionKey> {
    let demo = config
        .bypass_login
        .as_deref()
        .is_some_and(|n| !n.is_empty());
    let secret = config
        .frontend
        .secret_key
        .as_deref()
        .filter(|s| !s.is_empty());
    let problem = match secret {
        None => Some("is not set".to_string()),
        Some(s) if is_placeholder(s) => Some("is the example's placeholder".to_string()),
        Some(s) if s.len() < MIN_SECRET_LEN => Some(format!(
            "has {} bytes, fewer than {MIN_SECRET_LEN}",
            s.len()
        )),
        Some(_) => None,
    };
    match (problem, secret) {
        (None, Some(s)) => Ok(SessionKey::new(s.as_bytes())),
        (Some(problem), _) if !demo => bail!(
            "frontend.secret_key {problem}: set it to at least {MIN_SECRET_LEN} random \
             characters (e.g. `openssl rand -base64 48`)"
        ),
        (_, Some(s)) => Ok(SessionKey::new(s.as_bytes())),
        (_, None) => {
            tracing::warn!(
                "frontend.secret_key is not set: using a random key, sessions end at restart"
            );
            Ok(SessionKey::random())
        }
    }
}

/// Whether the secret is a placeholder copied from documentation.
fn is_placeholder(secret: &str) -> bool {
    let s = secret.to_ascii_lowercase();
    [
        "replace_me",
        "replace-me",
        "changeme",
        "change-me",
        "change_me",
    ]
    .iter()
    .any(|p| s.contains(p))
}
