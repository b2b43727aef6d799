//! The Koji hubs the services talk to, built from the configuration.

use koschei_koji::client::KojiClient;
use koschei_koji::error::KojiError;

use crate::config::{Config, KojiConfig};

/// Primary (builds) and secondary (package data) Koji sessions. Without
/// secondary mode both are the same primary session.
#[derive(Debug, Clone)]
pub struct KojiSessions {
    pub primary: KojiClient,
    secondary: KojiClient,
}

/// The client settings of one `[koji_config]`-style section.
pub fn client_config(k: &KojiConfig, chunk_size: usize) -> koschei_koji::config::KojiConfig {
    let opts = &k.session_opts;
    koschei_koji::config::KojiConfig {
        server: k.server.clone(),
        topurl: k.topurl.clone(),
        weburl: k.weburl.clone(),
        timeout: std::time::Duration::from_secs(opts.timeout),
        max_retries: opts.max_retries,
        retry_interval: std::time::Duration::from_secs_f64(opts.retry_interval.max(0.0)),
        max_retry_interval: std::time::Duration::from_secs_f64(
            opts.offline_retry_interval.max(0.0),
        ),
        max_retry_time: std::time::Duration::from_secs(opts.max_retry_time),
        max_reply_size: opts.max_reply_size,
        multicall_chunk_size: chunk_size,
        // Validated when the configuration was loaded.
        login: k.login().unwrap_or_default(),
        cert: k.login_args.cert.clone(),
        serverca: k
            .login_args
            .serverca
            .clone()
            .or_else(|| k.login_args.ca.clone()),
        ..koschei_koji::config::KojiConfig::default()
    }
}

impl KojiSessions {
    /// Sets up the clients of the configured hubs. The primary logs in with its login
    /// method before its first call (a login failure is that call's error, so a service
    /// retries it with back-off instead of dying); the secondary is anonymous.
    pub async fn connect(config: &Config) -> Result<KojiSessions, KojiError> {
        let k = &config.koji_config;
        let primary = KojiClient::new(client_config(k, k.multicall_chunk_size))?;
        let secondary = if config.secondary_mode {
            let s = &config.secondary_koji_config;
            let mut secondary = client_config(s, s.multicall_chunk_size);
            secondary.login = koschei_koji::LoginMethod::Anonymous;
            KojiClient::anonymous(secondary)?
        } else {
            primary.clone()
        };
        Ok(KojiSessions { primary, secondary })
    }

    /// Sessions from ready clients (tests).
    pub fn new(primary: KojiClient, secondary: Option<KojiClient>) -> KojiSessions {
        let secondary = secondary.unwrap_or_else(|| primary.clone());
        KojiSessions { primary, secondary }
    }

    /// The session holding a collection's package data: the secondary hub
    /// for secondary-mode collections, the primary otherwise.
    pub fn for_collection(&self, secondary_mode: bool) -> &KojiClient {
        if secondary_mode {
            &self.secondary
        } else {
            &self.primary
        }
    }
}
