//! The JSON objects the API answers with: one type per object, serialised
//! with serde and described in the OpenAPI document by the same
//! definition (doc comments become the schema descriptions).
//!
//! Field order is the order of the keys in the answer. Objects that were
//! first built as `serde_json::Value` maps (builds, package details,
//! collections, groups, dependency changes) keep their keys in
//! alphabetical order, so their answers stay byte for byte what they were.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Error {
    /// What went wrong, for people.
    pub error: String,
}

/// What a request created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i32,
}

/// State of a package (SQL `package_state()`; `koschei/models.py` of the
/// original names the same states).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: states come from the database as text
pub enum PackageState {
    Ok,
    Failing,
    Unresolved,
    Unknown,
    Untracked,
    Blocked,
}

/// State of a build (`unknown` for a state code this version does not know).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the names come from `BuildState::as_str`
pub enum BuildState {
    #[schema(rename = "running")]
    Running,
    #[schema(rename = "complete")]
    Complete,
    #[schema(rename = "failed")]
    Failed,
    #[schema(rename = "canceled")]
    Canceled,
    #[schema(rename = "timed out")]
    TimedOut,
    #[schema(rename = "infrastructure failure")]
    InfraFailure,
    #[schema(rename = "unknown")]
    Unknown,
}

/// An element of `/api/v1/packages`, in the shape of the original's
/// `koschei/frontend/api.py`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageSummary {
    /// Package (SRPM) name.
    pub name: String,
    /// Collection name.
    pub collection: String,
    #[schema(value_type = PackageState)]
    pub state: String,
    /// The build that decides the state; null without one.
    pub last_complete_build: Option<LastBuild>,
}

/// The last complete (or failed) build of a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastBuild {
    /// Koji task id.
    pub task_id: i32,
    #[schema(value_type = String, format = "date-time-local")]
    pub time_started: NaiveDateTime,
    #[schema(value_type = Option<String>, format = "date-time-local")]
    pub time_finished: Option<NaiveDateTime>,
    pub epoch: Option<i32>,
    pub version: Option<String>,
    pub release: Option<String>,
}

/// Epoch, version and release of a dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evr {
    pub epoch: Option<i32>,
    pub release: String,
    pub version: String,
}

impl From<koschei_core::evr::Evr> for Evr {
    fn from(e: koschei_core::evr::Evr) -> Self {
        Evr {
            epoch: e.epoch,
            release: e.release,
            version: e.version,
        }
    }
}

/// A change of one dependency between two resolutions of a package.
#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyChange {
    /// The version now (null: removed).
    pub curr: Option<Evr>,
    /// Distance in the dependency graph (1: a direct dependency).
    pub distance: Option<i32>,
    #[schema(value_type = ChangeKind)]
    pub kind: &'static str,
    /// Dependency name.
    pub name: String,
    /// The version before (null: added).
    pub prev: Option<Evr>,
}

/// How a dependency changed.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the names come from `DepChange::kind`
pub enum ChangeKind {
    Added,
    Removed,
    Upgraded,
    Downgraded,
}

/// A Koji task of a build (one per architecture).
#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    pub arch: String,
    #[schema(value_type = Option<String>, format = "date-time-local")]
    pub finished: Option<NaiveDateTime>,
    #[schema(value_type = String, format = "date-time-local")]
    pub started: NaiveDateTime,
    /// Koji's name of the task state (`CLOSED`, `FAILED`, …; `UNKNOWN` for
    /// a state number Koji does not define).
    pub state: &'static str,
    /// Koji task id.
    pub task_id: i32,
}

/// A build with its Koji tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Build {
    pub cancel_requested: bool,
    /// Collection name.
    pub collection: String,
    /// Dependency changes the build applied (not in package details).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency_changes: Option<Vec<DependencyChange>>,
    /// Whether the build's dependencies resolved (null: not checked yet).
    pub deps_resolved: Option<bool>,
    pub epoch: Option<i32>,
    /// Cause of an infrastructure failure.
    pub failure_reason: Option<String>,
    #[schema(value_type = Option<String>, format = "date-time-local")]
    pub finished: Option<NaiveDateTime>,
    pub id: i32,
    /// Canceled, timed out or infrastructure failure: not a package failure.
    pub infrastructure_failure: bool,
    pub package_id: i32,
    pub package_name: String,
    /// A build made outside Koschei and seen in Koji.
    pub real: bool,
    pub release: Option<String>,
    /// Koji repository the build used.
    pub repo_id: Option<i32>,
    #[schema(value_type = String, format = "date-time-local")]
    pub started: NaiveDateTime,
    #[schema(value_type = BuildState)]
    pub state: &'static str,
    /// Priority components when the scheduler submitted the build.
    #[schema(value_type = Option<Object>)]
    pub submit_reason: Option<serde_json::Value>,
    /// When a real build was (last) seen tagged into the collection.
    #[schema(value_type = Option<String>, format = "date-time-local")]
    pub tagged: Option<NaiveDateTime>,
    /// Koji task id.
    pub task_id: i32,
    pub tasks: Vec<Task>,
    /// The time the build counts from: its tagging time for real builds
    /// merged later, else its start.
    #[schema(value_type = String, format = "date-time-local")]
    pub time: NaiveDateTime,
    pub untagged: bool,
    pub version: Option<String>,
}

/// The priority of a package and its components.
#[derive(Debug, Serialize, ToSchema)]
pub struct Priority {
    pub build: i32,
    pub coefficient: f64,
    /// The current priority; null when the package is not schedulable.
    pub current: Option<f64>,
    pub dependency: i32,
    pub manual: i32,
    pub r#static: i32,
    /// The priority a package needs to be scheduled.
    pub threshold: f64,
    /// Time priority from the last build's start (null without a build).
    pub time: Option<f64>,
}

impl From<koschei_core::inspect::PriorityBreakdown> for Priority {
    fn from(p: koschei_core::inspect::PriorityBreakdown) -> Self {
        Priority {
            build: p.build,
            coefficient: p.coefficient,
            current: p.current,
            dependency: p.dependency,
            manual: p.manual,
            r#static: p.r#static,
            threshold: p.threshold,
            time: p.time,
        }
    }
}

/// A dependency change not yet applied by a build.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingChange {
    /// `version-release` now (null: removed).
    pub curr_evr: Option<String>,
    pub distance: Option<i32>,
    pub name: String,
    /// `version-release` at the last build (null: added).
    pub prev_evr: Option<String>,
}

/// A change of a package's resolvability.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionChange {
    /// Problems of an unresolvable package.
    pub problems: Vec<String>,
    pub resolved: bool,
    #[schema(value_type = String, format = "date-time-local")]
    pub timestamp: NaiveDateTime,
}

/// A package explained: what the scheduler thinks of it and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageDetail {
    /// Architectures the package is built for instead of the collection's.
    pub arch_override: Option<String>,
    pub blocked: bool,
    /// Recent builds, newest first (`frontend.builds_per_page` of them).
    pub builds: Vec<Build>,
    pub collection: String,
    pub collection_display_name: String,
    /// Changes since the last build.
    pub dependency_changes: Vec<PendingChange>,
    /// Groups the package is in (`namespace/name` or `name`).
    pub groups: Vec<String>,
    pub name: String,
    pub priority: Priority,
    /// Recent changes of resolvability, newest first.
    pub resolution_changes: Vec<ResolutionChange>,
    /// Whether the dependencies resolve (null: not resolved yet).
    pub resolved: Option<bool>,
    /// Why the package cannot be scheduled; empty when it can.
    pub skip_reasons: Vec<String>,
    pub skip_resolution: bool,
    #[schema(value_type = PackageState)]
    pub state: String,
    pub tracked: bool,
    /// Whether and why the package will be scheduled.
    pub verdict: String,
}

/// A collection with its package counts and buildroot problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct Collection {
    pub bugzilla_product: Option<String>,
    pub bugzilla_version: Option<String>,
    pub build_group: String,
    pub build_tag: String,
    /// Problems of the collection's buildroot (empty when it resolves).
    pub buildroot_problems: Vec<String>,
    pub dest_tag: String,
    pub display_name: String,
    pub latest_repo_id: Option<i32>,
    pub latest_repo_resolved: Option<bool>,
    pub name: String,
    /// Display order, highest first.
    pub order: i32,
    /// Number of packages in each state (states without packages left out).
    #[schema(value_type = BTreeMap<String, i64>)]
    pub packages_by_state: BTreeMap<String, i64>,
    pub poll_untracked: bool,
    pub priority_coefficient: f64,
    /// Why scheduling is suspended (null: it is not).
    pub scheduling_suspended: Option<String>,
    pub secondary_mode: bool,
    #[schema(value_type = CollectionState)]
    pub state: String,
    /// Koji build target.
    pub target: String,
}

/// State of a collection's buildroot (SQL `collection_state()`).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: states come from the database as text
pub enum CollectionState {
    Ok,
    Unresolved,
    Unknown,
}

/// A package whose state differs between two collections.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct CollectionDiff {
    pub name: String,
    /// The package's state in the first and in the second collection,
    /// keyed by collection name.
    #[schema(value_type = BTreeMap<String, PackageState>)]
    #[sqlx(flatten)]
    pub state: StatePair,
}

/// Two `(collection, state)` pairs, serialised as a map in that order.
#[derive(Debug, sqlx::FromRow)]
pub struct StatePair {
    pub c1: String,
    pub s1: String,
    pub c2: String,
    pub s2: String,
}

impl Serialize for StatePair {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(&self.c1, &self.s1)?;
        map.serialize_entry(&self.c2, &self.s2)?;
        map.end()
    }
}

/// An element of `/api/v1/groups`.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct GroupSummary {
    /// `namespace/name`, or `name` for a global group.
    pub name: String,
    /// The owner's name; null for a global group.
    pub namespace: Option<String>,
    /// Packages in the group that are not blocked everywhere.
    pub package_count: i64,
    /// Names of the users who may edit the group.
    pub maintainers: Vec<String>,
}

/// A package group.
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    /// Names of the users who may edit the group.
    pub maintainers: Vec<String>,
    /// `namespace/name`, or `name` for a global group.
    pub name: String,
    /// The owner's name; null for a global group.
    pub namespace: Option<String>,
    /// Names of the group's packages.
    pub packages: Vec<String>,
}
