//! Removal of old history (`koschei-admin cleanup`).

use sqlx::PgConnection;

use crate::audit::Actor;
use crate::error::{DataError, DataResult};

/// What a cleanup deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupReport {
    pub builds: u64,
    pub resolution_changes: u64,
}

/// Deletes builds started more than `older_than_months` months ago (never a
/// package's last or last complete build) and resolution changes older than
/// that. At least 2 months.
pub async fn cleanup(
    conn: &mut PgConnection,
    actor: &Actor,
    older_than_months: i32,
) -> DataResult<CleanupReport> {
    if older_than_months < 2 {
        return Err(DataError::Invalid(format!(
            "--older-than must be at least 2 months, got {older_than_months}"
        )));
    }
    let builds = sqlx::query(
        "DELETE FROM build b
         WHERE b.started < (now() AT TIME ZONE 'UTC') - make_interval(months => $1)
           AND NOT EXISTS (SELECT 1 FROM package p
                           WHERE p.last_build_id = b.id OR p.last_complete_build_id = b.id)",
    )
    .bind(older_than_months)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let resolution_changes = sqlx::query(
        "DELETE FROM resolution_change WHERE \"timestamp\" < (now() AT TIME ZONE 'UTC') - make_interval(months => $1)",
    )
    .bind(older_than_months)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    actor
        .log(conn, &format!("Cleanup: Deleted {builds} builds"), None)
        .await?;
    actor
        .log(
            conn,
            &format!("Cleanup: Deleted {resolution_changes} resolution changes"),
            None,
        )
        .await?;
    Ok(CleanupReport {
        builds,
        resolution_changes,
    })
}
