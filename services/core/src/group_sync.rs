//! Group refreshes from outside sources and group tracking: the library form
//! of the helper scripts the original ships in `bin/`.
//!
//! * [`refresh_group`] (`bin/koschei-refresh-group GROUP REGEX`): adds to a
//!   group every package whose name matches an extended regex (never removes).
//! * [`refresh_user_group`] (`bin/koschei-refresh-user-group GROUP USER`) and
//!   [`refresh_distgit_group`] (`bin/koschei-refresh-distgit-group GROUP
//!   DISTGIT_GROUP`): set a group's content to the packages listing the user,
//!   or `@DISTGIT_GROUP`, as Bugzilla contact in dist-git's `pagure_bz.json`;
//!   the content is replaced unless `append`, as `koschei-admin edit-group`.
//! * [`track_group`] (`bin/koschei-track-group GROUP`): marks every package
//!   of a global group tracked, in every collection.
//!
//! The group must exist; every package must be known to Koschei (the
//! original's `edit-group` refuses the whole content otherwise), and an
//! empty content is refused. Nothing changes when an error is returned.

use regex::Regex;
use sqlx::PgConnection;

use crate::audit::Actor;
use crate::error::DataError;
use crate::groups::{find_group, parse_group_name, set_group_content};
use crate::pagure::{packages_listing, PagureClient, PagureError};

/// Why a group could not be refreshed or tracked.
#[derive(Debug, thiserror::Error)]
pub enum GroupSyncError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("dist-git: {0}")]
    Pagure(#[from] PagureError),
    #[error("invalid regex {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
}

impl From<sqlx::Error> for GroupSyncError {
    fn from(e: sqlx::Error) -> Self {
        GroupSyncError::Data(e.into())
    }
}

/// Result of the group refreshes.
pub type SyncResult<T> = Result<T, GroupSyncError>;

/// Adds to `group` the packages whose name matches `pattern` (an extended
/// regular expression searched anywhere in the name, as `egrep`). The
/// original matched the source packages of rawhide's latest repo; this
/// matches the packages Koschei knows that are not blocked in every
/// collection. Returns the matching names.
pub async fn refresh_group(
    conn: &mut PgConnection,
    actor: &Actor,
    group: &str,
    pattern: &str,
) -> SyncResult<Vec<String>> {
    let regex = Regex::new(pattern).map_err(|e| GroupSyncError::Regex {
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })?;
    let group = find_group(conn, group).await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM base_package WHERE NOT all_blocked ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    let matching: Vec<String> = names.into_iter().filter(|n| regex.is_match(n)).collect();
    if matching.is_empty() {
        return Err(DataError::GroupContentEmpty.into());
    }
    set_group_content(conn, actor, &group, &matching, true).await?;
    Ok(matching)
}

/// Sets (or with `append`, extends) `group` to the packages whose Bugzilla
/// contacts in `pagure.bz_url` include `user`. Returns those packages.
pub async fn refresh_user_group(
    conn: &mut PgConnection,
    actor: &Actor,
    pagure: &PagureClient,
    bz_url: &str,
    group: &str,
    user: &str,
    append: bool,
) -> SyncResult<Vec<String>> {
    refresh_from_bz(conn, actor, pagure, bz_url, group, user, append).await
}

/// Sets (or with `append`, extends) `group` to the packages whose Bugzilla
/// contacts in `pagure.bz_url` include the dist-git group `distgit_group`
/// (listed as `@distgit_group`). Returns those packages.
pub async fn refresh_distgit_group(
    conn: &mut PgConnection,
    actor: &Actor,
    pagure: &PagureClient,
    bz_url: &str,
    group: &str,
    distgit_group: &str,
    append: bool,
) -> SyncResult<Vec<String>> {
    let contact = format!("@{distgit_group}");
    refresh_from_bz(conn, actor, pagure, bz_url, group, &contact, append).await
}

async fn refresh_from_bz(
    conn: &mut PgConnection,
    actor: &Actor,
    pagure: &PagureClient,
    bz_url: &str,
    group: &str,
    contact: &str,
    append: bool,
) -> SyncResult<Vec<String>> {
    // The group is looked up first: a typo fails before the download.
    let group = find_group(conn, group).await?;
    let names = packages_listing(&pagure.rpms(bz_url).await?, contact);
    if names.is_empty() {
        return Err(DataError::GroupContentEmpty.into());
    }
    set_group_content(conn, actor, &group, &names, append).await?;
    Ok(names)
}

/// A package [`track_group`] started tracking.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrackedPackage {
    pub collection: String,
    pub name: String,
}

/// Marks every untracked package of the global group `name` tracked, in
/// every collection; blocked packages included, as the original's SQL.
/// Logs each change as `track_packages` does. Returns the changed packages.
pub async fn track_group(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
) -> SyncResult<Vec<TrackedPackage>> {
    if parse_group_name(name)?.0.is_some() {
        return Err(DataError::Invalid(format!(
            "{name} is a namespaced group; only global groups can be tracked"
        ))
        .into());
    }
    let group = find_group(conn, name).await?;
    let changed: Vec<(String, String, i32)> = sqlx::query_as(
        "WITH changed AS (
             UPDATE package p SET tracked = true
             WHERE NOT p.tracked
               AND p.base_id IN (SELECT base_id FROM package_group_relation WHERE group_id = $1)
             RETURNING p.collection_id, p.name, p.base_id)
         SELECT c.name, ch.name, ch.base_id FROM changed ch
         JOIN collection c ON c.id = ch.collection_id
         ORDER BY c.name, ch.name",
    )
    .bind(group.id)
    .fetch_all(&mut *conn)
    .await?;
    let entries: Vec<(String, Option<i32>)> = changed
        .iter()
        .map(|(collection, name, base_id)| {
            let message =
                format!("Package {name} (collection {collection}): tracked set from False to True");
            (message, Some(*base_id))
        })
        .collect();
    actor.log_all(conn, &entries).await?;
    Ok(changed
        .into_iter()
        .map(|(collection, name, _)| TrackedPackage { collection, name })
        .collect())
}
