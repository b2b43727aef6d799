//! Which earlier build a dependency set is compared with (`get_build_for_comparison` in
//! the original's `koschei/backend/services/resolver.py`).
//!
//! * `get_build_for_comparison(package)`: the package's last build when it is finished
//!   and `deps_resolved` is TRUE; when it is FALSE, the newest earlier build with
//!   `deps_resolved` TRUE; when NULL (not processed yet) or running, none.
//! * `get_prev_build_for_comparison(build)`: the newest earlier build of the package with
//!   `deps_resolved` TRUE.
//!
//! "Earlier" uses the order of the last-build trigger, `build_time()` = `COALESCE(tagged,
//! started)` then id, so a real build merged from a side tag counts from its tagging
//! (koschei#361) consistently everywhere. Since every build keeps its `dependency_keys`
//! (history that survives Koji, koschei#168/koschei#338), the comparison build always has
//! them unless it was resolved by a Koschei that discarded them.

use std::collections::HashMap;

use koschei_core::model::BuildState;
use sqlx::PgConnection;

use crate::dependency_keys;

/// Dependency ids of the comparison build of each package that has one with keys.
pub async fn package_comparison_deps(
    conn: &mut PgConnection,
    package_ids: &[i32],
) -> anyhow::Result<HashMap<i32, Vec<i32>>> {
    let rows: Vec<(i32, Vec<u8>)> = sqlx::query_as(
        "SELECT p.id, cmp.dependency_keys
         FROM package p
         JOIN build lb ON lb.id = p.last_build_id
         CROSS JOIN LATERAL (
             SELECT b.dependency_keys FROM build b
             WHERE b.package_id = p.id AND b.deps_resolved
               AND (b.id = lb.id
                    OR (lb.deps_resolved = false
                        AND (build_time(b), b.id) < (build_time(lb), lb.id)))
             ORDER BY build_time(b) DESC, b.id DESC
             LIMIT 1) cmp
         WHERE p.id = ANY($1) AND lb.state = ANY($2) AND lb.deps_resolved IS NOT NULL
           AND cmp.dependency_keys IS NOT NULL",
    )
    .bind(package_ids)
    .bind(BuildState::FINISHED)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, keys)| Ok((id, dependency_keys::decode(&keys)?)))
        .collect()
}

/// Id and dependency ids of the build preceding `build_id` with `deps_resolved` TRUE.
pub async fn previous_build_deps(
    conn: &mut PgConnection,
    build_id: i32,
) -> anyhow::Result<Option<(i32, Vec<i32>)>> {
    let row: Option<(i32, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT b.id, b.dependency_keys FROM build cur
         JOIN build b ON b.package_id = cur.package_id
         WHERE cur.id = $1 AND b.deps_resolved
           AND (build_time(b), b.id) < (build_time(cur), cur.id)
         ORDER BY build_time(b) DESC, b.id DESC
         LIMIT 1",
    )
    .bind(build_id)
    .fetch_optional(conn)
    .await?;
    match row {
        Some((id, Some(keys))) => Ok(Some((id, dependency_keys::decode(&keys)?))),
        _ => Ok(None),
    }
}
