//! Package groups: global (`name`) or namespaced (`namespace/name`), their
//! packages and maintainers, with audit logging.

use std::collections::BTreeSet;

use sqlx::PgConnection;

use crate::audit::{get_or_create_user, Actor};
use crate::error::{is_valid_name, is_valid_user_name, DataError, DataResult};

/// A group's identity.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct GroupRef {
    pub id: i32,
    pub namespace: Option<String>,
    pub name: String,
}

impl GroupRef {
    /// `namespace/name`, or `name` for global groups.
    pub fn full_name(&self) -> String {
        full_name(self.namespace.as_deref(), &self.name)
    }
}

fn full_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// Splits `[namespace/]name` and validates both parts.
pub fn parse_group_name(full: &str) -> DataResult<(Option<String>, String)> {
    let (namespace, name) = match full.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, full),
    };
    if !is_valid_name(name) || namespace.is_some_and(|ns| !is_valid_name(ns)) {
        return Err(DataError::InvalidGroupName(full.to_string()));
    }
    Ok((namespace.map(str::to_string), name.to_string()))
}

/// Looks a group up by its full name.
pub async fn find_group(conn: &mut PgConnection, full: &str) -> DataResult<GroupRef> {
    let (namespace, name) = parse_group_name(full)?;
    sqlx::query_as(
        "SELECT id, namespace, name FROM package_group
         WHERE namespace IS NOT DISTINCT FROM $1 AND name = $2",
    )
    .bind(namespace)
    .bind(name)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| DataError::GroupNotFound(full.to_string()))
}

/// Creates an empty group; fails when it exists.
pub async fn create_group(
    conn: &mut PgConnection,
    actor: &Actor,
    full: &str,
) -> DataResult<GroupRef> {
    let (namespace, name) = parse_group_name(full)?;
    let group: Option<GroupRef> = sqlx::query_as(
        "INSERT INTO package_group (namespace, name) VALUES ($1, $2)
         ON CONFLICT ON CONSTRAINT package_group_unique_name DO NOTHING
         RETURNING id, namespace, name",
    )
    .bind(namespace)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    let group = group.ok_or_else(|| DataError::GroupExists(full.to_string()))?;
    actor
        .log(conn, &format!("Group {} created", group.full_name()), None)
        .await?;
    Ok(group)
}

/// Sets (or with `append`, extends) the packages of a group. Every name must
/// be a known base package. Logs each added and removed package.
pub async fn set_group_content(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &GroupRef,
    names: &[String],
    append: bool,
) -> DataResult<()> {
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    if wanted.is_empty() && !append {
        return Err(DataError::GroupContentEmpty);
    }
    let found: Vec<(i32, String)> =
        sqlx::query_as("SELECT id, name FROM base_package WHERE name = ANY($1)")
            .bind(names)
            .fetch_all(&mut *conn)
            .await?;
    let missing: Vec<String> = wanted
        .iter()
        .filter(|n| !found.iter().any(|(_, f)| f == *n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::PackagesDontExist(missing));
    }
    let current: Vec<(i32, String)> = sqlx::query_as(
        "SELECT b.id, b.name FROM package_group_relation r JOIN base_package b ON b.id = r.base_id
         WHERE r.group_id = $1 ORDER BY b.name",
    )
    .bind(group.id)
    .fetch_all(&mut *conn)
    .await?;
    let full = group.full_name();
    if !append {
        for (base_id, name) in current.iter().filter(|(_, n)| !wanted.contains(n.as_str())) {
            sqlx::query("DELETE FROM package_group_relation WHERE group_id = $1 AND base_id = $2")
                .bind(group.id)
                .bind(base_id)
                .execute(&mut *conn)
                .await?;
            actor
                .log(
                    conn,
                    &format!("Group {full} modified: package {name} removed"),
                    Some(*base_id),
                )
                .await?;
        }
    }
    let mut added: Vec<&(i32, String)> = found
        .iter()
        .filter(|(id, _)| !current.iter().any(|(c, _)| c == id))
        .collect();
    added.sort_by(|a, b| a.1.cmp(&b.1));
    for (base_id, name) in added {
        sqlx::query("INSERT INTO package_group_relation (group_id, base_id) VALUES ($1, $2)")
            .bind(group.id)
            .bind(base_id)
            .execute(&mut *conn)
            .await?;
        actor
            .log(
                conn,
                &format!("Group {full} modified: package {name} added"),
                Some(*base_id),
            )
            .await?;
    }
    Ok(())
}

/// Sets (or with `append`, extends) the maintainers of a group; unknown user
/// names are created. Logs each change.
pub async fn set_group_maintainers(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &GroupRef,
    users: &[String],
    append: bool,
) -> DataResult<()> {
    if let Some(bad) = users.iter().find(|u| !is_valid_user_name(u)) {
        return Err(DataError::Invalid(format!(
            "Invalid maintainer name: {bad:?}"
        )));
    }
    let current: Vec<(i32, String)> = sqlx::query_as(
        r#"SELECT u.id, u.name FROM group_acl a JOIN "user" u ON u.id = a.user_id
           WHERE a.group_id = $1 ORDER BY u.name"#,
    )
    .bind(group.id)
    .fetch_all(&mut *conn)
    .await?;
    let full = group.full_name();
    if !append {
        for (user_id, name) in current.iter().filter(|(_, n)| !users.contains(n)) {
            sqlx::query("DELETE FROM group_acl WHERE group_id = $1 AND user_id = $2")
                .bind(group.id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            actor
                .log(
                    conn,
                    &format!("Group {full} modified: maintainer {name} removed"),
                    None,
                )
                .await?;
        }
    }
    let wanted: BTreeSet<&String> = users.iter().collect();
    for name in wanted
        .into_iter()
        .filter(|u| !current.iter().any(|(_, c)| c == *u))
    {
        let user_id = get_or_create_user(conn, name).await?;
        sqlx::query("INSERT INTO group_acl (group_id, user_id) VALUES ($1, $2)")
            .bind(group.id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        actor
            .log(
                conn,
                &format!("Group {full} modified: maintainer {name} added"),
                None,
            )
            .await?;
    }
    Ok(())
}

/// Renames a group and/or moves it to another namespace (`Some(None)` makes
/// it global).
pub async fn rename_group(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &GroupRef,
    new_name: Option<&str>,
    new_namespace: Option<Option<&str>>,
) -> DataResult<GroupRef> {
    let name = new_name.unwrap_or(&group.name);
    let namespace = new_namespace.unwrap_or(group.namespace.as_deref());
    let target = full_name(namespace, name);
    parse_group_name(&target)?;
    if target == group.full_name() {
        return Ok(group.clone());
    }
    let renamed: GroupRef = sqlx::query_as(
        "UPDATE package_group SET name = $2, namespace = $3 WHERE id = $1 RETURNING id, namespace, name",
    )
    .bind(group.id)
    .bind(name)
    .bind(namespace)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => DataError::GroupExists(target.clone()),
        other => other.into(),
    })?;
    actor
        .log(
            conn,
            &format!(
                "Group {} modified: renamed to {}",
                group.full_name(),
                target
            ),
            None,
        )
        .await?;
    Ok(renamed)
}

/// Deletes a group.
pub async fn delete_group(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &GroupRef,
) -> DataResult<()> {
    sqlx::query("DELETE FROM package_group WHERE id = $1")
        .bind(group.id)
        .execute(&mut *conn)
        .await?;
    actor
        .log(conn, &format!("Group {} deleted", group.full_name()), None)
        .await?;
    Ok(())
}

/// Names of the base packages in a group.
pub async fn group_package_names(
    conn: &mut PgConnection,
    group: &GroupRef,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT b.name FROM package_group_relation r JOIN base_package b ON b.id = r.base_id
         WHERE r.group_id = $1 ORDER BY b.name",
    )
    .bind(group.id)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert_eq!(parse_group_name("foo").unwrap(), (None, "foo".to_string()));
        assert_eq!(
            parse_group_name("ns/foo").unwrap(),
            (Some("ns".into()), "foo".to_string())
        );
        for bad in ["", "a/b/c", "/foo", "ns/", "sp ace", "x;y"] {
            assert!(parse_group_name(bad).is_err(), "{bad:?}");
        }
    }
}
