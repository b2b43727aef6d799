//! The repo resolver's work queue in PostgreSQL (table `resolver_work`), through which
//! several resolver instances, on several machines, share one collection's work.
//!
//! A whole-repo pass (or a batch of new packages) is split into chunks of
//! `persist_chunk_size` packages, one row each. An instance claims the oldest free row
//! with `FOR UPDATE SKIP LOCKED` (instances never wait for each other), stamping its id
//! and a lease; a heartbeat extends the leases of all its rows while it works; the row is
//! deleted in the transaction that persists the chunk's results
//! ([`crate::package_persist::WorkClaim`]). When an instance dies, its rows' leases
//! expire and another instance claims them again; should the first one come back, its
//! late results are discarded because its row is gone or claimed by someone else.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use crate::package_deps;

/// A claimed chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// Row id.
    pub id: i64,
    /// Collection.
    pub collection_id: i32,
    /// Koji repo to resolve against.
    pub repo_id: i32,
    /// Packages of the chunk.
    pub package_ids: Vec<i32>,
    /// The previous repo of an incremental pass ([`crate::incremental`]).
    pub base_repo_id: Option<i32>,
}

/// Queues `package_ids` in chunks of `chunk_size` for resolution against `repo_id`,
/// incrementally from `base_repo_id` when given. Returns the number of rows.
pub async fn enqueue(
    conn: &mut PgConnection,
    collection_id: i32,
    repo_id: i32,
    base_repo_id: Option<i32>,
    package_ids: &[i32],
    chunk_size: usize,
) -> sqlx::Result<usize> {
    let chunk_size = chunk_size.max(1);
    let mut rows = 0;
    for chunk in package_ids.chunks(chunk_size) {
        sqlx::query(
            "INSERT INTO resolver_work (collection_id, repo_id, package_ids, base_repo_id)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(collection_id)
        .bind(repo_id)
        .bind(chunk)
        .bind(base_repo_id)
        .execute(&mut *conn)
        .await?;
        rows += 1;
    }
    Ok(rows)
}

/// Drops the collection's queued work for repos other than `repo_id` (superseded by a
/// newer repo). Claimed rows go too: their owners' results are discarded. Their packages
/// were not resolved in those repos ([`package_deps::mark_unknown`]).
pub async fn cancel_other_repos(
    conn: &mut PgConnection,
    collection_id: i32,
    repo_id: i32,
) -> sqlx::Result<u64> {
    let rows: Vec<(i32, Vec<i32>)> = sqlx::query_as(
        "DELETE FROM resolver_work WHERE collection_id = $1 AND repo_id <> $2
         RETURNING repo_id, package_ids",
    )
    .bind(collection_id)
    .bind(repo_id)
    .fetch_all(&mut *conn)
    .await?;
    for (repo, ids) in &rows {
        package_deps::mark_unknown(&mut *conn, *repo, ids).await?;
    }
    Ok(rows.len() as u64)
}

/// Claims after which a chunk is no longer handed out (it keeps failing or killing its
/// resolvers); it stays in the table for an operator until the next repo replaces it.
pub const MAX_CLAIMS: i32 = 10;

type ClaimRow = (i64, i32, i32, Vec<i32>, i32, Option<i32>);

/// Claims the oldest row that is free or whose lease expired, preferring rows claimed
/// fewer times, so that a chunk that keeps failing does not hold up the others.
pub async fn claim(
    pool: &PgPool,
    instance: &str,
    lease: Duration,
) -> sqlx::Result<Option<WorkItem>> {
    let row: Option<ClaimRow> = sqlx::query_as(
        "UPDATE resolver_work
         SET claimed_by = $1, claims = claims + 1,
             lease_until = (now() AT TIME ZONE 'UTC') + make_interval(secs => $2)
         WHERE id = (SELECT id FROM resolver_work
                     WHERE (lease_until IS NULL OR lease_until < (now() AT TIME ZONE 'UTC'))
                       AND claims < $3
                     ORDER BY claims, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING id, collection_id, repo_id, package_ids, claims, base_repo_id",
    )
    .bind(instance)
    .bind(lease.as_secs_f64())
    .bind(MAX_CLAIMS)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, collection_id, repo_id, package_ids, claims, base_repo_id)| {
        if claims > 1 {
            tracing::warn!(
                "resolver work item {id} (collection {collection_id}, repo {repo_id}) claimed {claims} times"
            );
        }
        WorkItem {
            id,
            collection_id,
            repo_id,
            package_ids,
            base_repo_id,
        }
    }))
}

/// Extends the leases of every row this instance holds. Returns how many it holds.
pub async fn heartbeat(pool: &PgPool, instance: &str, lease: Duration) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE resolver_work
         SET lease_until = (now() AT TIME ZONE 'UTC') + make_interval(secs => $2)
         WHERE claimed_by = $1",
    )
    .bind(instance)
    .bind(lease.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}

/// Gives a row back (after a failure) so that any instance can claim it at once.
pub async fn release(pool: &PgPool, item_id: i64, instance: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE resolver_work SET claimed_by = NULL, lease_until = NULL
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(item_id)
    .bind(instance)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes a row without results (obsolete, or nothing left to resolve in it); its
/// packages were not resolved in its repo ([`package_deps::mark_unknown`]).
pub async fn finish_empty(pool: &PgPool, item: &WorkItem, instance: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM resolver_work WHERE id = $1 AND claimed_by = $2")
        .bind(item.id)
        .bind(instance)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted > 0 {
        package_deps::mark_unknown(&mut tx, item.repo_id, &item.package_ids).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Keeps this instance's leases alive until dropped.
pub struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Renews every `lease / 3`.
    pub fn start(pool: PgPool, instance: String, lease: Duration) -> Heartbeat {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = heartbeat(&pool, &instance, lease).await {
                    tracing::warn!("renewing resolver work leases: {e}");
                }
            }
        });
        Heartbeat { task }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
