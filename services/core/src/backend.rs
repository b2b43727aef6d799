//! [`Backend`]: the database pool, Koji sessions and configuration a backend
//! service works with, passed around as one value (as the original passes its
//! session object, `koschei/backend/__init__.py`).

use sqlx::PgPool;

use crate::koji_sessions::KojiSessions;
use crate::Config;

/// What backend operations need: the database, Koji, and the configuration.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The database.
    pub pool: PgPool,
    /// The Koji hubs (primary, and secondary in secondary mode).
    pub koji: KojiSessions,
    /// The service configuration.
    pub config: Config,
}

impl Backend {
    /// Bundles the three.
    pub fn new(pool: PgPool, koji: KojiSessions, config: Config) -> Backend {
        Backend { pool, koji, config }
    }
}
