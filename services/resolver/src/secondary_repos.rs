//! Secondary mode (the original's `koschei/backend/services/repo_resolver.py` and
//! `refresh_repo_mappings` in `koschei/backend/__init__.py`): a collection whose data comes
//! from a secondary Koji builds on the primary, so a new secondary repo is only usable once
//! it has been regenerated on the primary. `repo_mapping` rows (secondary repo id → primary
//! `newRepo` task, written by whoever asks the primary to regenerate) are completed here
//! with the primary repo id, and a secondary repo is accepted only when its mapping has a
//! primary repo whose `newRepo` task is CLOSED.

use koschei_koji::{KojiClient, TaskState};
use sqlx::PgPool;

/// Completes `repo_mapping` rows without a primary repo id: a canceled or failed `newRepo`
/// task deletes the mapping; otherwise the primary repo id is the `request[0]` of the
/// task's `createrepo` child, once there is one.
pub async fn refresh_repo_mappings(pool: &PgPool, primary: &KojiClient) -> anyhow::Result<()> {
    let open: Vec<(i32, i32)> =
        sqlx::query_as("SELECT secondary_id, task_id FROM repo_mapping WHERE primary_id IS NULL")
            .fetch_all(pool)
            .await?;
    for (secondary_id, task_id) in open {
        let info = primary.get_task_info(i64::from(task_id), false).await?;
        if info
            .as_ref()
            .is_none_or(|t| matches!(t.state, TaskState::Canceled | TaskState::Failed))
        {
            sqlx::query("DELETE FROM repo_mapping WHERE secondary_id = $1")
                .bind(secondary_id)
                .execute(pool)
                .await?;
            continue;
        }
        let children = primary.get_task_children(i64::from(task_id), true).await?;
        let primary_id = children
            .iter()
            .filter(|c| c.method == "createrepo")
            .find_map(|c| c.request.as_ref()?.first()?.as_i64());
        if let Some(primary_id) = primary_id.and_then(|id| i32::try_from(id).ok()) {
            sqlx::query("UPDATE repo_mapping SET primary_id = $2 WHERE secondary_id = $1")
                .bind(secondary_id)
                .bind(primary_id)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Whether secondary repo `repo_id` has been regenerated on the primary.
pub async fn regenerated_on_primary(
    pool: &PgPool,
    primary: &KojiClient,
    repo_id: i32,
) -> anyhow::Result<bool> {
    refresh_repo_mappings(pool, primary).await?;
    let mapping: Option<(Option<i32>, i32)> =
        sqlx::query_as("SELECT primary_id, task_id FROM repo_mapping WHERE secondary_id = $1")
            .bind(repo_id)
            .fetch_optional(pool)
            .await?;
    let Some((Some(_), task_id)) = mapping else {
        return Ok(false);
    };
    let info = primary.get_task_info(i64::from(task_id), false).await?;
    Ok(info.is_some_and(|t| t.state == TaskState::Closed))
}
