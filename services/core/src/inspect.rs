//! Everything known about one package in one collection, explained: its
//! state, its current priority with each component, why it is not
//! scheduled, its pending dependency changes and its last builds. Used by
//! `koschei-admin package` and the web package page.

use chrono::NaiveDateTime;
use serde::Serialize;
use sqlx::PgConnection;

use crate::config::PriorityConfig;
use crate::error::{DataError, DataResult};
use crate::model::BuildState;

/// The priority of a package and what it is made of (`Package.current_priority_expression`
/// in `koschei/models.py`).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PriorityBreakdown {
    /// Current priority; `None` when the package is not schedulable.
    pub current: Option<f64>,
    pub manual: i32,
    #[sqlx(rename = "static_priority")]
    pub r#static: i32,
    pub dependency: i32,
    pub build: i32,
    /// Time priority from the last build's start (`None` without a build).
    pub time: Option<f64>,
    pub coefficient: f64,
    pub threshold: f64,
}

/// One build in a package's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BuildSummary {
    pub id: i32,
    pub task_id: i32,
    #[serde(skip)]
    pub build_state: BuildState,
    /// [`BuildState::as_str`] of `build_state`.
    pub state: String,
    pub started: NaiveDateTime,
    pub finished: Option<NaiveDateTime>,
    pub epoch: Option<i32>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub repo_id: Option<i32>,
    pub real: bool,
    pub untagged: bool,
    pub deps_resolved: Option<bool>,
    /// Priority components at submission (why it was built).
    pub submit_reason: Option<serde_json::Value>,
    /// Cause of an infrastructure failure.
    pub failure_reason: Option<String>,
}

/// A pending (unapplied) dependency change.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ChangeSummary {
    pub name: String,
    pub prev_evr: Option<String>,
    pub curr_evr: Option<String>,
    pub distance: Option<i32>,
}

/// The inspector's report.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    pub name: String,
    pub collection: String,
    pub collection_display_name: String,
    pub state: String,
    pub tracked: bool,
    pub blocked: bool,
    pub resolved: Option<bool>,
    pub skip_resolution: bool,
    pub arch_override: Option<String>,
    pub priority: PriorityBreakdown,
    /// Why the package cannot be scheduled (the wording of `koschei/models.py`); empty when it can.
    pub skip_reasons: Vec<String>,
    pub dependency_changes: Vec<ChangeSummary>,
    pub builds: Vec<BuildSummary>,
}

#[derive(sqlx::FromRow)]
struct PackageRow {
    id: i32,
    name: String,
    collection: String,
    collection_display_name: String,
    state: String,
    tracked: bool,
    blocked: bool,
    resolved: Option<bool>,
    skip_resolution: bool,
    arch_override: Option<String>,
    skip_reasons: Vec<String>,
    #[sqlx(flatten)]
    priority: PriorityBreakdown,
}

/// Loads the report of package `name` in collection `collection`, with up to
/// `max_builds` builds.
pub async fn package_report(
    conn: &mut PgConnection,
    name: &str,
    collection: &str,
    priorities: &PriorityConfig,
    max_builds: i64,
) -> DataResult<PackageReport> {
    crate::collections::find_collection(conn, collection).await?;
    let row: PackageRow = sqlx::query_as(
        "SELECT p.id, p.name, c.name AS collection, c.display_name AS collection_display_name,
                package_state(p) AS state, p.tracked, p.blocked, p.resolved, p.skip_resolution,
                p.arch_override, package_skip_reasons(p, c) AS skip_reasons,
                package_priority(p, c, lb, $3, $4, $5) AS current,
                p.manual_priority AS manual, p.static_priority, p.dependency_priority AS dependency,
                p.build_priority AS build,
                CASE WHEN lb.id IS NOT NULL THEN time_priority(build_time(lb), $3, $4, $5) END AS time,
                c.priority_coefficient AS coefficient, $5::float8 AS threshold
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE p.name = $1 AND c.name = $2",
    )
    .bind(name)
    .bind(collection)
    .bind(priorities.t0)
    .bind(priorities.t1)
    .bind(priorities.build_threshold)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| DataError::PackagesNotFound {
        collection: collection.to_string(),
        names: vec![name.to_string()],
    })?;
    let mut builds: Vec<BuildSummary> = sqlx::query_as(
        "SELECT id, task_id, state AS build_state, '' AS state, started, finished, epoch, version, release,
                repo_id, real, untagged, deps_resolved, submit_reason, failure_reason
         FROM build WHERE package_id = $1 ORDER BY started DESC, id DESC LIMIT $2",
    )
    .bind(row.id)
    .bind(max_builds)
    .fetch_all(&mut *conn)
    .await?;
    for b in &mut builds {
        b.state = b.build_state.as_str().to_string();
    }
    let dependency_changes: Vec<ChangeSummary> = sqlx::query_as(
        "SELECT COALESCE(cd.name, pd.name) AS name,
                CASE WHEN pd.id IS NOT NULL THEN
                    CASE WHEN COALESCE(pd.epoch, 0) <> 0 THEN pd.epoch || ':' ELSE '' END
                    || pd.version || '-' || pd.release END AS prev_evr,
                CASE WHEN cd.id IS NOT NULL THEN
                    CASE WHEN COALESCE(cd.epoch, 0) <> 0 THEN cd.epoch || ':' ELSE '' END
                    || cd.version || '-' || cd.release END AS curr_evr,
                u.distance
         FROM unapplied_change u
         LEFT JOIN dependency pd ON pd.id = u.prev_dep_id
         LEFT JOIN dependency cd ON cd.id = u.curr_dep_id
         WHERE u.package_id = $1
         ORDER BY u.distance NULLS LAST, 1",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(PackageReport {
        name: row.name,
        collection: row.collection,
        collection_display_name: row.collection_display_name,
        state: row.state,
        tracked: row.tracked,
        blocked: row.blocked,
        resolved: row.resolved,
        skip_resolution: row.skip_resolution,
        arch_override: row.arch_override,
        priority: row.priority,
        skip_reasons: row.skip_reasons,
        dependency_changes,
        builds,
    })
}

impl PackageReport {
    /// One sentence saying whether and why the package will be scheduled.
    pub fn verdict(&self) -> String {
        match self.priority.current {
            None => "Not schedulable (see reasons).".to_string(),
            Some(p) if p >= self.priority.threshold => format!(
                "Will be scheduled: priority {p:.2} reaches the threshold {}.",
                self.priority.threshold
            ),
            Some(p) => format!(
                "Waiting: priority {p:.2} is below the threshold {}.",
                self.priority.threshold
            ),
        }
    }

    /// Human-readable multi-line rendering.
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Package {} in collection {} ({})",
            self.name, self.collection, self.collection_display_name
        );
        let _ = writeln!(out, "State:           {}", self.state);
        let _ = writeln!(
            out,
            "Tracked: {}   Blocked: {}   Resolved: {}   Skip resolution: {}   Arch override: {}",
            yes_no(self.tracked),
            yes_no(self.blocked),
            self.resolved.map_or("not yet", yes_no),
            yes_no(self.skip_resolution),
            self.arch_override.as_deref().unwrap_or("-")
        );
        let p = &self.priority;
        let _ = writeln!(
            out,
            "Priority:        {}",
            p.current
                .map_or("none (not schedulable)".into(), |v| format!("{v:.2}"))
        );
        let _ = writeln!(out, "  manual        {}", p.manual);
        let _ = writeln!(out, "  static        {}", p.r#static);
        let _ = writeln!(out, "  dependency    {}", p.dependency);
        let _ = writeln!(out, "  build         {}", p.build);
        let _ = writeln!(
            out,
            "  time          {}",
            p.time.map_or("-".into(), |t| format!("{t:.2}"))
        );
        let _ = writeln!(out, "  coefficient   {}", p.coefficient);
        let _ = writeln!(out, "{}", self.verdict());
        if !self.skip_reasons.is_empty() {
            let _ = writeln!(out, "Skip reasons:");
            for r in &self.skip_reasons {
                let _ = writeln!(out, "  - {r}");
            }
        }
        if !self.dependency_changes.is_empty() {
            let _ = writeln!(out, "Dependency changes since last build:");
            for c in &self.dependency_changes {
                let _ = writeln!(
                    out,
                    "  {:<30} {:>20} -> {:<20} distance {}",
                    c.name,
                    c.prev_evr.as_deref().unwrap_or("(none)"),
                    c.curr_evr.as_deref().unwrap_or("(removed)"),
                    c.distance.map_or("-".into(), |d| d.to_string())
                );
            }
        }
        let _ = writeln!(out, "Last builds:");
        if self.builds.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for b in &self.builds {
            let nvr = match (&b.version, &b.release) {
                (Some(v), Some(r)) => format!("{v}-{r}"),
                _ => "?".into(),
            };
            let _ = write!(
                out,
                "  {} task {:<10} {:<22} {:<24} {}{}",
                b.started.format("%Y-%m-%d %H:%M"),
                b.task_id,
                b.state,
                nvr,
                if b.real { "real" } else { "scratch" },
                if b.untagged { ", untagged" } else { "" }
            );
            if let Some(reason) = &b.failure_reason {
                let _ = write!(out, " ({reason})");
            }
            let _ = writeln!(out);
        }
        out
    }
}
