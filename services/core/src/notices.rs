//! The global admin notice shown on every page.

use sqlx::PgConnection;

use crate::audit::Actor;
use crate::error::{DataError, DataResult};

const GLOBAL_NOTICE: &str = "global_notice";

/// Sets the global notice (trimmed; must not be empty).
pub async fn set_notice(conn: &mut PgConnection, actor: &Actor, content: &str) -> DataResult<()> {
    let content = content.trim();
    if content.is_empty() {
        return Err(DataError::Invalid("Notice content is empty".into()));
    }
    sqlx::query(
        "INSERT INTO admin_notice (key, content) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET content = EXCLUDED.content",
    )
    .bind(GLOBAL_NOTICE)
    .bind(content)
    .execute(&mut *conn)
    .await?;
    actor
        .log(conn, &format!("Admin notice added: {content}"), None)
        .await?;
    Ok(())
}

/// Removes the global notice.
pub async fn clear_notice(conn: &mut PgConnection, actor: &Actor) -> DataResult<()> {
    sqlx::query("DELETE FROM admin_notice WHERE key = $1")
        .bind(GLOBAL_NOTICE)
        .execute(&mut *conn)
        .await?;
    actor.log(conn, "Admin notice cleared", None).await?;
    Ok(())
}

/// The current global notice, if any.
pub async fn get_notice(conn: &mut PgConnection) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT content FROM admin_notice WHERE key = $1")
        .bind(GLOBAL_NOTICE)
        .fetch_optional(conn)
        .await
}

/// Notices to show on every page: the admin's global notice, then one per
/// collection whose scheduling is suspended.
pub async fn all_notices(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    let mut notices: Vec<String> = get_notice(&mut *conn).await?.into_iter().collect();
    let suspended: Vec<(String, String)> = sqlx::query_as(
        r#"SELECT display_name, scheduling_suspended FROM collection
           WHERE scheduling_suspended IS NOT NULL ORDER BY "order" DESC, name"#,
    )
    .fetch_all(conn)
    .await?;
    notices.extend(
        suspended
            .into_iter()
            .map(|(name, why)| format!("Scheduling for {name} is suspended: {why}")),
    );
    Ok(notices)
}

/// Stops scheduling for a collection after a permanent Koji fault (koschei#351);
/// an admin resumes it with `koschei-admin edit-collection NAME --resume`.
pub async fn suspend_scheduling(
    conn: &mut PgConnection,
    collection_id: i32,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE collection SET scheduling_suspended = $2 WHERE id = $1")
        .bind(collection_id)
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    crate::audit::Actor::backend()
        .log(
            conn,
            &format!("Scheduling suspended for collection id {collection_id}: {reason}"),
            None,
        )
        .await
}
