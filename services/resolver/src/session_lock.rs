//! Session-level advisory locks on a dedicated connection, the resolvers' way of letting
//! one instance do a piece of work: released when the work ends, and by PostgreSQL when
//! the connection closes, even if the process dies.

use std::future::Future;

use sqlx::PgPool;

/// Runs `work` holding the advisory lock `(class, id)`; `None` (and `work` never runs)
/// when another session holds it.
pub async fn with_session_lock<T>(
    pool: &PgPool,
    class: i32,
    id: i32,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(class)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    let result = work.await;
    sqlx::query("SELECT pg_advisory_unlock($1, $2)")
        .bind(class)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    result.map(Some)
}
