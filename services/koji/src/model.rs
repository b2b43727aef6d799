//! Typed views of the structs Koji returns (and koji-sim sends).
//!
//! Field names are Koji's. Optional or version-dependent fields are `Option`s with
//! `#[serde(default)]`, so older and newer hubs both parse.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub enum $name {
            $($(#[$vmeta])* $variant = $value),*
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                match v {
                    $($value => Ok($name::$variant),)*
                    other => Err(format!("invalid {} {}", stringify!($name), other)),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(v: $name) -> i64 {
                v as i64
            }
        }

        impl $name {
            /// Koji's name for the state (e.g. `CLOSED`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => koji_name(stringify!($variant)),)*
                }
            }

            /// Parses Koji's name for the state.
            pub fn from_name(name: &str) -> Option<Self> {
                [$($name::$variant),*].into_iter().find(|v| v.name() == name)
            }
        }
    };
}

/// `Free` → `FREE` (state names are the upper-case variant names).
fn koji_name(variant: &'static str) -> &'static str {
    match variant {
        "Free" => "FREE",
        "Open" => "OPEN",
        "Closed" => "CLOSED",
        "Canceled" => "CANCELED",
        "Assigned" => "ASSIGNED",
        "Failed" => "FAILED",
        "Building" => "BUILDING",
        "Complete" => "COMPLETE",
        "Deleted" => "DELETED",
        "Init" => "INIT",
        "Ready" => "READY",
        "Expired" => "EXPIRED",
        "Problem" => "PROBLEM",
        "Pending" => "PENDING",
        other => other,
    }
}

int_enum! {
    /// `koji.TASK_STATES`.
    TaskState { Free = 0, Open = 1, Closed = 2, Canceled = 3, Assigned = 4, Failed = 5 }
}

int_enum! {
    /// `koji.BUILD_STATES`.
    BuildState { Building = 0, Complete = 1, Deleted = 2, Failed = 3, Canceled = 4 }
}

int_enum! {
    /// `koji.REPO_STATES`.
    RepoState { Init = 0, Ready = 1, Expired = 2, Deleted = 3, Problem = 4 }
}

impl TaskState {
    /// Whether the task has finished (closed, canceled or failed).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Closed | TaskState::Canceled | TaskState::Failed
        )
    }
}

/// `koji.DEP_REQUIRE` etc.: the dependency kinds of `getRPMDeps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepType {
    /// Requires (for an SRPM: BuildRequires).
    Require = 0,
    /// Provides.
    Provide = 1,
    /// Obsoletes.
    Obsolete = 2,
    /// Conflicts.
    Conflict = 3,
    /// Suggests.
    Suggest = 4,
    /// Enhances.
    Enhance = 5,
    /// Supplements.
    Supplement = 6,
    /// Recommends.
    Recommend = 7,
}

/// `getTaskInfo` / `getTaskChildren` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Task id.
    pub id: i64,
    /// Task method (`build`, `buildArch`, `rebuildSRPM`, `newRepo`…).
    pub method: String,
    /// Current state.
    pub state: TaskState,
    /// Parent task id.
    #[serde(default)]
    pub parent: Option<i64>,
    /// Canonical arch the task runs on (`noarch` for parents).
    #[serde(default)]
    pub arch: String,
    /// Label (the build arch for buildArch, `srpm` for rebuildSRPM).
    #[serde(default)]
    pub label: Option<String>,
    /// Owner user id.
    #[serde(default)]
    pub owner: Option<i64>,
    /// Scheduling priority (lower runs first).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Channel id.
    #[serde(default)]
    pub channel_id: Option<i64>,
    /// Host running it.
    #[serde(default)]
    pub host_id: Option<i64>,
    /// Creation time (`YYYY-MM-DD HH:MM:SS.ffffff`).
    #[serde(default)]
    pub create_time: Option<String>,
    /// Creation timestamp (seconds since the epoch).
    #[serde(default)]
    pub create_ts: Option<f64>,
    /// Start time.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Start timestamp.
    #[serde(default)]
    pub start_ts: Option<f64>,
    /// Completion time.
    #[serde(default)]
    pub completion_time: Option<String>,
    /// Completion timestamp.
    #[serde(default)]
    pub completion_ts: Option<f64>,
    /// Load weight.
    #[serde(default)]
    pub weight: Option<f64>,
    /// Whether the task waits for children.
    #[serde(default)]
    pub waiting: Option<bool>,
    /// Whether the parent awaits this task.
    #[serde(default)]
    pub awaited: Option<bool>,
    /// The call arguments (only with `request=True`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Vec<Json>>,
}

impl TaskInfo {
    /// The `repo_id` carried by the request of a `buildArch` (`request[4]`) or
    /// `rebuildSRPM` (`request[2]`) task, as Koschei's `sync_tasks` reads it.
    pub fn request_repo_id(&self) -> Option<i64> {
        let index = match self.method.as_str() {
            "buildArch" => 4,
            "rebuildSRPM" => 2,
            _ => return None,
        };
        self.request.as_ref()?.get(index)?.get("repo_id")?.as_i64()
    }
}

/// `listTagged` entry, also `getBuild`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Build id.
    pub id: i64,
    /// Same as `id` (listTagged sends both).
    #[serde(default)]
    pub build_id: Option<i64>,
    /// Package name.
    pub name: String,
    /// Same as `name` (listTagged sends both).
    #[serde(default)]
    pub package_name: Option<String>,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Epoch (`None` when unset).
    #[serde(default)]
    pub epoch: Option<i64>,
    /// `name-version-release`.
    #[serde(default)]
    pub nvr: Option<String>,
    /// Build state.
    pub state: BuildState,
    /// Build task id (absent for imported builds).
    #[serde(default)]
    pub task_id: Option<i64>,
    /// Package id.
    #[serde(default)]
    pub package_id: Option<i64>,
    /// Owner id.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// Owner name.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// Tag the build was found in (listTagged).
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// Tag name (listTagged).
    #[serde(default)]
    pub tag_name: Option<String>,
    /// Creation event id.
    #[serde(default)]
    pub creation_event_id: Option<i64>,
    /// Creation time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// Completion time.
    #[serde(default)]
    pub completion_time: Option<String>,
    /// Start time.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Storage volume id.
    #[serde(default)]
    pub volume_id: Option<i64>,
    /// Storage volume name.
    #[serde(default)]
    pub volume_name: Option<String>,
}

/// `listRPMs` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpmInfo {
    /// RPM id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Epoch.
    #[serde(default)]
    pub epoch: Option<i64>,
    /// Arch (`src` for the SRPM).
    pub arch: String,
    /// Owning build.
    #[serde(default)]
    pub build_id: Option<i64>,
    /// Buildroot that produced it.
    #[serde(default)]
    pub buildroot_id: Option<i64>,
    /// `name-version-release`.
    #[serde(default)]
    pub nvr: Option<String>,
    /// Payload hash.
    #[serde(default)]
    pub payloadhash: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Build time (epoch seconds).
    #[serde(default)]
    pub buildtime: Option<i64>,
    /// External repo id (0 = internal).
    #[serde(default)]
    pub external_repo_id: Option<i64>,
    /// External repo name (`INTERNAL`).
    #[serde(default)]
    pub external_repo_name: Option<String>,
    /// Whether only metadata is stored.
    #[serde(default)]
    pub metadata_only: Option<bool>,
}

impl RpmInfo {
    /// The `{name, version, release, arch}` struct Koji accepts as an rpm id.
    pub fn nvra(&self) -> Nvra {
        Nvra {
            name: self.name.clone(),
            version: self.version.clone(),
            release: self.release.clone(),
            arch: self.arch.clone(),
        }
    }
}

/// An rpm identified by name, version, release and arch (Koji's rpm-info dict).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nvra {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Arch.
    pub arch: String,
}

/// `listPackages` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageEntry {
    /// Package id.
    pub package_id: i64,
    /// Package name.
    pub package_name: String,
    /// Tag holding the entry.
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// Tag name.
    #[serde(default)]
    pub tag_name: Option<String>,
    /// Owner id.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// Owner name.
    #[serde(default)]
    pub owner_name: Option<String>,
    /// Whether the package is blocked in the tag.
    #[serde(default)]
    pub blocked: bool,
    /// Extra arches.
    #[serde(default)]
    pub extra_arches: Option<String>,
}

/// `getBuildConfig` / `getTag` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagInfo {
    /// Tag id.
    pub id: i64,
    /// Tag name.
    pub name: String,
    /// Space-separated arches (`None` when unset).
    #[serde(default)]
    pub arches: Option<String>,
    /// Whether the tag is locked.
    #[serde(default)]
    pub locked: bool,
    /// Required permission name.
    #[serde(default)]
    pub perm: Option<String>,
    /// Required permission id.
    #[serde(default)]
    pub perm_id: Option<i64>,
    /// Maven support.
    #[serde(default)]
    pub maven_support: bool,
    /// Maven include-all.
    #[serde(default)]
    pub maven_include_all: bool,
    /// Extra settings (`mock.package_manager`…).
    #[serde(default)]
    pub extra: serde_json::Map<String, Json>,
}

impl TagInfo {
    /// The arches as a list.
    pub fn arch_list(&self) -> Vec<String> {
        self.arches
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// `getBuildTarget` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildTarget {
    /// Target id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Target name.
    #[serde(default)]
    pub name: Option<String>,
    /// Build tag id.
    #[serde(default)]
    pub build_tag: Option<i64>,
    /// Build tag name.
    pub build_tag_name: String,
    /// Destination tag id.
    #[serde(default)]
    pub dest_tag: Option<i64>,
    /// Destination tag name.
    pub dest_tag_name: String,
}

/// `getRepo` / `repoInfo` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoInfo {
    /// Repo id.
    pub id: i64,
    /// State.
    pub state: RepoState,
    /// Event the repo content was taken at.
    pub create_event: i64,
    /// Creation timestamp.
    #[serde(default)]
    pub create_ts: Option<f64>,
    /// Creation time.
    #[serde(default)]
    pub creation_time: Option<String>,
    /// Tag id (repoInfo).
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// Tag name (repoInfo).
    #[serde(default)]
    pub tag_name: Option<String>,
    /// Whether it is a dist repo.
    #[serde(default)]
    pub dist: Option<bool>,
    /// The newRepo task that made it.
    #[serde(default)]
    pub task_id: Option<i64>,
}

/// `getTagGroups` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagGroup {
    /// Group name (e.g. `build`).
    pub name: String,
    /// Group id.
    #[serde(default)]
    pub group_id: Option<i64>,
    /// Tag id.
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// Whether the group is blocked.
    #[serde(default)]
    pub blocked: bool,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the group is exported to comps.
    #[serde(default)]
    pub exported: Option<bool>,
    /// Default flag.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// User-visible flag.
    #[serde(default)]
    pub uservisible: Option<bool>,
    /// Biarch-only flag.
    #[serde(default)]
    pub biarchonly: Option<bool>,
    /// Lang-only value.
    #[serde(default)]
    pub langonly: Option<String>,
    /// Packages of the group.
    #[serde(default)]
    pub packagelist: Vec<GroupPackage>,
    /// Included groups.
    #[serde(default)]
    pub grouplist: Vec<Json>,
}

/// A package entry of a [`TagGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupPackage {
    /// Package name.
    pub package: String,
    /// `mandatory`, `default`, `optional` or `conditional`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Whether the entry is blocked.
    #[serde(default)]
    pub blocked: bool,
    /// Base-arch-only flag.
    #[serde(default)]
    pub basearchonly: Option<bool>,
    /// Condition for conditional packages.
    #[serde(default)]
    pub requires: Option<String>,
    /// Tag id.
    #[serde(default)]
    pub tag_id: Option<i64>,
    /// Group id.
    #[serde(default)]
    pub group_id: Option<i64>,
}

/// `getRPMDeps` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpmDep {
    /// Dependency name.
    pub name: String,
    /// Version (`[epoch:]version[-release]`, empty when unversioned).
    #[serde(default)]
    pub version: String,
    /// RPMSENSE flag bits.
    pub flags: i64,
    /// [`DepType`] as an integer.
    #[serde(rename = "type", default)]
    pub dep_type: i64,
}

/// `listHosts` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Host id.
    pub id: i64,
    /// Host name.
    pub name: String,
    /// Space-separated arches.
    pub arches: String,
    /// Capacity.
    pub capacity: f64,
    /// Current load.
    pub task_load: f64,
    /// Whether the host checks in.
    pub ready: bool,
    /// Whether the host is enabled.
    pub enabled: bool,
    /// User id of the host.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// `getChannel` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel id.
    pub id: i64,
    /// Channel name.
    pub name: String,
}

/// `getExternalRepo` / `createExternalRepo` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalRepo {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
}

/// `getTagExternalRepos` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagExternalRepo {
    /// External repo id.
    pub external_repo_id: i64,
    /// External repo name.
    pub external_repo_name: String,
    /// URL.
    pub url: String,
    /// Priority in the tag.
    pub priority: i64,
    /// Tag id.
    pub tag_id: i64,
    /// Tag name.
    pub tag_name: String,
    /// Merge mode (`koji`, `simple`, `bare`).
    #[serde(default)]
    pub merge_mode: Option<String>,
}

/// Session returned by `sslLogin`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id.
    #[serde(rename = "session-id")]
    pub session_id: i64,
    /// Session key.
    #[serde(rename = "session-key")]
    pub session_key: String,
    /// Whether the hub wants the session in headers rather than the query string.
    #[serde(rename = "header-auth", default)]
    pub header_auth: bool,
}

/// The BUILDARCHS / EXCLUDEARCH / EXCLUSIVEARCH headers of an SRPM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchHeaders {
    /// `BuildArch:` values.
    #[serde(rename = "BUILDARCHS", default, deserialize_with = "null_as_empty")]
    pub build_archs: Vec<String>,
    /// `ExcludeArch:` values.
    #[serde(rename = "EXCLUDEARCH", default, deserialize_with = "null_as_empty")]
    pub exclude_arch: Vec<String>,
    /// `ExclusiveArch:` values.
    #[serde(rename = "EXCLUSIVEARCH", default, deserialize_with = "null_as_empty")]
    pub exclusive_arch: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}
