//! Configuration (spec §8) in TOML.
//!
//! Files are merged recursively in order (later files win key by key). The
//! list is `/etc/koschei/koschei.toml` unless `KOSCHEI_CONFIG` (colon-separated
//! paths) overrides it; `--config FILE` on any binary appends a file. Every
//! key has Koschei's default. `DATABASE_URL` in the environment wins over
//! `db_url`. `[secondary_koji_config]` inherits every key of `[koji_config]`
//! and its presence turns on secondary mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default configuration file when neither `KOSCHEI_CONFIG` nor `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/koschei/koschei.toml";

/// Errors while reading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid TOML in {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Full database URL (Koschei's `db_url`); `DATABASE_URL` overrides it.
    pub db_url: Option<String>,
    /// Database URL parts used when `db_url` is not set.
    pub database_config: DatabaseConfig,
    /// Role granted DML rights after `create-db`.
    pub unpriv_db_username: Option<String>,
    pub koji_config: KojiConfig,
    /// Effective secondary hub configuration (primary keys overlaid with the
    /// `[secondary_koji_config]` keys given).
    pub secondary_koji_config: KojiConfig,
    /// True when any `[secondary_koji_config]` key was given.
    #[serde(skip_deserializing)]
    pub secondary_mode: bool,
    pub dependency: DependencyConfig,
    pub priorities: PriorityConfig,
    /// Per-service loop settings, keyed by service name.
    pub services: BTreeMap<String, ServiceConfig>,
    pub fedmsg: FedmsgConfig,
    #[serde(rename = "fedmsg-publisher")]
    pub fedmsg_publisher: PublisherConfig,
    pub directories: DirectoriesConfig,
    pub frontend: FrontendConfig,
    pub bugreport: BugreportConfig,
    /// Dist-git (Pagure): user pages and group refreshes.
    pub pagure: crate::pagure::PagureConfig,
    /// External links shown on package pages; `{package.name}` etc. are
    /// interpolated.
    pub links: Vec<Link>,
    /// Development only: log every web visitor in as this admin user.
    pub bypass_login: Option<String>,
    /// Chunk size when registering real builds.
    pub real_builds_insert_chunk: usize,
    /// Version shown in the web footer.
    pub version: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db_url: None,
            database_config: DatabaseConfig::default(),
            unpriv_db_username: None,
            koji_config: KojiConfig::default(),
            secondary_koji_config: KojiConfig::default(),
            secondary_mode: false,
            dependency: DependencyConfig::default(),
            priorities: PriorityConfig::default(),
            services: BTreeMap::new(),
            fedmsg: FedmsgConfig::default(),
            fedmsg_publisher: PublisherConfig::default(),
            directories: DirectoriesConfig::default(),
            frontend: FrontendConfig::default(),
            bugreport: BugreportConfig::default(),
            pagure: Default::default(),
            links: default_links(),
            bypass_login: None,
            real_builds_insert_chunk: 50,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Database URL parts (`database_config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub drivername: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Seconds a statement may run before PostgreSQL cancels it, for the
    /// services' connections; unlimited when unset. koschei-web uses
    /// `frontend.limits.statement_timeout` instead.
    pub statement_timeout: Option<f64>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            drivername: "postgresql".into(),
            host: Some("localhost".into()),
            port: None,
            database: "koschei".into(),
            username: None,
            password: None,
            statement_timeout: None,
        }
    }
}

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

/// Dependency resolution (`dependency`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DependencyConfig {
    pub ignore_weak_deps: bool,
    pub persist_chunk_size: usize,
    pub perf_report_interval: u64,
    pub dependency_cache_capacity: usize,
    pub resolver_queue_size: usize,
    pub cache_l2_capacity: usize,
    pub resolve_for_arch: String,
    pub repo_arch: String,
    /// Worker threads for resolution; 0 = one per core.
    pub resolver_threads: usize,
}

impl Default for DependencyConfig {
    fn default() -> Self {
        DependencyConfig {
            ignore_weak_deps: false,
            persist_chunk_size: 150,
            perf_report_interval: 60,
            dependency_cache_capacity: 3000,
            resolver_queue_size: 300,
            cache_l2_capacity: 100,
            resolve_for_arch: "x86_64".into(),
            repo_arch: "x86_64".into(),
            resolver_threads: 0,
        }
    }
}

/// Priority formula settings (`priorities`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityConfig {
    pub newly_added: i32,
    pub build_threshold: f64,
    pub package_update: f64,
    pub failed_build_priority: i32,
    /// Hours.
    pub t0: f64,
    /// Hours.
    pub t1: f64,
    /// First retry delay after an infrastructure failure, seconds (doubles
    /// per consecutive failure).
    pub infra_retry_base: u64,
    /// Longest retry delay after infrastructure failures, seconds.
    pub infra_retry_cap: u64,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            newly_added: 3000,
            build_threshold: 256.0,
            package_update: 256.0,
            failed_build_priority: 200,
            t0: 6.0,
            t1: 168.0,
            infra_retry_base: 3600,
            infra_retry_cap: 7 * 24 * 3600,
        }
    }
}

/// Loop settings of one service (`services.<name>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Seconds between iterations.
    pub interval: Option<f64>,
    /// Resident memory limit in KiB (exit code 3 when exceeded).
    pub memory_limit: Option<u64>,
    /// Virtual memory limit in KiB.
    pub virtual_memory_limit: Option<u64>,
    /// Feed the systemd watchdog.
    pub watchdog: Option<bool>,
}

/// Message bus consumption (`fedmsg`). The broker keys left unset here
/// (`None`) are taken from fedora-messaging's configuration file
/// (`FEDORA_MESSAGING_CONF`, else `/etc/fedora-messaging/config.toml`); keys
/// set here override the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FedmsgConfig {
    /// Topic prefix of Koji messages.
    pub topic: String,
    /// Koji instance name accepted in and written to messages.
    pub instance: String,
    /// AMQP broker URL (default: the file's `amqp_url`); the watcher does
    /// not start without one.
    pub amqp_url: Option<String>,
    /// Exchange bound for Koji messages and published to (default: the
    /// file's `publish_exchange`, else `amq.topic`).
    pub exchange: Option<String>,
    /// Queue consumed (default: the file's `[queues]`, else `koschei`).
    pub queue: Option<String>,
    /// Whether that queue survives a broker restart (default: the file's
    /// setting for the queue, else true).
    pub queue_durable: Option<bool>,
    /// TLS client certificate and key (PEM) and CA for `amqps://` (default:
    /// the file's `[tls]` certfile, keyfile, ca_cert).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    /// Deliveries of a message that keeps failing transiently before it is
    /// rejected (dead-lettered when its queue has a dead-letter exchange).
    pub max_deliveries: u32,
}

impl Default for FedmsgConfig {
    fn default() -> Self {
        FedmsgConfig {
            topic: "org.fedoraproject.prod.buildsys".into(),
            instance: "primary".into(),
            amqp_url: None,
            exchange: None,
            queue: None,
            queue_durable: None,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            max_deliveries: 10,
        }
    }
}

/// Publishing of state changes (`fedmsg-publisher`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublisherConfig {
    pub enabled: bool,
    /// Topic prefix of published messages (`<modname>.package.state.change`).
    pub modname: String,
    /// Prefix put before the topic on the bus, e.g. `org.fedoraproject.prod`
    /// (default: fedora-messaging's `topic_prefix`, else
    /// `org.fedoraproject.prod`).
    pub topic_prefix: Option<String>,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        PublisherConfig {
            enabled: false,
            modname: "koschei".into(),
            topic_prefix: None,
        }
    }
}

/// Paths (`directories`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoriesConfig {
    pub cachedir: PathBuf,
    pub static_folder: Option<PathBuf>,
    pub static_url: String,
}

impl Default for DirectoriesConfig {
    fn default() -> Self {
        DirectoriesConfig {
            cachedir: PathBuf::from("/var/cache/koschei"),
            static_folder: None,
            static_url: "/static".into(),
        }
    }
}

/// Web frontend (`frontend`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendConfig {
    pub listen: String,
    pub external_url: Option<String>,
    pub frontpage: String,
    pub packages_per_page: i64,
    pub builds_per_page: i64,
    /// Secret for signing session cookies (Koschei's `flask.SECRET_KEY`):
    /// at least 32 characters; koschei-web refuses to start without one
    /// unless `bypass_login` is set.
    pub secret_key: Option<String>,
    /// Seconds a session lasts after login (or after its first use).
    pub session_lifetime: u64,
    /// Marks the session cookie `Secure` (sent over HTTPS only); turn off
    /// only for plain-HTTP development.
    pub secure_cookie: bool,
    pub auth: AuthConfig,
    pub limits: WebLimits,
}

impl Default for FrontendConfig {
    fn default() -> Self {
        FrontendConfig {
            listen: "127.0.0.1:8080".into(),
            external_url: None,
            frontpage: "package_list".into(),
            packages_per_page: 100,
            builds_per_page: 15,
            secret_key: None,
            session_lifetime: 7 * 24 * 3600,
            secure_cookie: true,
            auth: AuthConfig::default(),
            limits: WebLimits::default(),
        }
    }
}

/// Resource limits of koschei-web (`frontend.limits`); times in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebLimits {
    /// Time to answer a request (until the response starts); then 503.
    pub request_timeout: f64,
    /// Time a client has to send the request headers (against slowloris);
    /// then the connection is closed.
    pub header_read_timeout: f64,
    /// Requests handled at once; further ones are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// Time a database statement of the web may run.
    pub statement_timeout: f64,
    /// Most elements of an unpaginated API list (`/api/v1/packages`
    /// without `page`): longer lists must be paged.
    pub max_unpaginated: i64,
    /// Largest `per_page` of API lists.
    pub max_per_page: i64,
}

impl Default for WebLimits {
    fn default() -> Self {
        WebLimits {
            request_timeout: 60.0,
            header_read_timeout: 10.0,
            max_concurrent_requests: 64,
            statement_timeout: 30.0,
            max_unpaginated: 100_000,
            max_per_page: 1000,
        }
    }
}

/// Identity from a trusted reverse proxy (`frontend.auth`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Off unless enabled: identity headers are ignored otherwise.
    pub enabled: bool,
    /// Request header carrying the identity (Koschei read `REMOTE_USER`).
    pub user_header: String,
    /// Regex matched against the whole identity; group 1 is the user name.
    pub user_re: String,
    /// Peers (addresses or CIDR networks) whose identity header is believed:
    /// the authenticating reverse proxy. Loopback only by default.
    pub trusted_proxies: Vec<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            user_header: "X-Remote-User".into(),
            user_re: "(.+)".into(),
            trusted_proxies: vec!["127.0.0.1".into(), "::1".into()],
        }
    }
}

/// FTBFS bug report template (`bugreport`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BugreportConfig {
    pub url: String,
    pub template: BTreeMap<String, String>,
}

impl Default for BugreportConfig {
    fn default() -> Self {
        let template = [
            ("product", "{collection.bugzilla_product}"),
            ("component", "{name}"),
            ("version", "{collection.bugzilla_version}"),
            ("short_desc", "{name}: FTBFS in {collection.display_name}"),
            ("bug_file_loc", "{url}"),
            (
                "comment",
                "Description of problem:\nPackage {name} fails to build from source in {collection.display_name}.\n\n\
                 Version-Release number of selected component (if applicable):\n{version}-{release}\n\n\
                 Steps to Reproduce:\nkoji build --scratch {collection.target} {name}-{version}-{release}.src.rpm\n\n\
                 Additional info:\nThis package is tracked by Koschei. See:\n{url}",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        BugreportConfig {
            url: "https://bugzilla.redhat.com/enter_bug.cgi?{query}".into(),
            template,
        }
    }
}

/// An external link on package pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub name: String,
    pub url: String,
}

/// The original's `links` (`config.cfg.template`).
fn default_links() -> Vec<Link> {
    [
        ("Packages", "https://packages.fedoraproject.org/pkgs/{package.name}"),
        ("Bugzilla", "https://bugzilla.redhat.com/buglist.cgi?product={package.collection.bugzilla_product}&component={package.name}"),
        ("Bodhi", "https://bodhi.fedoraproject.org/updates?packages={package.name}"),
        ("Dist-git", "https://src.fedoraproject.org/rpms/{package.name}.git"),
        ("Koji", "https://koji.fedoraproject.org/koji/packageinfo?packageID={package.name}"),
    ]
    .into_iter()
    .map(|(name, url)| Link { name: name.into(), url: url.into() })
    .collect()
}

/// Default interval of a service's loop in seconds.
fn default_interval(service: &str) -> f64 {
    match service {
        "poller" | "polling" => 1200.0,
        _ => 3.0,
    }
}

impl Config {
    /// Loads the configuration: `KOSCHEI_CONFIG` (or the default path when it
    /// exists) followed by `extra` files.
    pub fn load(extra: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut paths: Vec<PathBuf> = match std::env::var("KOSCHEI_CONFIG") {
            Ok(list) if !list.is_empty() => list
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            _ if Path::new(DEFAULT_CONFIG_PATH).exists() => {
                vec![PathBuf::from(DEFAULT_CONFIG_PATH)]
            }
            _ => Vec::new(),
        };
        paths.extend(extra.iter().cloned());
        Self::from_files(&paths)
    }

    /// Merges the given files in order over the defaults (no environment).
    pub fn from_files(paths: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut merged = toml::Table::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table = text.parse().map_err(|source| ConfigError::Parse {
                path: path.clone(),
                source,
            })?;
            merge_tables(&mut merged, table);
        }
        Self::from_table(merged).map_err(|e| match (e, paths) {
            (ConfigError::Invalid(msg), [.., _]) => ConfigError::Invalid(format!(
                "{msg} (in {})",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (e, _) => e,
        })
    }

    /// Builds the configuration from one merged TOML table.
    pub fn from_table(mut table: toml::Table) -> Result<Config, ConfigError> {
        // The secondary hub inherits every primary key not given for it.
        let secondary = table.remove("secondary_koji_config");
        let secondary_mode = matches!(&secondary, Some(toml::Value::Table(t)) if !t.is_empty());
        let mut effective = match table.get("koji_config") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => toml::Table::new(),
        };
        match secondary {
            Some(toml::Value::Table(t)) => merge_tables(&mut effective, t),
            Some(_) => {
                return Err(ConfigError::Invalid(
                    "secondary_koji_config must be a table".into(),
                ))
            }
            None => {}
        }
        table.insert(
            "secondary_koji_config".into(),
            toml::Value::Table(effective),
        );
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.secondary_mode = secondary_mode;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.priorities;
        if !(p.t0 > 0.0 && p.t1 > p.t0) {
            return Err(ConfigError::Invalid(format!(
                "priorities.t0 ({}) must be positive and below priorities.t1 ({})",
                p.t0, p.t1
            )));
        }
        for k in [&self.koji_config, &self.secondary_koji_config] {
            k.login().map_err(ConfigError::Invalid)?;
        }
        if self.koji_config.multicall_chunk_size == 0 {
            return Err(ConfigError::Invalid(
                "koji_config.multicall_chunk_size must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The database URL: `DATABASE_URL`, else `db_url`, else built from
    /// `database_config`.
    pub fn database_url(&self) -> String {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                return url;
            }
        }
        if let Some(url) = &self.db_url {
            return url.clone();
        }
        let d = &self.database_config;
        let mut url = String::from("postgres://");
        if let Some(user) = &d.username {
            url.push_str(user);
            if let Some(pw) = &d.password {
                url.push(':');
                url.push_str(pw);
            }
            url.push('@');
        }
        url.push_str(d.host.as_deref().unwrap_or("localhost"));
        if let Some(port) = d.port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        url.push_str(&d.database);
        url
    }

    /// Loop settings of `service` with defaults filled in.
    pub fn service(&self, service: &str) -> ServiceConfig {
        let mut s = self.services.get(service).cloned().unwrap_or_default();
        s.interval.get_or_insert_with(|| default_interval(service));
        s.watchdog.get_or_insert(service == "watcher");
        s
    }
}

/// Recursively merges `overlay` into `base` (tables merge, other values replace).
fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_match_koschei() {
        let c = Config::from_files(&[]).unwrap();
        assert_eq!(c.koji_config.max_builds, 30);
        assert_eq!(c.koji_config.load_threshold, 0.5);
        assert_eq!(c.koji_config.task_priority, 30);
        assert_eq!(c.koji_config.task_timeout, 172_800);
        assert_eq!(c.koji_config.multicall_chunk_size, 100);
        assert_eq!(c.koji_config.build_arches, ["i386", "x86_64", "armhfp"]);
        assert_eq!(c.priorities.build_threshold, 256.0);
        assert_eq!(c.priorities.newly_added, 3000);
        assert_eq!(c.priorities.failed_build_priority, 200);
        assert_eq!((c.priorities.t0, c.priorities.t1), (6.0, 168.0));
        assert_eq!(c.dependency.persist_chunk_size, 150);
        assert_eq!(c.dependency.cache_l2_capacity, 100);
        assert_eq!(c.dependency.dependency_cache_capacity, 3000);
        assert_eq!(c.service("scheduler").interval, Some(3.0));
        assert_eq!(c.service("poller").interval, Some(1200.0));
        assert_eq!(c.service("watcher").watchdog, Some(true));
        assert_eq!(c.service("resolver").watchdog, Some(false));
        assert!(!c.fedmsg_publisher.enabled);
        assert_eq!(c.fedmsg.topic, "org.fedoraproject.prod.buildsys");
        assert!(!c.secondary_mode);
        assert_eq!(c.secondary_koji_config, c.koji_config);
    }

    #[test]
    fn files_merge_in_order_and_secondary_inherits() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.toml",
            "[koji_config]\nserver = \"https://a/kojihub\"\nmax_builds = 5\n[priorities]\nt0 = 2\n",
        );
        let b = write(
            dir.path(),
            "b.toml",
            "[koji_config]\nmax_builds = 7\n[secondary_koji_config]\ntopurl = \"https://sec\"\n",
        );
        let c = Config::from_files(&[a, b]).unwrap();
        assert_eq!(c.koji_config.server, "https://a/kojihub");
        assert_eq!(c.koji_config.max_builds, 7);
        assert_eq!(c.priorities.t0, 2.0);
        assert_eq!(c.priorities.t1, 168.0);
        assert!(c.secondary_mode);
        assert_eq!(c.secondary_koji_config.topurl, "https://sec");
        assert_eq!(c.secondary_koji_config.server, "https://a/kojihub");
        assert_eq!(c.secondary_koji_config.max_builds, 7);
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let typo = write(dir.path(), "typo.toml", "[koji_config]\nmax_bulds = 5\n");
        let err = Config::from_files(&[typo]).unwrap_err().to_string();
        assert!(err.contains("max_bulds"), "{err}");
        let broken = write(dir.path(), "broken.toml", "[koji_config\n");
        assert!(matches!(
            Config::from_files(&[broken]),
            Err(ConfigError::Parse { .. })
        ));
        let missing = dir.path().join("missing.toml");
        assert!(matches!(
            Config::from_files(&[missing]),
            Err(ConfigError::Read { .. })
        ));
        let bad_t = write(dir.path(), "t.toml", "[priorities]\nt0 = 200\n");
        assert!(Config::from_files(&[bad_t])
            .unwrap_err()
            .to_string()
            .contains("t0"));
    }

    #[test]
    fn database_url_from_parts() {
        let mut c = Config::default();
        c.database_config.username = Some("koschei".into());
        c.database_config.port = Some(5544);
        // DATABASE_URL may be set in the test environment; the parts are only
        // used without it.
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(
                c.database_url(),
                "postgres://koschei@localhost:5544/koschei"
            );
            c.db_url = Some("postgres://x/y".into());
            assert_eq!(c.database_url(), "postgres://x/y");
        }
    }

    #[test]
    fn example_config_parses_and_keeps_defaults() {
        let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../koschei.toml.example");
        let c = Config::from_files(&[example]).unwrap();
        assert_eq!(
            c.koji_config.max_builds,
            Config::default().koji_config.max_builds
        );
    }
}
