//! Impact checks: "what would this change break?" for a Koji side tag, or an extra rpm-md
//! repository (Copr-style), layered over a collection (`impact_check`,
//! `impact_check_package`, `impact_check_change`, `impact_check_event`). They are created
//! here (admin CLI, web) and carried out by the resolver, which records the tracked
//! packages whose resolution differs between the collection's repo and the change.
//! Nothing here touches a package's public state.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::audit::Actor;
use crate::collections::find_collection;
use crate::config::{Config, ImpactConfig};
use crate::error::{DataError, DataResult};

pub use crate::impact_state::{BUILDING, COMPLETE, ERROR, QUEUED, RESOLVING};

/// The channel a new check is announced on at commit (payload: its id), which wakes the
/// resolvers.
pub const QUEUED_CHANNEL: &str = "koschei_impact_check";

/// Announces a new check to the resolvers (delivered when the transaction commits).
async fn notify_queued(conn: &mut PgConnection, id: i32) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(QUEUED_CHANNEL)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// One impact check.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactCheck {
    pub id: i32,
    pub collection: String,
    /// The Koji side tag whose build repo is the change (or `None`).
    pub side_tag: Option<String>,
    /// The extra rpm-md repository layered over the collection's repo (or `None`).
    pub repo_url: Option<String>,
    /// Packages with a changed dependency at most this far are built (1 = direct).
    pub depth: i32,
    /// At most this many packages are built.
    pub max_builds: i32,
    /// Whether affected packages are built at all.
    pub builds: bool,
    /// `queued`, `resolving`, `building`, `complete` or `error`.
    pub state: String,
    /// Why it failed, or what a queued check waits for.
    pub note: Option<String>,
    pub requested_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub created: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = "date-time-local"))]
    pub started: Option<NaiveDateTime>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = "date-time-local"))]
    pub finished: Option<NaiveDateTime>,
    /// The collection's repo compared (the base).
    pub base_repo_id: Option<i32>,
    /// The side tag's repo compared (base + change; `None` for a repository).
    pub change_repo_id: Option<i32>,
}

/// One dependency that differs between base and change (`prev`/`curr`: `[E:]V-R.arch`,
/// `None` when absent on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactChange {
    pub name: String,
    pub prev: Option<String>,
    pub curr: Option<String>,
    /// Distance from the package's BuildRequires with the change (`None`: removed or far).
    pub distance: Option<i16>,
}

/// What a change does to one package's resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ResolutionVerdict {
    /// Resolvable against the base, not with the change.
    UnresolvableWithChange,
    /// Unresolvable against the base, resolvable with the change.
    ResolvableWithChange,
    /// Unresolvable either way, with other problems.
    StillUnresolvable,
    /// Resolvable either way, with other dependencies.
    DependenciesChanged,
}

impl ResolutionVerdict {
    /// The verdict of a package resolved against both sides.
    pub fn of(base_resolved: bool, change_resolved: bool) -> Self {
        match (base_resolved, change_resolved) {
            (true, false) => Self::UnresolvableWithChange,
            (false, true) => Self::ResolvableWithChange,
            (false, false) => Self::StillUnresolvable,
            (true, true) => Self::DependenciesChanged,
        }
    }

    /// The name stored in `impact_check_package.verdict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnresolvableWithChange => "unresolvable-with-change",
            Self::ResolvableWithChange => "resolvable-with-change",
            Self::StillUnresolvable => "still-unresolvable",
            Self::DependenciesChanged => "dependencies-changed",
        }
    }
}

/// A tracked package whose resolution differs between base and change.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactedPackage {
    #[serde(skip)]
    pub package_id: i32,
    pub package: String,
    pub verdict: String,
    /// Smallest distance of a changed dependency (`None`: none, or far).
    pub distance: Option<i16>,
    pub base_resolved: bool,
    pub change_resolved: bool,
    pub base_problems: Vec<String>,
    pub change_problems: Vec<String>,
    /// Its dependency changes, nearest first.
    #[sqlx(json)]
    pub changes: Vec<ImpactChange>,
    /// Chosen for builds (within the depth and the cap).
    pub build_planned: bool,
    /// `regression`, `fixed`, `still-failing`, `passes` or `infrastructure-failure`,
    /// once its builds finished.
    pub build_verdict: Option<String>,
    /// Its builds, every attempt, oldest first.
    #[sqlx(skip)]
    pub builds: Vec<ImpactBuild>,
}

/// One scratch build of an impact check.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactBuild {
    #[serde(skip)]
    pub package_id: i32,
    /// `change` (the side tag's repo) or `base` (the collection's repo).
    pub side: String,
    pub attempt: i32,
    /// `None` when Koji refused the submission.
    pub task_id: Option<i64>,
    /// `running`, `ok`, `failed` or `infra-failure`.
    pub state: String,
    /// Set when the baseline is an existing build of the package on the same repo.
    pub build_id: Option<i32>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub started: NaiveDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = "date-time-local"))]
    pub finished: Option<NaiveDateTime>,
    /// Why an infrastructure failure is one.
    pub note: Option<String>,
}

/// One state a check went through.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = "date-time-local"))]
    pub time: NaiveDateTime,
    pub state: String,
    pub note: Option<String>,
}

/// Counts of a check's affected packages by verdict.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactCounts {
    pub affected: i64,
    pub unresolvable_with_change: i64,
    pub resolvable_with_change: i64,
    pub still_unresolvable: i64,
    pub dependencies_changed: i64,
    /// Build verdicts.
    pub regressions: i64,
    pub fixed: i64,
    pub still_failing: i64,
    pub passes: i64,
    pub infrastructure_failures: i64,
    /// Planned builds without a verdict yet.
    pub builds_pending: i64,
}

/// A check with its affected packages (newly unresolvable first) and its history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactReport {
    pub check: ImpactCheck,
    pub counts: ImpactCounts,
    pub packages: Vec<ImpactedPackage>,
    pub events: Vec<ImpactEvent>,
}

/// Whether `tag` can be a Koji tag name (what Koji accepts in a tag name).
pub fn is_valid_tag_name(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// What to check: a side tag or a repository URL.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewImpactCheck {
    /// Collection name.
    pub collection: String,
    /// A Koji side tag (its latest build repo is the change).
    #[serde(default)]
    pub side_tag: Option<String>,
    /// An rpm-md repository layered over the collection's repo (under one of the
    /// configured `impact.repo_url_prefixes`); resolution only.
    #[serde(default)]
    pub repo_url: Option<String>,
    /// Depth of reverse build dependencies to build (1 = direct; default 1).
    #[serde(default = "default_depth")]
    pub depth: i32,
    /// At most this many packages are built (default 20).
    #[serde(default = "default_max_builds")]
    pub max_builds: i32,
    /// Build the affected packages (default: yes for a side tag; a repository cannot be
    /// built against, Koji knows nothing of it).
    #[serde(default)]
    pub builds: Option<bool>,
}

fn default_depth() -> i32 {
    1
}

fn default_max_builds() -> i32 {
    20
}

impl NewImpactCheck {
    /// A check of a side tag with the default options.
    pub fn new(collection: &str, side_tag: &str) -> Self {
        NewImpactCheck {
            collection: collection.into(),
            side_tag: Some(side_tag.into()),
            repo_url: None,
            depth: default_depth(),
            max_builds: default_max_builds(),
            builds: None,
        }
    }

    /// A check of a repository with the default options.
    pub fn of_repository(collection: &str, repo_url: &str) -> Self {
        NewImpactCheck {
            side_tag: None,
            repo_url: Some(repo_url.into()),
            ..NewImpactCheck::new(collection, "")
        }
    }

    /// The change, validated: a side tag name Koji accepts, or a repository URL the
    /// configuration allows.
    fn change(&self, config: &ImpactConfig) -> DataResult<ChangeSource<'_>> {
        match (self.side_tag.as_deref(), self.repo_url.as_deref()) {
            (Some(tag), None) if is_valid_tag_name(tag) => Ok(ChangeSource::SideTag(tag)),
            (Some(tag), None) => Err(DataError::Invalid(format!(
                "Invalid side tag name: {tag:?}"
            ))),
            (None, Some(url)) => match config.refuse_repo_url(url) {
                None => Ok(ChangeSource::Repository(url)),
                Some(reason) => Err(DataError::Invalid(reason)),
            },
            _ => Err(DataError::Invalid(
                "An impact check needs either a side tag or a repository URL".into(),
            )),
        }
    }
}

/// What an impact check layers over its collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource<'a> {
    /// A Koji side tag: its latest build repo.
    SideTag(&'a str),
    /// An extra rpm-md repository.
    Repository(&'a str),
}

impl std::fmt::Display for ChangeSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeSource::SideTag(tag) => write!(f, "side tag {tag}"),
            ChangeSource::Repository(url) => write!(f, "repository {url}"),
        }
    }
}

/// Deepest `depth` accepted.
pub const MAX_DEPTH: i32 = 20;
/// Largest `max_builds` accepted.
pub const MAX_BUILDS: i32 = 1_000;

/// Queues a check; returns its id.
pub async fn create(
    conn: &mut PgConnection,
    config: &ImpactConfig,
    actor: &Actor,
    new: &NewImpactCheck,
) -> DataResult<i32> {
    let change = new.change(config)?;
    let builds = match (change, new.builds) {
        (ChangeSource::Repository(_), Some(true)) => {
            return Err(DataError::Invalid(
                "Builds need a Koji side tag: a check of a repository resolves only".into(),
            ))
        }
        (ChangeSource::Repository(_), _) => false,
        (ChangeSource::SideTag(_), builds) => builds.unwrap_or(true),
    };
    if !(1..=MAX_DEPTH).contains(&new.depth) {
        return Err(DataError::Invalid(format!(
            "Invalid depth {}: expected 1 to {MAX_DEPTH}",
            new.depth
        )));
    }
    if !(0..=MAX_BUILDS).contains(&new.max_builds) {
        return Err(DataError::Invalid(format!(
            "Invalid build cap {}: expected 0 to {MAX_BUILDS}",
            new.max_builds
        )));
    }
    let collection = find_collection(conn, &new.collection).await?;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let id: i32 = sqlx::query_scalar(
        r#"INSERT INTO impact_check (collection_id, side_tag, repo_url, depth, max_builds,
                                     builds, requested_by)
           VALUES ($1, $2, $3, $4, $5, $6,
                   COALESCE((SELECT name FROM "user" WHERE id = $7), 'koschei'))
           RETURNING id"#,
    )
    .bind(collection.id)
    .bind(new.side_tag.as_deref())
    .bind(new.repo_url.as_deref())
    .bind(new.depth)
    .bind(new.max_builds)
    .bind(builds)
    .bind(actor.user_id)
    .fetch_one(&mut *tx)
    .await?;
    record_event(&mut tx, id, QUEUED, None).await?;
    notify_queued(&mut tx, id).await?;
    actor
        .log(
            &mut tx,
            &format!(
                "Impact check {id} of {change} against {} queued",
                collection.name
            ),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Queues the automatic check of a side tag's new repo against a collection (a Koji
/// `repo.done` of a side tag matching `impact.auto_side_tags`), unless that repo was
/// checked already; the older open checks of the side tag end in `error` (superseded:
/// Fedora CI's "aborted"). Returns the new check's id.
pub async fn create_automatic(
    conn: &mut PgConnection,
    config: &Config,
    collection_id: i32,
    side_tag: &str,
    repo_id: i32,
) -> sqlx::Result<Option<i32>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let id: Option<i32> = sqlx::query_scalar(
        "INSERT INTO impact_check (collection_id, side_tag, requested_by, trigger_repo_id)
         VALUES ($1, $2, 'koschei', $3)
         ON CONFLICT (collection_id, side_tag, trigger_repo_id)
             WHERE trigger_repo_id IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(collection_id)
    .bind(side_tag)
    .bind(repo_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    record_event(
        &mut tx,
        id,
        QUEUED,
        Some(&format!("repo {repo_id} of the side tag")),
    )
    .await?;
    notify_queued(&mut tx, id).await?;
    let superseded: Vec<i32> = sqlx::query_scalar(
        "UPDATE impact_check SET state = 'error', claimed_by = NULL, claim_until = NULL,
             finished = now() AT TIME ZONE 'UTC', note = $4
         WHERE collection_id = $1 AND side_tag = $2 AND id < $3
           AND state IN ('queued', 'resolving', 'building')
         RETURNING id",
    )
    .bind(collection_id)
    .bind(side_tag)
    .bind(id)
    .bind(format!("superseded by check {id} of repo {repo_id}"))
    .fetch_all(&mut *tx)
    .await?;
    for old in superseded {
        let note = format!("superseded by check {id} of repo {repo_id}");
        enter_state(&mut tx, config, old, ERROR, Some(&note)).await?;
    }
    tx.commit().await?;
    Ok(Some(id))
}

/// Appends a state to a check's history and queues the messages announcing it
/// ([`crate::impact_messages`]); the state before is the history's last.
pub async fn enter_state(
    conn: &mut PgConnection,
    config: &Config,
    check_id: i32,
    state: &str,
    note: Option<&str>,
) -> sqlx::Result<()> {
    let old: Option<String> = sqlx::query_scalar(
        "SELECT state FROM impact_check_event WHERE check_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(check_id)
    .fetch_optional(&mut *conn)
    .await?;
    record_event(conn, check_id, state, note).await?;
    crate::impact_messages::state_changed(conn, config, check_id, old.as_deref(), state, note).await
}

/// Appends a state to a check's history (a new check's `queued`: it is announced once a
/// resolver takes it up).
pub async fn record_event(
    conn: &mut PgConnection,
    check_id: i32,
    state: &str,
    note: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO impact_check_event (check_id, state, note) VALUES ($1, $2, $3)")
        .bind(check_id)
        .bind(state)
        .bind(note)
        .execute(conn)
        .await?;
    Ok(())
}

const CHECK_COLUMNS: &str = "i.id, c.name AS collection, i.side_tag, i.repo_url, i.depth,
     i.max_builds,
     i.builds, i.state, i.note,
     i.requested_by, i.created, i.started, i.finished, i.base_repo_id, i.change_repo_id";

/// The newest checks, newest first.
pub async fn list(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<ImpactCheck>> {
    sqlx::query_as(&format!(
        "SELECT {CHECK_COLUMNS} FROM impact_check i JOIN collection c ON c.id = i.collection_id
         ORDER BY i.id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One check with its affected packages and history.
pub async fn report(conn: &mut PgConnection, id: i32) -> DataResult<ImpactReport> {
    report_listing(conn, id, None).await
}

/// One check with its history and at most `limit` of its affected packages (the
/// report's order: regressions, then the packages the change makes unresolvable, then
/// the nearest); the counts are of them all.
pub async fn report_listing(
    conn: &mut PgConnection,
    id: i32,
    limit: Option<i64>,
) -> DataResult<ImpactReport> {
    let check: ImpactCheck = sqlx::query_as(&format!(
        "SELECT {CHECK_COLUMNS} FROM impact_check i JOIN collection c ON c.id = i.collection_id
         WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| DataError::Invalid(format!("Impact check not found: {id}")))?;
    let mut packages: Vec<ImpactedPackage> = sqlx::query_as(
        "SELECT ip.package_id, p.name AS package, ip.verdict, ip.distance, ip.base_resolved,
                ip.change_resolved, ip.base_problems, ip.change_problems,
                (SELECT COALESCE(jsonb_agg(jsonb_build_object('name', ch.name, 'prev', ch.prev,
                                                               'curr', ch.curr, 'distance', u.d)
                                           ORDER BY u.d NULLS LAST, ch.name), '[]')
                 FROM unnest(ip.change_ids, ip.change_distances) AS u(id, d)
                 JOIN impact_check_change ch ON ch.check_id = ip.check_id AND ch.id = u.id)
                    AS changes,
                ip.build_planned, ip.build_verdict
         FROM impact_check_package ip JOIN package p ON p.id = ip.package_id
         WHERE ip.check_id = $1
         ORDER BY ip.build_verdict IS DISTINCT FROM 'regression',
                  ip.verdict <> 'unresolvable-with-change', ip.distance NULLS LAST, p.name
         LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let listed: Vec<i32> = packages.iter().map(|p| p.package_id).collect();
    let builds: Vec<ImpactBuild> = sqlx::query_as(
        "SELECT package_id, side, attempt, task_id, state, build_id, started, finished, note
         FROM impact_build WHERE check_id = $1 AND package_id = ANY($2) ORDER BY id",
    )
    .bind(id)
    .bind(&listed)
    .fetch_all(&mut *conn)
    .await?;
    let position: std::collections::HashMap<i32, usize> =
        listed.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    for b in builds {
        packages[position[&b.package_id]].builds.push(b);
    }
    let events = sqlx::query_as(
        r#"SELECT "time", state, note FROM impact_check_event WHERE check_id = $1 ORDER BY id"#,
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let counts = counts(conn, id).await?;
    Ok(ImpactReport {
        check,
        counts,
        packages,
        events,
    })
}

/// A check's affected packages counted by verdict.
async fn counts(conn: &mut PgConnection, id: i32) -> sqlx::Result<ImpactCounts> {
    sqlx::query_as(
        "SELECT count(*) AS affected,
             count(*) FILTER (WHERE verdict = 'unresolvable-with-change')
                 AS unresolvable_with_change,
             count(*) FILTER (WHERE verdict = 'resolvable-with-change') AS resolvable_with_change,
             count(*) FILTER (WHERE verdict = 'still-unresolvable') AS still_unresolvable,
             count(*) FILTER (WHERE verdict = 'dependencies-changed') AS dependencies_changed,
             count(*) FILTER (WHERE build_verdict = 'regression') AS regressions,
             count(*) FILTER (WHERE build_verdict = 'fixed') AS fixed,
             count(*) FILTER (WHERE build_verdict = 'still-failing') AS still_failing,
             count(*) FILTER (WHERE build_verdict = 'passes') AS passes,
             count(*) FILTER (WHERE build_verdict = 'infrastructure-failure')
                 AS infrastructure_failures,
             count(*) FILTER (WHERE build_verdict IS NULL AND build_planned) AS builds_pending
         FROM impact_check_package WHERE check_id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

impl ImpactedPackage {
    /// The problems worth showing: with the change, or of the base when the change
    /// fixes them.
    pub fn problems(&self) -> &[String] {
        if self.change_resolved {
            &self.base_problems
        } else {
            &self.change_problems
        }
    }
}

impl ImpactCheck {
    /// What the check layers over its collection.
    pub fn change(&self) -> ChangeSource<'_> {
        match (&self.side_tag, &self.repo_url) {
            (Some(tag), _) => ChangeSource::SideTag(tag),
            (None, url) => ChangeSource::Repository(url.as_deref().unwrap_or_default()),
        }
    }

    /// One line: id, change, collection, state (and note).
    pub fn render_line(&self) -> String {
        let repos = match (self.base_repo_id, self.change_repo_id) {
            (Some(b), Some(c)) => format!(" (repo {b} → {c})"),
            (Some(b), None) => format!(" (repo {b})"),
            _ => String::new(),
        };
        let note = self
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        format!(
            "{} {} against {}{repos}: {}{note}",
            self.id,
            self.change(),
            self.collection,
            self.state
        )
    }
}

impl ImpactReport {
    /// The report as text (`koschei-admin impact-check show`).
    pub fn render_text(&self) -> String {
        let c = &self.counts;
        let mut out = format!("Impact check {}\n", self.check.render_line());
        if matches!(self.check.state.as_str(), BUILDING | COMPLETE) {
            out.push_str(&format!(
                "{} affected: {} unresolvable with the change, {} resolvable with it, \
                 {} still unresolvable, {} with other dependencies\n",
                c.affected,
                c.unresolvable_with_change,
                c.resolvable_with_change,
                c.still_unresolvable,
                c.dependencies_changed
            ));
            if self.check.builds {
                out.push_str(&format!(
                    "Builds: {} regressions, {} fixed, {} still failing, {} pass, \
                     {} infrastructure failures, {} pending\n",
                    c.regressions,
                    c.fixed,
                    c.still_failing,
                    c.passes,
                    c.infrastructure_failures,
                    c.builds_pending
                ));
            }
        }
        for p in &self.packages {
            let distance = p
                .distance
                .map(|d| format!(", distance {d}"))
                .unwrap_or_default();
            let build = match (&p.build_verdict, p.build_planned) {
                (Some(v), _) => format!("; builds: {v}"),
                (None, true) => "; builds pending".to_string(),
                (None, false) => String::new(),
            };
            out.push_str(&format!("{}: {}{distance}{build}\n", p.package, p.verdict));
            for b in &p.builds {
                let note = b
                    .note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let task = b
                    .task_id
                    .map(|t| format!("task {t}"))
                    .unwrap_or("no task".into());
                out.push_str(&format!(
                    "    {} build, {task}: {}{note}\n",
                    b.side, b.state
                ));
            }
            for problem in p.problems() {
                out.push_str(&format!("    {}\n", problem.replace('\n', "\n    ")));
            }
            for ch in &p.changes {
                out.push_str(&format!(
                    "    {} {} → {}\n",
                    ch.name,
                    ch.prev.as_deref().unwrap_or("(none)"),
                    ch.curr.as_deref().unwrap_or("(none)")
                ));
            }
        }
        out.push_str("History:\n");
        for e in &self.events {
            let note = e
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            out.push_str(&format!("  {} {}{note}\n", e.time.format("%F %T"), e.state));
        }
        out
    }
}
