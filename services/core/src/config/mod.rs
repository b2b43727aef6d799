//! Configuration in TOML (the original's `config.cfg`, see
//! `config.cfg.template` in fedora-infra/koschei): the sections, their
//! defaults, and loading (`load`).
//!
//! Files are merged recursively in order (later files win key by key). The
//! list is `/etc/koschei/koschei.toml` unless `KOSCHEI_CONFIG` (colon-separated
//! paths) overrides it; `--config FILE` on any binary appends a file. Every
//! key has Koschei's default. `DATABASE_URL` in the environment wins over
//! `db_url`. `[secondary_koji_config]` inherits every key of `[koji_config]`
//! and its presence turns on secondary mode.

mod backend;
mod frontend;
mod impact;
mod koji;
mod load;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use backend::{
    DatabaseConfig, DependencyConfig, DirectoriesConfig, FedmsgConfig, PriorityConfig,
    PublisherConfig, ServiceConfig,
};
pub use frontend::{AuthConfig, BugreportConfig, FrontendConfig, Link, PageCacheConfig, WebLimits};
pub use impact::{ImpactConfig, OsciConfig};
pub use koji::{KojiConfig, LoginArgs, SessionOpts};

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
    /// Impact checks of side tags.
    pub impact: ImpactConfig,
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
            impact: ImpactConfig::default(),
            pagure: Default::default(),
            links: frontend::default_links(),
            bypass_login: None,
            real_builds_insert_chunk: 50,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}
