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
        multicall_chunk_size: chunk_size,
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
    /// Connects to the configured hubs; the primary logs in with its client
    /// certificate when `login_method = "sslLogin"`.
    pub async fn connect(config: &Config) -> Result<KojiSessions, KojiError> {
        let k = &config.koji_config;
        let primary_config = client_config(k, k.multicall_chunk_size);
        let primary = if k.login_method == "sslLogin" {
            KojiClient::ssl_login(primary_config).await?
        } else {
            KojiClient::anonymous(primary_config)?
        };
        let secondary = if config.secondary_mode {
            let s = &config.secondary_koji_config;
            KojiClient::anonymous(client_config(s, s.multicall_chunk_size))?
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
