//! Database connection and schema migrations.

use koschei_koji::backoff::BackoffPolicy;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;

use crate::config::Config;

/// The schema: every migration under `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// Errors of the database layer that callers may want to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    Url(sqlx::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Opens a connection pool for the configured database, with the
/// configured `database_config.statement_timeout`.
pub async fn connect(config: &Config, max_connections: u32) -> Result<PgPool, DbError> {
    let timeout = config
        .database_config
        .statement_timeout
        .map(Duration::from_secs_f64);
    connect_with_timeout(&config.database_url(), max_connections, timeout).await
}

/// The pause between attempts of [`connect_retrying`]: 1 s doubling to 30 s.
const CONNECT_BACKOFF: BackoffPolicy =
    BackoffPolicy::capped(Duration::from_secs(1), Duration::from_secs(30));

/// Like [`connect`], for a long-running service: while the database cannot be reached
/// (not up yet, restarting) it waits and retries with back-off (1 s doubling to 30 s),
/// logging each failure, instead of exiting. A bad URL still fails at once.
pub async fn connect_retrying(config: &Config, max_connections: u32) -> Result<PgPool, DbError> {
    let mut backoff = CONNECT_BACKOFF.start();
    loop {
        match connect(config, max_connections).await {
            Err(DbError::Connect(e)) => {
                let delay = backoff.next_delay();
                tracing::warn!("cannot connect to the database, retrying in {delay:?}: {e}");
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
}

/// Opens a connection pool for `url`.
pub async fn connect_url(url: &str, max_connections: u32) -> Result<PgPool, DbError> {
    connect_with_timeout(url, max_connections, None).await
}

/// Opens a connection pool for `url` whose statements PostgreSQL cancels
/// after `statement_timeout` (none: unlimited).
pub async fn connect_with_timeout(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, DbError> {
    let mut options = PgConnectOptions::from_str(url)
        .map_err(DbError::Url)?
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(5))
        .application_name(&application_name());
    if let Some(timeout) = statement_timeout {
        let ms = timeout.as_millis().max(1).to_string();
        options = options.options([("statement_timeout", ms.as_str())]);
    }
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

fn application_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "koschei".into())
}

/// Applies pending migrations (harmless when the schema is current) and
/// grants DML rights to `unpriv_user` when given.
pub async fn migrate(pool: &PgPool, unpriv_user: Option<&str>) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    if let Some(user) = unpriv_user {
        let role = quote_ident(user);
        for stmt in [
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            ),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        ] {
            sqlx::query(&stmt).execute(pool).await?;
        }
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
