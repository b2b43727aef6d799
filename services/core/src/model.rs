//! State enums of the data model with their database encodings (spec §4.4,
//! §4.5) and Koji's numeric constants.

use std::fmt;
use std::str::FromStr;

/// Error for an unknown state name or number.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind}: {value}")]
pub struct UnknownState {
    kind: &'static str,
    value: String,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The name used in the database, the web and messages.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState { kind: $kind, value: s.to_string() }),
                }
            }
        }
    };
}

string_enum!(
    /// Package state (SQL `package_state()`), first matching rule wins.
    PackageState, "package state" {
        Blocked = "blocked",
        Untracked = "untracked",
        Unresolved = "unresolved",
        Ok = "ok",
        Failing = "failing",
        Unknown = "unknown",
    }
);

string_enum!(
    /// State carried by `koschei.package.state.change` messages.
    MessageState, "message state" {
        Ok = "ok",
        Failing = "failing",
        Unresolved = "unresolved",
        Ignored = "ignored",
    }
);

string_enum!(
    /// Base buildroot state of a collection.
    CollectionState, "collection state" {
        Ok = "ok",
        Unresolved = "unresolved",
        Unknown = "unknown",
    }
);

impl From<PackageState> for MessageState {
    fn from(s: PackageState) -> Self {
        match s {
            PackageState::Ok => MessageState::Ok,
            PackageState::Failing => MessageState::Failing,
            PackageState::Unresolved => MessageState::Unresolved,
            _ => MessageState::Ignored,
        }
    }
}

impl CollectionState {
    /// From `collection.latest_repo_resolved`.
    pub fn from_resolved(resolved: Option<bool>) -> Self {
        match resolved {
            Some(true) => CollectionState::Ok,
            Some(false) => CollectionState::Unresolved,
            None => CollectionState::Unknown,
        }
    }
}

/// State of a build row (`build.state`). 2, 3 and 5 are Koschei's; the
/// others are outcomes Koschei deleted and we keep as history. Only
/// running, complete and failed builds affect the package's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildState {
    Running,
    Complete,
    Canceled,
    Failed,
    TimedOut,
    InfraFailure,
}

impl BuildState {
    pub const ALL: [BuildState; 6] = [
        BuildState::Running,
        BuildState::Complete,
        BuildState::Canceled,
        BuildState::Failed,
        BuildState::TimedOut,
        BuildState::InfraFailure,
    ];

    /// Database encoding.
    pub fn code(self) -> i32 {
        match self {
            BuildState::Running => 2,
            BuildState::Complete => 3,
            BuildState::Canceled => 4,
            BuildState::Failed => 5,
            BuildState::TimedOut => 6,
            BuildState::InfraFailure => 7,
        }
    }

    pub fn from_code(code: i32) -> Result<Self, UnknownState> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or(UnknownState {
                kind: "build state",
                value: code.to_string(),
            })
    }

    /// Name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildState::Running => "running",
            BuildState::Complete => "complete",
            BuildState::Canceled => "canceled",
            BuildState::Failed => "failed",
            BuildState::TimedOut => "timed out",
            BuildState::InfraFailure => "infrastructure failure",
        }
    }

    /// Outcomes that say nothing about the package (kept as history only).
    pub fn is_infra_outcome(self) -> bool {
        matches!(
            self,
            BuildState::Canceled | BuildState::TimedOut | BuildState::InfraFailure
        )
    }
}

impl fmt::Display for BuildState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Koji task states (Koji's numbering), shared with the Koji client.
pub use koschei_koji::model::TaskState as KojiTaskState;

/// Why the scheduler skipped a package (`package.scheduler_skip_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    NoSrpm = 1,
    NoArch = 2,
}

string_enum!(
    /// Where an audit-log action came from (`log_entry.environment`).
    LogEnvironment, "log environment" {
        Admin = "admin",
        Backend = "backend",
        Frontend = "frontend",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_states_round_trip() {
        for s in BuildState::ALL {
            assert_eq!(BuildState::from_code(s.code()).unwrap(), s);
        }
        assert_eq!(BuildState::Running.code(), 2);
        assert_eq!(BuildState::Complete.code(), 3);
        assert_eq!(BuildState::Failed.code(), 5);
        assert!(BuildState::from_code(1).is_err());
        assert!(BuildState::TimedOut.is_infra_outcome());
        assert!(!BuildState::Failed.is_infra_outcome());
    }

    #[test]
    fn message_state_from_package_state() {
        assert_eq!(
            MessageState::from(PackageState::Failing),
            MessageState::Failing
        );
        assert_eq!(
            MessageState::from(PackageState::Blocked),
            MessageState::Ignored
        );
        assert_eq!(
            "unknown".parse::<PackageState>().unwrap(),
            PackageState::Unknown
        );
        assert!("bogus".parse::<PackageState>().is_err());
        assert_eq!(CollectionState::from_resolved(None).as_str(), "unknown");
    }
}
