//! Collection commands that talk to Koji: create, edit, delete, branch,
//! fork (koschei/admin.py), forced submission and forced re-resolution.

use anyhow::{bail, Result};
use koschei_core::audit::Actor;
use koschei_core::collection_copy::copy_collection;
use koschei_core::collections::find_collection;
use koschei_core::error::DataError;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::packages;
use koschei_scheduler::decision::{Attempt, Decision, Scheduler};
use serde_json::json;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryScalar;
use sqlx::{PgConnection, Postgres};

use crate::cli::CollectionSettings;

/// The build tag of a Koji target, from the hub holding the collection's data.
async fn build_tag_of(sessions: &KojiSessions, secondary: bool, target: &str) -> Result<String> {
    match sessions
        .for_collection(secondary)
        .get_build_target(target)
        .await?
    {
        Some(t) => Ok(t.build_tag_name),
        None => bail!("Target not found in Koji: {target}"),
    }
}

/// A collection's settings as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Collection {
    id: i32,
    name: String,
    display_name: String,
    target: String,
    dest_tag: String,
    build_tag: String,
    secondary_mode: bool,
    priority_coefficient: f64,
    order: i32,
    build_group: String,
    poll_untracked: bool,
    bugzilla_product: Option<String>,
    bugzilla_version: Option<String>,
}

async fn load(conn: &mut PgConnection, name: &str) -> Result<Collection> {
    let id = find_collection(conn, name).await?.id;
    Ok(sqlx::query_as(
        r#"SELECT id, name, display_name, target, dest_tag, build_tag, secondary_mode, priority_coefficient,
                  "order", build_group, poll_untracked, bugzilla_product, bugzilla_version
           FROM collection WHERE id = $1"#,
    )
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Inserts a collection; fails cleanly when the name is taken.
async fn insert(conn: &mut PgConnection, c: &Collection) -> Result<i32> {
    let id: Option<i32> = bind_settings(
        sqlx::query_scalar(
            r#"INSERT INTO collection (name, display_name, target, dest_tag, build_tag, secondary_mode,
                                       priority_coefficient, "order", build_group, poll_untracked,
                                       bugzilla_product, bugzilla_version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
               ON CONFLICT (name) DO NOTHING RETURNING id"#,
        ),
        c,
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.ok_or_else(|| DataError::CollectionExists(c.name.clone()))?)
}

/// Writes back every setting of a collection.
async fn update(conn: &mut PgConnection, c: &Collection) -> Result<()> {
    bind_settings(
        sqlx::query_scalar::<_, i32>(
            r#"UPDATE collection SET name = $1, display_name = $2, target = $3, dest_tag = $4,
                      build_tag = $5, secondary_mode = $6, priority_coefficient = $7, "order" = $8,
                      build_group = $9, poll_untracked = $10, bugzilla_product = $11,
                      bugzilla_version = $12
               WHERE id = $13 RETURNING id"#,
        ),
        c,
    )
    .bind(c.id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            DataError::CollectionExists(c.name.clone()).into()
        }
        other => anyhow::Error::from(other),
    })?;
    Ok(())
}

/// Binds the settings of a collection as `$1`..`$12`, in the column order of
/// [`insert`] and [`update`].
fn bind_settings<'q>(
    query: QueryScalar<'q, Postgres, i32, PgArguments>,
    c: &'q Collection,
) -> QueryScalar<'q, Postgres, i32, PgArguments> {
    query
        .bind(&c.name)
        .bind(&c.display_name)
        .bind(&c.target)
        .bind(&c.dest_tag)
        .bind(&c.build_tag)
        .bind(c.secondary_mode)
        .bind(c.priority_coefficient)
        .bind(c.order)
        .bind(&c.build_group)
        .bind(c.poll_untracked)
        .bind(&c.bugzilla_product)
        .bind(&c.bugzilla_version)
}

fn apply(c: &mut Collection, s: &CollectionSettings) {
    if let Some(v) = &s.display_name {
        c.display_name = v.clone();
    }
    if let Some(v) = &s.target {
        c.target = v.clone();
    }
    if let Some(v) = &s.mode {
        c.secondary_mode = v == "secondary";
    }
    if let Some(v) = s.priority_coefficient {
        c.priority_coefficient = v;
    }
    if let Some(v) = s.order {
        c.order = v;
    }
    if let Some(v) = &s.build_group {
        c.build_group = v.clone();
    }
    if let Some(v) = s.poll_untracked {
        c.poll_untracked = v;
    }
    if let Some(v) = &s.bugzilla_product {
        c.bugzilla_product = Some(v.clone());
    }
    if let Some(v) = &s.bugzilla_version {
        c.bugzilla_version = Some(v.clone());
    }
}

/// `create-collection`.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    sessions: &KojiSessions,
    name: &str,
    s: &CollectionSettings,
) -> Result<String> {
    let (Some(display_name), Some(target)) = (&s.display_name, &s.target) else {
        bail!("create-collection needs --display-name and --target");
    };
    let mut c = Collection {
        id: 0,
        name: name.to_string(),
        display_name: display_name.clone(),
        target: target.clone(),
        dest_tag: String::new(),
        build_tag: String::new(),
        secondary_mode: false,
        priority_coefficient: 1.0,
        order: 100,
        build_group: "build".into(),
        poll_untracked: true,
        bugzilla_product: None,
        bugzilla_version: None,
    };
    apply(&mut c, s);
    c.build_tag = build_tag_of(sessions, c.secondary_mode, &c.target).await?;
    c.dest_tag = s.dest_tag.clone().unwrap_or_else(|| c.build_tag.clone());
    insert(conn, &c).await?;
    let message = format!("Collection {name} created");
    actor.log(conn, &message, None).await?;
    Ok(message)
}

/// `edit-collection`.
pub async fn edit(
    conn: &mut PgConnection,
    actor: &Actor,
    sessions: &KojiSessions,
    name: &str,
    new_name: Option<&str>,
    s: &CollectionSettings,
    resume: bool,
) -> Result<String> {
    let mut c = load(conn, name).await?;
    let before = (c.target.clone(), c.secondary_mode);
    apply(&mut c, s);
    if let Some(n) = new_name {
        c.name = n.to_string();
    }
    if (c.target.clone(), c.secondary_mode) != before {
        c.build_tag = build_tag_of(sessions, c.secondary_mode, &c.target).await?;
    }
    if let Some(dest) = &s.dest_tag {
        c.dest_tag = dest.clone();
    }
    update(conn, &c).await?;
    if resume {
        sqlx::query("UPDATE collection SET scheduling_suspended = NULL WHERE id = $1")
            .bind(c.id)
            .execute(&mut *conn)
            .await?;
    }
    let message = format!("Collection {} modified", c.name);
    actor.log(conn, &message, None).await?;
    Ok(message)
}

/// `delete-collection`.
pub async fn delete(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    force: bool,
) -> Result<String> {
    let c = find_collection(conn, name).await?;
    let packages: i64 = sqlx::query_scalar("SELECT count(*) FROM package WHERE collection_id = $1")
        .bind(c.id)
        .fetch_one(&mut *conn)
        .await?;
    if packages > 0 && !force {
        bail!(DataError::CollectionNotEmpty {
            name: name.to_string(),
            packages
        });
    }
    sqlx::query("DELETE FROM collection WHERE id = $1")
        .bind(c.id)
        .execute(&mut *conn)
        .await?;
    let message = format!("Collection {name} deleted");
    actor.log(conn, &message, None).await?;
    Ok(message)
}

async fn copy_group_memberships(conn: &mut PgConnection, from: i32, to: i32) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO collection_group_relation (group_id, collection_id)
         SELECT group_id, $2 FROM collection_group_relation WHERE collection_id = $1",
    )
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a branch or fork needs to know about the new release.
pub struct NewRelease<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub target: &'a str,
    pub dest_tag: Option<&'a str>,
    pub bugzilla_version: Option<&'a str>,
}

/// `branch-collection`, as `koschei/admin.py` `BranchCollection`: a new
/// collection (the branched release) takes over the master's name, target,
/// dest tag, order and settings, with the given display name and Bugzilla
/// version (none when not given), and receives a copy of the master's data;
/// the master (with its history) is renamed to `release.name`, moved to the
/// new target and placed one step later in the order. Its display name and
/// Bugzilla version stay (e.g. "Fedora Rawhide", "rawhide").
pub async fn branch(
    conn: &mut PgConnection,
    actor: &Actor,
    sessions: &KojiSessions,
    master: &str,
    release: &NewRelease<'_>,
) -> Result<String> {
    let mut master = load(conn, master).await?;
    let master_name = master.name.clone();
    let mut branched = master.clone();
    branched.display_name = release.display_name.to_string();
    branched.bugzilla_version = release.bugzilla_version.map(str::to_string);
    // The original looks the build tag up again: the target may have moved.
    branched.build_tag = build_tag_of(sessions, branched.secondary_mode, &branched.target).await?;
    master.name = release.name.to_string();
    master.target = release.target.to_string();
    master.build_tag = build_tag_of(sessions, master.secondary_mode, release.target).await?;
    master.dest_tag = release
        .dest_tag
        .map_or_else(|| master.build_tag.clone(), str::to_string);
    master.order += 1;
    update(conn, &master).await?;
    let branched_id = insert(conn, &branched).await?;
    // [koschei-rs] The branched collection stays on the master's former
    // target, so the master's latest repo is its latest repo too (the
    // original leaves it unset until the repo resolver runs).
    sqlx::query(
        "UPDATE collection SET latest_repo_id = o.latest_repo_id, latest_repo_resolved = o.latest_repo_resolved
         FROM collection o WHERE collection.id = $2 AND o.id = $1",
    )
    .bind(master.id)
    .bind(branched_id)
    .execute(&mut *conn)
    .await?;
    copy_group_memberships(conn, master.id, branched_id).await?;
    let copied = copy_collection(conn, master.id, branched_id, false).await?;
    let message = format!("Collection {} branched from {master_name}", release.name);
    actor.log(conn, &message, None).await?;
    Ok(format!(
        "Copied {} packages and {} builds",
        copied.packages, copied.builds
    ))
}

/// `fork-collection`: a new collection (e.g. a side tag) with the master's
/// settings and its packages' last complete builds.
pub async fn fork(
    conn: &mut PgConnection,
    actor: &Actor,
    sessions: &KojiSessions,
    master: &str,
    release: &NewRelease<'_>,
) -> Result<String> {
    let master = load(conn, master).await?;
    let mut fork = master.clone();
    fork.name = release.name.to_string();
    fork.display_name = release.display_name.to_string();
    fork.target = release.target.to_string();
    fork.build_tag = build_tag_of(sessions, fork.secondary_mode, release.target).await?;
    fork.dest_tag = release
        .dest_tag
        .map_or_else(|| fork.build_tag.clone(), str::to_string);
    let new_id = insert(conn, &fork).await?;
    copy_group_memberships(conn, master.id, new_id).await?;
    let copied = copy_collection(conn, master.id, new_id, true).await?;
    let message = format!("Collection {} forked from {}", release.name, master.name);
    actor.log(conn, &message, None).await?;
    Ok(format!(
        "Copied {} packages and {} builds",
        copied.packages, copied.builds
    ))
}

/// Some of a command's work failed after other parts took effect outside
/// the database (e.g. builds already submitted to Koji): the transaction is
/// committed so their records are kept, then the command fails.
#[derive(Debug)]
pub struct CommitThenFail {
    /// What succeeded (printed).
    pub output: String,
    /// Why the command fails.
    pub error: String,
}

impl std::fmt::Display for CommitThenFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl std::error::Error for CommitThenFail {}

/// `submit-build`, as `koschei/admin.py` `SubmitBuild`: submits the named
/// packages now (no priority, cap or load check), computing arches as the
/// scheduler does, in every collection whose base buildroot is resolved —
/// or only in `collection` when given. A package without SRPM or allowed
/// arch is reported and skipped, as in the original; so is one without a
/// complete build (whose SRPM the original could not name).
///
/// [koschei-rs] Where the original silently does nothing, this refuses
/// before submitting anything: an unknown collection, a named collection
/// whose base buildroot is not resolved, a name matching no package of an
/// eligible collection. A Koji refusal of one package does not undo the
/// others (the original aborted and lost the records of builds it had
/// already submitted); the command then exits non-zero.
pub async fn submit_build(
    conn: &mut PgConnection,
    actor: &Actor,
    scheduler: &mut Scheduler,
    names: &[String],
    collection: Option<&str>,
) -> Result<String> {
    if let Some(name) = collection {
        let c = find_collection(conn, name).await?;
        let resolved: Option<bool> =
            sqlx::query_scalar("SELECT latest_repo_resolved FROM collection WHERE id = $1")
                .bind(c.id)
                .fetch_one(&mut *conn)
                .await?;
        if resolved != Some(true) {
            bail!("Base buildroot of collection {name} is not resolved; cannot build");
        }
    }
    let found: Vec<(i32, i32, String, String, bool)> = sqlx::query_as(
        r#"SELECT p.id, p.base_id, p.name, c.name, p.last_complete_build_id IS NOT NULL
           FROM package p JOIN collection c ON c.id = p.collection_id
           WHERE p.name = ANY($1) AND c.latest_repo_resolved AND ($2::text IS NULL OR c.name = $2)
           ORDER BY c."order", c.name, p.name"#,
    )
    .bind(names)
    .bind(collection)
    .fetch_all(&mut *conn)
    .await?;
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !found.iter().any(|p| &p.2 == *n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let scope = collection.map_or_else(
            || "any collection with a resolved base buildroot".to_string(),
            |c| format!("collection {c}"),
        );
        bail!("Packages not found in {scope}: {}", missing.join(", "));
    }
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for (id, base_id, name, coll, has_build) in &found {
        if !has_build {
            out.push(format!(
                "No complete build of package {name} in collection {coll}: nothing to rebuild"
            ));
            continue;
        }
        let reason = json!({"forced": true, "by": "koschei-admin submit-build"});
        match scheduler.submit_now(conn, *id, reason).await? {
            Attempt::Decided(Decision::Submitted { task_id, .. }) => {
                let message =
                    format!("Build of {name} (collection {coll}) submitted as task {task_id}");
                actor.log(conn, &message, Some(*base_id)).await?;
                out.push(message);
            }
            Attempt::NoSrpm => out.push(format!(
                "No SRPM found for package {name} in collection {coll}"
            )),
            Attempt::NoArch => out.push(format!(
                "No allowed arches found for package {name} in collection {coll}"
            )),
            Attempt::Suspended(e) | Attempt::Postponed(e) => refused.push(format!(
                "Koji refused to build {name} in collection {coll}: {e}"
            )),
            Attempt::Decided(other) => {
                refused.push(format!("{name} in collection {coll}: {other:?}"))
            }
        }
    }
    if refused.is_empty() {
        Ok(out.join("\n"))
    } else {
        Err(CommitThenFail {
            output: out.join("\n"),
            error: refused.join("; "),
        }
        .into())
    }
}

/// `resolve`: forces re-resolution (the resolver resolves packages whose
/// `resolved` is NULL at once).
pub async fn resolve(
    conn: &mut PgConnection,
    actor: &Actor,
    names: &[String],
    collection: &str,
    all: bool,
) -> Result<String> {
    let c = find_collection(conn, collection).await?;
    if !all && names.is_empty() {
        bail!("name packages to re-resolve, or use --all");
    }
    let ids: Vec<i32> = if all {
        Vec::new()
    } else {
        packages::find_packages(conn, &c, names)
            .await?
            .iter()
            .map(|p| p.id)
            .collect()
    };
    let scope = (!all).then_some(ids.as_slice());
    let n = koschei_core::resolution::request_reresolution(conn, c.id, scope).await?;
    let message = if all {
        format!("Collection {collection}: re-resolution of all {n} packages requested")
    } else {
        format!(
            "Collection {collection}: re-resolution requested for {}",
            names.join(", ")
        )
    };
    actor.log(conn, &message, None).await?;
    Ok(message)
}
