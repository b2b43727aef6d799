//! `LISTEN` connections of the web's background tasks (the page cache's
//! change feed, the event hub): each on a connection of its own, so that a
//! small request pool (`--db-connections`) is never short of one.

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;

/// A listener on `channel`, connected with `pool`'s options but outside it.
/// Dropping the listener closes its connection.
pub async fn listen(pool: &PgPool, channel: &str) -> sqlx::Result<PgListener> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
