//! `koschei-admin migrate-from-koschei`: copies the database of an original
//! Koschei 2.4 (fedora-infra/koschei, at its newest alembic revision) into
//! ours, table by table with `COPY`, in one transaction on the destination.
//!
//! Our schema keeps the original's tables and columns (`migrations/`), so
//! the copy is column for column, with these exceptions: the pointers
//! `package.last_build_id`/`last_complete_build_id`/`last_complete_build_state`
//! and `build.last_complete` are recomputed by our triggers as the builds
//! arrive; rows our constraints refuse because the original allowed them
//! (a build without package, a buildroot problem without collection) are
//! skipped and counted; a NULL `copr_resolution_change.problems` becomes an
//! empty list; `unapplied_change` is copied through its view into
//! `unapplied_changes` (a package's changes in one row). Our additional
//! columns take their defaults; the copied builds write no build events to
//! the outbox (they are history). The copy is one-way: our build states 4, 6
//! and 7 do not exist in the original.

use anyhow::{bail, Context, Result};
use futures_util::TryStreamExt;
use koschei_core::audit::{get_or_create_user, Actor};
use koschei_core::model::LogEnvironment;
use sqlx::{Connection, PgConnection, PgPool};

/// The alembic revision of the newest original schema (`alembic/versions/
/// c3e9459e893f_re_add_copr_related_tables.py`, Koschei 2.4).
pub const SOURCE_REVISION: &str = "c3e9459e893f";

/// One table to copy: the destination columns and what the source selects
/// for them (the same columns unless `select` says otherwise).
struct Table {
    name: &'static str,
    columns: &'static str,
    /// Source expressions for `columns` (default: `columns`).
    select: Option<&'static str>,
    /// Source rows that are not copied, and why.
    filter: Option<(&'static str, &'static str)>,
    /// The table has a serial `id` whose sequence is carried over.
    serial: bool,
}

const fn table(name: &'static str, columns: &'static str, serial: bool) -> Table {
    Table {
        name,
        columns,
        select: None,
        filter: None,
        serial,
    }
}

/// The tables in an order that satisfies the foreign keys.
const TABLES: &[Table] = &[
    table("\"user\"", "id, name, admin", true),
    table(
        "collection",
        "id, \"order\", name, display_name, secondary_mode, target, dest_tag, build_tag, \
         bugzilla_product, bugzilla_version, priority_coefficient, build_group, latest_repo_id, \
         latest_repo_resolved, poll_untracked",
        true,
    ),
    table("collection_group", "id, name, display_name", true),
    table(
        "collection_group_relation",
        "group_id, collection_id",
        false,
    ),
    table("base_package", "id, name, all_blocked", true),
    table(
        "package",
        "id, base_id, name, collection_id, arch_override, skip_resolution, resolved, \
         static_priority, manual_priority, build_priority, dependency_priority, tracked, blocked, \
         scheduler_skip_reason",
        true,
    ),
    Table {
        filter: Some(("package_id IS NOT NULL", "without package")),
        ..table(
            "build",
            "id, package_id, state, task_id, started, finished, epoch, version, release, repo_id, \
             cancel_requested, deps_resolved, real, untagged, dependency_keys",
            true,
        )
    },
    Table {
        filter: Some((
            "build_id IN (SELECT id FROM build WHERE package_id IS NOT NULL)",
            "of a build without package",
        )),
        ..table(
            "koji_task",
            "id, build_id, task_id, arch, state, started, finished",
            true,
        )
    },
    table("package_group", "id, namespace, name", true),
    table("package_group_relation", "group_id, base_id", false),
    table("group_acl", "group_id, user_id", false),
    table(
        "resolution_change",
        "id, resolved, \"timestamp\", package_id",
        true,
    ),
    table("resolution_problem", "id, resolution_id, problem", true),
    table(
        "dependency",
        "id, name, epoch, version, release, arch",
        true,
    ),
    Table {
        filter: Some((
            "build_id IN (SELECT id FROM build WHERE package_id IS NOT NULL)",
            "of a build without package",
        )),
        ..table(
            "applied_change",
            "id, build_id, prev_dep_id, curr_dep_id, distance",
            true,
        )
    },
    // our view: COPY goes through its INSTEAD OF trigger into `unapplied_changes`
    table(
        "unapplied_change",
        "package_id, prev_dep_id, curr_dep_id, distance",
        false,
    ),
    Table {
        filter: Some(("collection_id IS NOT NULL", "without collection")),
        ..table("buildroot_problem", "id, collection_id, problem", true)
    },
    table("admin_notice", "key, content", false),
    table(
        "log_entry",
        "id, user_id, environment, \"timestamp\", message, base_id",
        true,
    ),
    table("repo_mapping", "secondary_id, primary_id, task_id", false),
    table(
        "copr_rebuild_request",
        "id, user_id, collection_id, repo_source, yum_repo, \"timestamp\", description, repo_id, \
         schedule_count, scheduler_queue_index, state, error",
        true,
    ),
    Table {
        select: Some(
            "request_id, package_id, prev_resolved, curr_resolved, \
             COALESCE(problems, '{}')",
        ),
        ..table(
            "copr_resolution_change",
            "request_id, package_id, prev_resolved, curr_resolved, problems",
            false,
        )
    },
    table(
        "copr_rebuild",
        "request_id, package_id, copr_build_id, prev_state, state, approved, \"order\"",
        false,
    ),
    table(
        "build_group",
        "id, repo_id, collection_id, base_collection_id, state",
        true,
    ),
    table(
        "scalar_stats",
        "refresh_time, packages, tracked_packages, blocked_packages, builds, real_builds, \
         scratch_builds",
        false,
    ),
    table(
        "resource_consumption_stats",
        "name, arch, \"time\", time_percentage",
        false,
    ),
];

/// The original's tables that are views of ours here (emptied with their tables).
const VIEWS: &[&str] = &["unapplied_change"];

/// Our tables the original does not have (they must be empty too).
const OWN_TABLES: &[&str] = &[
    "message_outbox",
    "unapplied_changes",
    "resolver_work",
    "resolver_package_deps",
    "resolver_repo_pass",
    "binary_installability",
    "installability_change",
    "installability_pass",
    "rebuild_installability",
    "impact_check",
    "impact_check_package",
    "impact_check_event",
    "impact_build",
];

/// Session settings that make `COPY`'s text format read back identically.
const SESSION_SETTINGS: &str =
    "SET DateStyle = ISO, YMD; SET IntervalStyle = postgres; SET extra_float_digits = 3; \
     SET bytea_output = hex";

/// Rows copied into one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub table: &'static str,
    pub copied: u64,
    /// Source rows left out (see [`Table::filter`]), with the reason.
    pub skipped: Option<(u64, &'static str)>,
}

/// Copies the Koschei database at `source_url` into `dest` (our schema, up
/// to date). `replace` first deletes whatever `dest` holds; without it a
/// non-empty destination is refused. All or nothing: one transaction.
pub async fn migrate_from_koschei(
    dest: &PgPool,
    source_url: &str,
    replace: bool,
    admin_name: &str,
) -> Result<Vec<TableCount>> {
    let mut source = PgConnection::connect(source_url)
        .await
        .context("cannot connect to the source database")?;
    sqlx::raw_sql(SESSION_SETTINGS).execute(&mut source).await?;
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut source)
        .await?;
    check_revision(&mut source).await?;

    let mut tx = dest.begin().await?;
    sqlx::raw_sql(&format!(
        "{SESSION_SETTINGS}; SET LOCAL statement_timeout = 0"
    ))
    .execute(&mut *tx)
    .await?;
    let all_tables = TABLES
        .iter()
        .map(|t| t.name)
        .chain(OWN_TABLES.iter().copied());
    let mut non_empty = Vec::new();
    for t in all_tables.clone() {
        let rows: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM {t})"))
            .fetch_one(&mut *tx)
            .await?;
        if rows {
            non_empty.push(t);
        }
    }
    if !non_empty.is_empty() {
        if !replace {
            bail!(
                "The destination database is not empty (rows in {}); \
                 use --replace to delete its data first",
                non_empty.join(", ")
            );
        }
        let list: Vec<&str> = all_tables.filter(|t| !VIEWS.contains(t)).collect();
        sqlx::raw_sql(&format!(
            "TRUNCATE {} RESTART IDENTITY CASCADE",
            list.join(", ")
        ))
        .execute(&mut *tx)
        .await?;
    }

    // The copied builds are history, not events for the stream: no
    // `build.started` / `build.finished` outbox rows for them.
    sqlx::raw_sql("ALTER TABLE build DISABLE TRIGGER build_events_insert")
        .execute(&mut *tx)
        .await?;
    let mut counts = Vec::new();
    for t in TABLES {
        let copied = copy_table(&mut source, &mut tx, t)
            .await
            .with_context(|| format!("copying table {}", t.name))?;
        let skipped = match t.filter {
            Some((_, reason)) => {
                let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", t.name))
                    .fetch_one(&mut source)
                    .await?;
                let left = u64::try_from(total)?.saturating_sub(copied);
                (left > 0).then_some((left, reason))
            }
            None => None,
        };
        if t.serial {
            carry_sequence(&mut source, &mut tx, t.name).await?;
        }
        counts.push(TableCount {
            table: t.name,
            copied,
            skipped,
        });
    }
    sqlx::raw_sql("ALTER TABLE build ENABLE TRIGGER build_events_insert")
        .execute(&mut *tx)
        .await?;
    let actor = Actor {
        environment: LogEnvironment::Admin,
        user_id: Some(get_or_create_user(&mut tx, admin_name).await?),
    };
    actor
        .log(
            &mut tx,
            &format!("Database migrated from Koschei (alembic revision {SOURCE_REVISION})"),
            None,
        )
        .await?;
    tx.commit().await?;
    sqlx::raw_sql("ROLLBACK").execute(&mut source).await?;
    Ok(counts)
}

/// Fails unless the source is an original Koschei database at
/// [`SOURCE_REVISION`].
async fn check_revision(source: &mut PgConnection) -> Result<()> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('public.alembic_version') IS NOT NULL")
            .fetch_one(&mut *source)
            .await?;
    if !has_table {
        bail!("The source database is not a Koschei database: it has no alembic_version table");
    }
    let revisions: Vec<String> = sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_all(&mut *source)
        .await?;
    if revisions != [SOURCE_REVISION] {
        bail!(
            "The source database is at alembic revision {}; this command copies revision \
             {SOURCE_REVISION} (Koschei 2.4). Upgrade the source first with the original's \
             `koschei-admin alembic upgrade head`",
            if revisions.is_empty() {
                "(none)".to_string()
            } else {
                revisions.join(", ")
            }
        );
    }
    Ok(())
}

/// Streams one table from the source into the destination; returns the
/// number of rows copied.
async fn copy_table(source: &mut PgConnection, dest: &mut PgConnection, t: &Table) -> Result<u64> {
    let select = t.select.unwrap_or(t.columns);
    let filter = t
        .filter
        .map_or(String::new(), |(f, _)| format!(" WHERE {f}"));
    let mut out = source
        .copy_out_raw(&format!(
            "COPY (SELECT {select} FROM {}{filter}) TO STDOUT",
            t.name
        ))
        .await?;
    let mut into = dest
        .copy_in_raw(&format!("COPY {} ({}) FROM STDIN", t.name, t.columns))
        .await?;
    while let Some(chunk) = out.try_next().await? {
        into.send(chunk).await?;
    }
    Ok(into.finish().await?)
}

/// Sets the destination's `id` sequence of `table` past both the source's
/// sequence and the copied ids, so new rows do not collide.
async fn carry_sequence(
    source: &mut PgConnection,
    dest: &mut PgConnection,
    table: &str,
) -> Result<()> {
    let seq: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
        .bind(table)
        .fetch_one(&mut *source)
        .await?;
    let source_last = match seq {
        Some(seq) => {
            let (last, called): (i64, bool) =
                sqlx::query_as(&format!("SELECT last_value, is_called FROM {seq}"))
                    .fetch_one(&mut *source)
                    .await?;
            if called {
                last
            } else {
                last - 1
            }
        }
        None => 0,
    };
    sqlx::query(&format!(
        "SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST(v, 1), v > 0)
         FROM (SELECT GREATEST($2, COALESCE(max(id), 0), 0) AS v FROM {table}) m"
    ))
    .bind(table)
    .bind(source_last)
    .execute(&mut *dest)
    .await?;
    Ok(())
}

/// The report printed after a migration.
pub fn render(counts: &[TableCount]) -> String {
    let mut out = String::from("Copied from Koschei:\n");
    for c in counts {
        out.push_str(&format!(
            "  {}: {} rows",
            c.table.trim_matches('"'),
            c.copied
        ));
        if let Some((n, reason)) = c.skipped {
            out.push_str(&format!(" ({n} skipped: {reason})"));
        }
        out.push('\n');
    }
    out
}
