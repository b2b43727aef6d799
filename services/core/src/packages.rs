//! Package-level data operations with audit logging: tracking, priorities,
//! arch overrides, skip-resolution.

use sqlx::PgConnection;

use crate::audit::Actor;
use crate::collections::CollectionRef;
use crate::error::{DataError, DataResult};
use crate::model::SkipReason;

/// The identifying columns of a package in a collection.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PackageRef {
    pub id: i32,
    pub base_id: i32,
    pub name: String,
    pub collection_id: i32,
}

/// The named packages of a collection that exist (possibly fewer than asked).
pub async fn packages_named(
    conn: &mut PgConnection,
    collection_id: i32,
    names: &[String],
) -> sqlx::Result<Vec<PackageRef>> {
    sqlx::query_as(
        "SELECT id, base_id, name, collection_id FROM package
         WHERE collection_id = $1 AND name = ANY($2) ORDER BY name",
    )
    .bind(collection_id)
    .bind(names)
    .fetch_all(conn)
    .await
}

/// Finds the named packages of a collection; every name must exist.
pub async fn find_packages(
    conn: &mut PgConnection,
    collection: &CollectionRef,
    names: &[String],
) -> DataResult<Vec<PackageRef>> {
    let found = packages_named(conn, collection.id, names).await?;
    let found_names: std::collections::HashSet<&str> =
        found.iter().map(|p| p.name.as_str()).collect();
    let mut missing: Vec<String> = names
        .iter()
        .filter(|n| !found_names.contains(n.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(DataError::PackagesNotFound {
            collection: collection.name.clone(),
            names: missing,
        });
    }
    Ok(found)
}

/// Largest magnitude of an editable (manual or static) priority: far beyond
/// any build threshold, far from integer overflow.
pub const PRIORITY_LIMIT: i32 = 1_000_000;

/// Parses a manual or static priority typed by a user.
pub fn parse_priority(value: &str) -> DataResult<i32> {
    value
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(|v| check_priority(v).ok())
        .ok_or_else(|| priority_out_of_range(value))
}

/// Refuses a priority outside `±PRIORITY_LIMIT`.
pub fn check_priority(value: i32) -> DataResult<i32> {
    if (-PRIORITY_LIMIT..=PRIORITY_LIMIT).contains(&value) {
        Ok(value)
    } else {
        Err(priority_out_of_range(&value.to_string()))
    }
}

fn priority_out_of_range(value: &str) -> DataError {
    DataError::Invalid(format!(
        "must be an integer between -{PRIORITY_LIMIT} and {PRIORITY_LIMIT} (got {value:?})"
    ))
}

/// A package attribute changed through [`set_attribute`].
#[derive(Debug, Clone, PartialEq)]
pub enum PackageAttr {
    Tracked(bool),
    ManualPriority(i32),
    StaticPriority(i32),
    /// Space-separated arches, `None` to clear.
    ArchOverride(Option<String>),
    SkipResolution(bool),
}

impl PackageAttr {
    fn column(&self) -> &'static str {
        match self {
            PackageAttr::Tracked(_) => "tracked",
            PackageAttr::ManualPriority(_) => "manual_priority",
            PackageAttr::StaticPriority(_) => "static_priority",
            PackageAttr::ArchOverride(_) => "arch_override",
            PackageAttr::SkipResolution(_) => "skip_resolution",
        }
    }

    fn display(&self) -> String {
        match self {
            PackageAttr::Tracked(v) | PackageAttr::SkipResolution(v) => python_bool(*v).into(),
            PackageAttr::ManualPriority(v) | PackageAttr::StaticPriority(v) => v.to_string(),
            PackageAttr::ArchOverride(v) => v.clone().unwrap_or_else(|| "None".into()),
        }
    }
}

fn python_bool(v: bool) -> &'static str {
    if v {
        "True"
    } else {
        "False"
    }
}

/// Sets one attribute of a package and writes the audit entry
/// "Package <name> (collection <c>): <attr> set from <old> to <new>" when
/// the value changed. Enabling skip_resolution also clears the resolution
/// result and the unapplied dependency changes.
pub async fn set_attribute(
    conn: &mut PgConnection,
    actor: &Actor,
    collection: &CollectionRef,
    package: &PackageRef,
    attr: PackageAttr,
) -> DataResult<bool> {
    let column = attr.column();
    if let PackageAttr::ManualPriority(v) | PackageAttr::StaticPriority(v) = &attr {
        check_priority(*v).map_err(|e| DataError::Invalid(format!("{column}: {e}")))?;
    }
    let old: Option<String> = sqlx::query_scalar(&format!(
        "SELECT CASE WHEN {column} IS NULL THEN 'None'
                     WHEN pg_typeof({column}) = 'boolean'::regtype
                          THEN CASE WHEN {column}::text = 'true' THEN 'True' ELSE 'False' END
                     ELSE {column}::text END
         FROM package WHERE id = $1 FOR UPDATE"
    ))
    .bind(package.id)
    .fetch_one(&mut *conn)
    .await?;
    let new = attr.display();
    if old.as_deref() == Some(new.as_str()) {
        return Ok(false);
    }
    let query = format!("UPDATE package SET {column} = $2 WHERE id = $1");
    let q = sqlx::query(&query).bind(package.id);
    match &attr {
        PackageAttr::Tracked(v) => q.bind(*v),
        PackageAttr::ManualPriority(v) | PackageAttr::StaticPriority(v) => q.bind(*v),
        PackageAttr::ArchOverride(v) => {
            // A new override may allow an arch: let the scheduler try again.
            sqlx::query("UPDATE package SET scheduler_skip_reason = NULL WHERE id = $1 AND scheduler_skip_reason = $2")
                .bind(package.id)
                .bind(SkipReason::NoArch)
                .execute(&mut *conn)
                .await?;
            q.bind(v.clone())
        }
        PackageAttr::SkipResolution(v) => {
            if *v {
                sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
                    .bind(package.id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM unapplied_changes WHERE package_id = $1")
                    .bind(package.id)
                    .execute(&mut *conn)
                    .await?;
            }
            q.bind(*v)
        }
    }
    .execute(&mut *conn)
    .await?;
    let message = format!(
        "Package {} (collection {}): {} set from {} to {}",
        package.name,
        collection.name,
        column,
        old.unwrap_or_else(|| "None".into()),
        new
    );
    actor.log(conn, &message, Some(package.base_id)).await?;
    Ok(true)
}

/// Marks the named packages of the collection as tracked; returns the names
/// that were not tracked before.
pub async fn track_packages(
    conn: &mut PgConnection,
    actor: &Actor,
    collection: &CollectionRef,
    names: &[String],
) -> DataResult<Vec<String>> {
    if let Some(bad) = names.iter().find(|n| !crate::error::is_valid_name(n)) {
        return Err(DataError::InvalidPackageName(bad.clone()));
    }
    let packages = find_packages(conn, collection, names)
        .await
        .map_err(|e| match e {
            DataError::PackagesNotFound { names, .. } => DataError::PackagesDontExist(names),
            other => other,
        })?;
    // set-based (`add-pkg --all` on a whole distribution), with the audit entries
    // set_attribute would write one by one
    let ids: Vec<i32> = packages.iter().map(|p| p.id).collect();
    let changed: Vec<(String, i32)> = sqlx::query_as(
        "UPDATE package SET tracked = true WHERE id = ANY($1) AND NOT tracked
         RETURNING name, base_id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let position: std::collections::HashMap<&str, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.as_str(), i))
        .collect();
    let mut added: Vec<String> = changed.iter().map(|(name, _)| name.clone()).collect();
    added.sort_by_key(|name| position.get(name.as_str()).copied());
    let entries: Vec<(String, Option<i32>)> = changed
        .into_iter()
        .map(|(name, base_id)| {
            let message = format!(
                "Package {name} (collection {}): tracked set from False to True",
                collection.name
            );
            (message, Some(base_id))
        })
        .collect();
    actor.log_all(conn, &entries).await?;
    Ok(added)
}

/// Validates an arch override: every entry, optionally `^`-prefixed, must be
/// one of `allowed`. Returns the normalised space-separated value (`None`
/// for an empty override).
pub fn parse_arch_override(value: &str, allowed: &[String]) -> DataResult<Option<String>> {
    let arches: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|a| !a.is_empty())
        .collect();
    for arch in &arches {
        let bare = arch.strip_prefix('^').unwrap_or(arch);
        if !allowed.iter().any(|a| a == bare) {
            return Err(DataError::InvalidArchOverride {
                value: value.to_string(),
                arch: bare.to_string(),
                allowed: allowed.join(", "),
            });
        }
    }
    Ok((!arches.is_empty()).then(|| arches.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_override_validation() {
        let allowed: Vec<String> = ["i386", "x86_64", "armhfp"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            parse_arch_override("x86_64 i386", &allowed)
                .unwrap()
                .as_deref(),
            Some("x86_64 i386")
        );
        assert_eq!(
            parse_arch_override("^x86_64,armhfp", &allowed)
                .unwrap()
                .as_deref(),
            Some("^x86_64 armhfp")
        );
        assert_eq!(parse_arch_override("  ", &allowed).unwrap(), None);
        let err = parse_arch_override("x86_64 sparc", &allowed)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sparc"), "{err}");
    }
}
