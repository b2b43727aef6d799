//! Connection settings of one Koji instance.

use std::path::PathBuf;
use std::time::Duration;

use crate::backoff::BackoffPolicy;
use crate::negotiate::KerberosCredentials;

/// How the client opens its session with the hub.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LoginMethod {
    /// No session: read-only calls.
    #[default]
    Anonymous,
    /// `sslLogin` with the TLS client certificate (`cert`).
    Certificate,
    /// `sslLogin` behind SPNEGO with a Kerberos credential from a keytab.
    Gssapi(KerberosCredentials),
}

/// How to reach and talk to one Koji hub. The service configuration maps its
/// `koji_config` keys onto this struct; defaults are those of Fedora's Koji and Koschei.
#[derive(Debug, Clone, PartialEq)]
pub struct KojiConfig {
    /// XML-RPC endpoint (`koji_config.server`).
    pub server: String,
    /// Root of the file tree with `repos/` and `work/` (`koji_config.topurl`).
    pub topurl: String,
    /// Web UI root, for links (`koji_config.weburl`).
    pub weburl: String,
    /// Total time allowed for one HTTP exchange.
    pub timeout: Duration,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a reply (a stalled hub fails after it).
    pub read_timeout: Duration,
    /// Retries after the first attempt on transport errors, 5xx, 429 and `ServerOffline`.
    pub max_retries: u32,
    /// Longest time spent retrying one call (the retries stop earlier when it is used up).
    pub max_retry_time: Duration,
    /// Largest reply accepted, in bytes after decompression.
    pub max_reply_size: u64,
    /// How sessions are opened; a client with a login method logs in before its first
    /// call and again when the hub expires the session.
    pub login: LoginMethod,
    /// First back-off delay; doubled after each retry.
    pub retry_interval: Duration,
    /// Upper bound of the back-off delay.
    pub max_retry_interval: Duration,
    /// Calls per `multiCall` request (`koji_config.multicall_chunk_size`).
    pub multicall_chunk_size: usize,
    /// PEM file with the client certificate and its private key, for `sslLogin`.
    pub cert: Option<PathBuf>,
    /// PEM file with the CA that signed the hub's certificate (system roots otherwise).
    pub serverca: Option<PathBuf>,
}

impl Default for KojiConfig {
    fn default() -> Self {
        KojiConfig {
            server: "https://koji.fedoraproject.org/kojihub".to_owned(),
            topurl: "https://kojipkgs.fedoraproject.org".to_owned(),
            weburl: "https://koji.fedoraproject.org/koji".to_owned(),
            timeout: Duration::from_secs(15 * 60),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            max_retries: 5,
            max_retry_time: Duration::from_secs(30 * 60),
            max_reply_size: 512 * 1024 * 1024,
            login: LoginMethod::Anonymous,
            retry_interval: Duration::from_secs(1),
            max_retry_interval: Duration::from_secs(60),
            multicall_chunk_size: 100,
            cert: None,
            serverca: None,
        }
    }
}

impl KojiConfig {
    /// A default configuration pointing at `server` and `topurl`.
    pub fn new(server: impl Into<String>, topurl: impl Into<String>) -> Self {
        KojiConfig {
            server: server.into(),
            topurl: topurl.into(),
            ..KojiConfig::default()
        }
    }

    /// The HTTP policy of calls and downloads (timeouts, CA, certificate, size cap).
    pub fn http_policy(&self) -> crate::http::HttpPolicy {
        crate::http::HttpPolicy {
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            timeout: self.timeout,
            cert: self.cert.clone(),
            serverca: self.serverca.clone(),
            max_body: self.max_reply_size,
        }
    }

    /// The back-off between retries of a call: `retry_interval` doubling up to
    /// `max_retry_interval`.
    pub fn backoff(&self) -> BackoffPolicy {
        BackoffPolicy::capped(self.retry_interval, self.max_retry_interval)
    }
}
