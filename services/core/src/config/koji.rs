//! The Koji hub sections (`koji_config`, `secondary_koji_config`): hub URLs,
//! login, client options and build settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Arguments of the Koji login (`koji_config.login_args`): the client certificate for
/// `sslLogin`, or the Kerberos principal and keytab for `gssapi`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginArgs {
    /// PEM file with the client certificate and key.
    pub cert: Option<PathBuf>,
    /// Kerberos client principal (`gssapi`).
    pub principal: Option<String>,
    /// Keytab with the principal's keys (`gssapi`).
    pub keytab: Option<PathBuf>,
    /// Kerberos credential cache (`gssapi`); a private in-memory cache when unset.
    pub ccache: Option<String>,
    /// CA bundle to verify the hub.
    pub serverca: Option<PathBuf>,
    /// Kept for compatibility with Koschei's key; same meaning as `serverca`.
    pub ca: Option<PathBuf>,
}

/// Extra client options (`koji_config.session_opts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionOpts {
    /// Per-call timeout in seconds.
    pub timeout: u64,
    /// Retries on transport errors and ServerOffline.
    pub max_retries: u32,
    /// First back-off interval in seconds (doubles per retry).
    pub retry_interval: f64,
    /// Longest back-off interval in seconds.
    pub offline_retry_interval: f64,
    /// Longest time in seconds spent retrying one call.
    pub max_retry_time: u64,
    /// Largest reply accepted from the hub, in bytes (after decompression).
    pub max_reply_size: u64,
}

impl Default for SessionOpts {
    fn default() -> Self {
        SessionOpts {
            timeout: 3600,
            max_retries: 1000,
            retry_interval: 1.0,
            offline_retry_interval: 120.0,
            max_retry_time: 1800,
            max_reply_size: 512 * 1024 * 1024,
        }
    }
}

/// A Koji hub (`koji_config` / `secondary_koji_config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KojiConfig {
    pub server: String,
    pub topurl: String,
    pub weburl: String,
    pub srpm_relative_path_root: String,
    /// `sslLogin` (alias `ssl_login`) for certificate login, `gssapi` (aliases
    /// `gssapi_login`, `krb_login`, the original's method names) for Kerberos;
    /// `logout`/empty for anonymous.
    pub login_method: String,
    pub login_args: LoginArgs,
    pub session_opts: SessionOpts,
    pub max_builds: i64,
    /// Share of `max_builds` impact checks may use (0 disables their builds): ordinary
    /// rebuilds keep the rest.
    pub impact_build_share: f64,
    pub build_arches: Vec<String>,
    pub build_opts: toml::Table,
    pub load_threshold: f64,
    pub task_priority: i32,
    /// Seconds after which a running build is canceled.
    pub task_timeout: u64,
    pub multicall_chunk_size: usize,
    pub build_from_repo_id: bool,
    /// URL template used by the repo_regen plugin (secondary mode).
    pub repo_url: Option<String>,
}

impl Default for KojiConfig {
    fn default() -> Self {
        KojiConfig {
            server: "https://koji.fedoraproject.org/kojihub".into(),
            topurl: "https://kojipkgs.fedoraproject.org".into(),
            weburl: "https://koji.fedoraproject.org/koji".into(),
            srpm_relative_path_root: "..".into(),
            login_method: "logout".into(),
            login_args: LoginArgs::default(),
            session_opts: SessionOpts::default(),
            max_builds: 30,
            impact_build_share: 0.25,
            build_arches: vec!["i386".into(), "x86_64".into(), "armhfp".into()],
            build_opts: toml::Table::new(),
            load_threshold: 0.5,
            task_priority: 30,
            task_timeout: 172_800,
            multicall_chunk_size: 100,
            build_from_repo_id: false,
            repo_url: None,
        }
    }
}

impl KojiConfig {
    /// How many impact-check builds may run at once.
    pub fn impact_build_limit(&self) -> i64 {
        let share = self.impact_build_share.clamp(0.0, 1.0);
        if share == 0.0 {
            0
        } else {
            ((self.max_builds as f64 * share).floor() as i64).max(1)
        }
    }

    /// The login method `login_method` and `login_args` describe.
    pub fn login(&self) -> Result<koschei_koji::LoginMethod, String> {
        use koschei_koji::LoginMethod;
        let args = &self.login_args;
        match self.login_method.as_str() {
            "" | "logout" => Ok(LoginMethod::Anonymous),
            "sslLogin" | "ssl_login" => Ok(LoginMethod::Certificate),
            "gssapi" | "gssapi_login" | "krb_login" | "krbLogin" | "gssapiLogin" => Ok(
                LoginMethod::Gssapi(koschei_koji::negotiate::KerberosCredentials {
                    principal: args.principal.clone(),
                    keytab: args.keytab.clone(),
                    ccache: args.ccache.clone(),
                }),
            ),
            other => Err(format!(
                "koji_config.login_method {other:?} is not one of logout, sslLogin, gssapi"
            )),
        }
    }
}
