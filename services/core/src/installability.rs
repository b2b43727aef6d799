//! The installability of binary packages as the resolver's installability pass stored it
//! (`binary_installability`, `installability_change`, `installability_pass`): per source
//! package (its binaries, their history) and per collection (the uninstallable binaries,
//! the counts of each checked repo). Read by `koschei-admin installability` and the web.

use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::PgConnection;

use crate::collections::find_collection;
use crate::error::{DataError, DataResult};

/// One binary package's outcome in the collection's latest checked repo.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BinaryInstallability {
    pub name: String,
    pub arch: String,
    pub evr: String,
    /// The source package it was built from.
    pub source_name: String,
    pub installable: bool,
    /// libsolv's problems; empty when installable.
    pub problems: Vec<String>,
    /// Packages installed with it, itself included (0 when not installable).
    pub install_count: i32,
    /// Bytes to download and installed for all of them.
    pub download_size: i64,
    pub install_size: i64,
    /// The repo of the first check that gave this outcome.
    pub since_repo_id: i32,
}

/// One history row of a binary: what changed in which repo. `evr` and the outcome are
/// `None` when the binary left the repo.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallabilityChange {
    pub repo_id: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub time: NaiveDateTime,
    pub name: String,
    pub arch: String,
    pub evr: Option<String>,
    pub installable: Option<bool>,
    pub problems: Option<Vec<String>>,
    pub install_count: Option<i32>,
    pub download_size: Option<i64>,
    pub install_size: Option<i64>,
}

/// The installability of a source package's binaries in one collection.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageInstallability {
    pub package: String,
    pub collection: String,
    /// The repo whose binaries were checked last (`None`: never checked).
    pub checked_repo_id: Option<i32>,
    pub binaries: Vec<BinaryInstallability>,
    /// Oldest first.
    pub history: Vec<InstallabilityChange>,
    /// Whether a rebuild would fix the uninstallable binaries: the latest check of a
    /// scratch build's binaries against the checked repo, if any.
    pub rebuild: Option<RebuildCheck>,
}

/// A completed scratch build's binaries installed from a checked repo ("would a rebuild
/// fix it?").
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebuildCheck {
    pub build_id: i32,
    pub task_id: i32,
    /// The repo the build ran on.
    pub build_repo_id: i32,
    /// The repo its binaries were installed from.
    pub repo_id: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub time: NaiveDateTime,
    /// Whether all of them install; `None`: the task had no binaries to check.
    pub installable: Option<bool>,
    /// Why there was nothing to check.
    pub note: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::outbox::BinaryInstallability>))]
    pub binaries: sqlx::types::Json<Vec<crate::outbox::BinaryInstallability>>,
}

/// Counts of one checked repo of a collection.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallabilityPass {
    pub repo_id: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub time: NaiveDateTime,
    pub binaries: i32,
    pub uninstallable: i32,
    /// History rows the check wrote.
    pub changes: i32,
}

/// The uninstallable binaries of a collection and its counts over time.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionInstallability {
    pub collection: String,
    pub checked_repo_id: Option<i32>,
    /// Ordered by source package, then name and arch.
    pub uninstallable: Vec<BinaryInstallability>,
    /// The last [`RECENT_PASSES`] checked repos, oldest first.
    pub passes: Vec<InstallabilityPass>,
}

/// Checked repos a collection's report lists.
pub const RECENT_PASSES: i64 = 60;

const BINARY_COLUMNS: &str = "name, arch, evr, source_name, installable, problems, \
     install_count, download_size, install_size, since_repo_id";

/// The collection's last checked repo (`collection.installability_repo_id`); `None` also
/// for a collection deleted meanwhile.
pub async fn checked_repo(
    conn: &mut PgConnection,
    collection_id: i32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar("SELECT installability_repo_id FROM collection WHERE id = $1")
        .bind(collection_id)
        .fetch_optional(conn)
        .await
        .map(Option::flatten)
}

/// The binaries built from source package `package` in `collection`, with their
/// history. A package the collection neither tracks nor has binaries of is an error.
pub async fn package_installability(
    conn: &mut PgConnection,
    package: &str,
    collection: &str,
) -> DataResult<PackageInstallability> {
    let c = find_collection(conn, collection).await?;
    let binaries: Vec<BinaryInstallability> = sqlx::query_as(&format!(
        "SELECT {BINARY_COLUMNS} FROM binary_installability
          WHERE collection_id = $1 AND source_name = $2 ORDER BY name, arch"
    ))
    .bind(c.id)
    .bind(package)
    .fetch_all(&mut *conn)
    .await?;
    let history: Vec<InstallabilityChange> = sqlx::query_as(
        "SELECT repo_id, \"time\", name, arch, evr, installable, problems, install_count,
                download_size, install_size
           FROM installability_change
          WHERE collection_id = $1 AND source_name = $2 ORDER BY id",
    )
    .bind(c.id)
    .bind(package)
    .fetch_all(&mut *conn)
    .await?;
    if binaries.is_empty() && history.is_empty() {
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM package WHERE collection_id = $1 AND name = $2)",
        )
        .bind(c.id)
        .bind(package)
        .fetch_one(&mut *conn)
        .await?;
        if !known {
            return Err(DataError::PackagesNotFound {
                collection: collection.to_string(),
                names: vec![package.to_string()],
            });
        }
    }
    let checked_repo_id = checked_repo(conn, c.id).await?;
    let rebuild = sqlx::query_as(
        "SELECT r.build_id, b.task_id, b.repo_id AS build_repo_id, r.repo_id, r.\"time\",
                r.installable, r.note, r.binaries
           FROM rebuild_installability r
           JOIN build b ON b.id = r.build_id
           JOIN package p ON p.id = b.package_id
          WHERE p.collection_id = $1 AND p.name = $2 AND r.repo_id = $3
          ORDER BY r.build_id DESC LIMIT 1",
    )
    .bind(c.id)
    .bind(package)
    .bind(checked_repo_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(PackageInstallability {
        package: package.to_string(),
        collection: c.name,
        checked_repo_id,
        binaries,
        history,
        rebuild,
    })
}

/// The uninstallable binaries of `collection` and the counts of its last checked repos.
pub async fn collection_installability(
    conn: &mut PgConnection,
    collection: &str,
) -> DataResult<CollectionInstallability> {
    let c = find_collection(conn, collection).await?;
    let uninstallable = sqlx::query_as(&format!(
        "SELECT {BINARY_COLUMNS} FROM binary_installability
          WHERE collection_id = $1 AND NOT installable ORDER BY source_name, name, arch"
    ))
    .bind(c.id)
    .fetch_all(&mut *conn)
    .await?;
    let passes = recent_passes(conn, c.id).await?;
    Ok(CollectionInstallability {
        collection: c.name,
        checked_repo_id: checked_repo(conn, c.id).await?,
        uninstallable,
        passes,
    })
}

/// The counts of the last [`RECENT_PASSES`] checked repos of a collection, oldest first.
pub async fn recent_passes(
    conn: &mut PgConnection,
    collection_id: i32,
) -> sqlx::Result<Vec<InstallabilityPass>> {
    sqlx::query_as(
        "SELECT * FROM (
             SELECT repo_id, \"time\", binaries, uninstallable, changes FROM installability_pass
              WHERE collection_id = $1 ORDER BY repo_id DESC LIMIT $2) p
          ORDER BY repo_id",
    )
    .bind(collection_id)
    .bind(RECENT_PASSES)
    .fetch_all(conn)
    .await
}

/// A size in megabytes with one decimal (`2.5 MB`), as the CLI and the pages show it.
pub fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn render_binary(out: &mut String, b: &BinaryInstallability) {
    if b.installable {
        out.push_str(&format!(
            "  {}-{}.{}: installable with {} packages, {} to download, {} installed \
             (since repo {})\n",
            b.name,
            b.evr,
            b.arch,
            b.install_count,
            megabytes(b.download_size),
            megabytes(b.install_size),
            b.since_repo_id
        ));
    } else {
        out.push_str(&format!(
            "  {}-{}.{}: NOT installable (since repo {})\n",
            b.name, b.evr, b.arch, b.since_repo_id
        ));
        for problem in &b.problems {
            for line in problem.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
}

fn not_checked(checked_repo_id: Option<i32>) -> &'static str {
    match checked_repo_id {
        Some(_) => "",
        None => " (no repo checked yet)",
    }
}

impl PackageInstallability {
    /// The report as text (`koschei-admin installability`).
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{} in {}: {} binaries, {} not installable{}\n",
            self.package,
            self.collection,
            self.binaries.len(),
            self.binaries.iter().filter(|b| !b.installable).count(),
            not_checked(self.checked_repo_id)
        );
        for b in &self.binaries {
            render_binary(&mut out, b);
        }
        if let Some(r) = &self.rebuild {
            out.push_str(&format!("{}\n", r.verdict()));
            for b in r.binaries.iter().filter(|b| !b.installable) {
                out.push_str(&format!("  {}-{}.{}:\n", b.name, b.evr, b.arch));
                for problem in &b.problems {
                    out.push_str(&format!("    {}\n", problem.replace('\n', "\n    ")));
                }
            }
        }
        if !self.history.is_empty() {
            out.push_str("History:\n");
        }
        for h in &self.history {
            let what = match (&h.evr, h.installable) {
                (None, _) => "left the repo".to_string(),
                (Some(evr), Some(true)) => format!(
                    "{evr} installable, {} packages, {}",
                    h.install_count.unwrap_or(0),
                    megabytes(h.install_size.unwrap_or(0))
                ),
                (Some(evr), _) => format!("{evr} NOT installable"),
            };
            out.push_str(&format!(
                "  repo {} ({}): {}.{} {what}\n",
                h.repo_id,
                h.time.format("%Y-%m-%d %H:%M"),
                h.name,
                h.arch
            ));
        }
        out
    }
}

impl RebuildCheck {
    /// One sentence: would the rebuild fix it?
    pub fn verdict(&self) -> String {
        let build = format!(
            "scratch build task {} (on repo {})",
            self.task_id, self.build_repo_id
        );
        match self.installable {
            Some(true) => format!(
                "A rebuild would fix it: the binaries of {build} install from repo {}.",
                self.repo_id
            ),
            Some(false) => format!(
                "A rebuild would not fix it: the binaries of {build} do not all install from \
                 repo {} either.",
                self.repo_id
            ),
            None => format!(
                "The {build} had nothing to check: {}.",
                self.note.as_deref().unwrap_or("no binaries")
            ),
        }
    }
}

impl CollectionInstallability {
    /// The report as text (`koschei-admin installability -c C`).
    pub fn render_text(&self) -> String {
        let mut out = match self.passes.last() {
            Some(p) => format!(
                "{}: repo {}: {} binaries, {} not installable\n",
                self.collection, p.repo_id, p.binaries, p.uninstallable
            ),
            None => format!("{}{}\n", self.collection, not_checked(None)),
        };
        let mut source = "";
        for b in &self.uninstallable {
            if b.source_name != source {
                source = &b.source_name;
                out.push_str(&format!("{source}:\n"));
            }
            render_binary(&mut out, b);
        }
        out
    }
}
