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
