//! Collections and collection groups (the database side; Koji lookups for
//! creating collections live with the Koji-facing admin commands).

use sqlx::PgConnection;

use crate::audit::Actor;
use crate::error::{DataError, DataResult};

/// The identifying columns of a collection.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct CollectionRef {
    pub id: i32,
    pub name: String,
    pub display_name: String,
}

/// Looks a collection up by name.
pub async fn find_collection(conn: &mut PgConnection, name: &str) -> DataResult<CollectionRef> {
    sqlx::query_as("SELECT id, name, display_name FROM collection WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| DataError::CollectionNotFound(name.to_string()))
}

/// All collections, in display order (highest `order` first).
pub async fn all_collections(conn: &mut PgConnection) -> sqlx::Result<Vec<CollectionRef>> {
    sqlx::query_as(
        r#"SELECT id, name, display_name FROM collection ORDER BY "order" DESC, name DESC"#,
    )
    .fetch_all(conn)
    .await
}

async fn collection_ids(conn: &mut PgConnection, names: &[String]) -> DataResult<Vec<i32>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(find_collection(conn, name).await?.id);
    }
    Ok(ids)
}

async fn set_group_members(
    conn: &mut PgConnection,
    group_id: i32,
    collection_ids: &[i32],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM collection_group_relation WHERE group_id = $1")
        .bind(group_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO collection_group_relation (group_id, collection_id)
         SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(collection_ids)
    .execute(conn)
    .await?;
    Ok(())
}

async fn collection_group_id(conn: &mut PgConnection, name: &str) -> DataResult<i32> {
    sqlx::query_scalar("SELECT id FROM collection_group WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| DataError::CollectionGroupNotFound(name.to_string()))
}

/// Creates a collection group (a UI grouping of collections).
pub async fn create_collection_group(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    display_name: &str,
    contents: &[String],
) -> DataResult<()> {
    let ids = collection_ids(conn, contents).await?;
    let id: Option<i32> = sqlx::query_scalar(
        "INSERT INTO collection_group (name, display_name) VALUES ($1, $2)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(display_name)
    .fetch_optional(&mut *conn)
    .await?;
    let id = id.ok_or_else(|| DataError::CollectionGroupExists(name.to_string()))?;
    set_group_members(conn, id, &ids).await?;
    actor
        .log(conn, &format!("Collection group {name} created"), None)
        .await?;
    Ok(())
}

/// Changes a collection group's display name and/or replaces its contents.
pub async fn edit_collection_group(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    display_name: Option<&str>,
    contents: Option<&[String]>,
) -> DataResult<()> {
    let id = collection_group_id(conn, name).await?;
    if let Some(display_name) = display_name {
        sqlx::query("UPDATE collection_group SET display_name = $2 WHERE id = $1")
            .bind(id)
            .bind(display_name)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(contents) = contents {
        let ids = collection_ids(conn, contents).await?;
        set_group_members(conn, id, &ids).await?;
    }
    actor
        .log(conn, &format!("Collection group {name} modified"), None)
        .await?;
    Ok(())
}

/// Deletes a collection group (its collections stay).
pub async fn delete_collection_group(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
) -> DataResult<()> {
    let id = collection_group_id(conn, name).await?;
    sqlx::query("DELETE FROM collection_group WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    actor
        .log(conn, &format!("Collection group {name} deleted"), None)
        .await?;
    Ok(())
}
