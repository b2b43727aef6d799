//! Connections of the web's background tasks (the page cache's change feed
//! and its sync tokens, the event hub): each of its own, outside the request
//! pool, so that neither a small pool (`--db-connections`) nor a pool busy
//! with slow requests holds them up.

use std::time::Duration;

use koschei_koji::backoff::BackoffPolicy;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;

/// Delays between failed attempts to listen.
const RETRY: BackoffPolicy =
    BackoffPolicy::capped(Duration::from_millis(100), Duration::from_secs(5));

/// A listener on `channel`, connected with `pool`'s options but outside it;
/// tried again with back-off until it works. `None` once `pool` is closed.
/// Dropping the listener closes its connection; `task` names the caller in
/// the log.
pub async fn listen(pool: &PgPool, channel: &str, task: &str) -> Option<PgListener> {
    let mut delays = RETRY.start();
    while !pool.is_closed() {
        match try_listen(pool, channel).await {
            Ok(listener) => return Some(listener),
            Err(e) => {
                tracing::warn!("{task}: cannot listen on {channel}: {e}");
                tokio::time::sleep(delays.next_delay()).await;
            }
        }
    }
    None
}

/// A pool of one connection with `pool`'s options, opened when first used.
pub fn side_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*pool.connect_options()).clone())
}

async fn try_listen(pool: &PgPool, channel: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(&side_pool(pool)).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
