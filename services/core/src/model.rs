//! State enums of the data model with their database encodings (build codes,
//! state names; see `migrations/` and `koschei/models.py` of the original).

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
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(rename_all = "lowercase")]
        #[sqlx(type_name = "text")]
        pub enum $name { $($(#[$vmeta])* #[sqlx(rename = $text)] $variant),+ }

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

/// The database code of a [`BuildState`] variant, as an integer literal. The
/// enum's discriminants come from here, and so does constant SQL text that must
/// name a state literally (`concat!("… state = ", build_state_code!(Running))`),
/// e.g. so that the planner can use the partial index `ix_build_running`;
/// elsewhere, bind the enum.
#[macro_export]
macro_rules! build_state_code {
    (Running) => {
        2
    };
    (Complete) => {
        3
    };
    (Canceled) => {
        4
    };
    (Failed) => {
        5
    };
    (TimedOut) => {
        6
    };
    (InfraFailure) => {
        7
    };
}

/// State of a build row (`build.state`, an `integer`: the discriminant). 2, 3
/// and 5 are Koschei's (`koschei/models.py`); the others are outcomes Koschei
/// deleted and we keep as history. Only running, complete and failed builds
/// affect the package's state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[repr(i32)]
pub enum BuildState {
    Running = build_state_code!(Running),
    Complete = build_state_code!(Complete),
    Canceled = build_state_code!(Canceled),
    Failed = build_state_code!(Failed),
    TimedOut = build_state_code!(TimedOut),
    InfraFailure = build_state_code!(InfraFailure),
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

    /// The builds that decide the package's state (`package.last_complete_build_id`).
    pub const FINISHED: [BuildState; 2] = [BuildState::Complete, BuildState::Failed];

    /// The builds that can be the package's last build (`package.last_build_id`).
    pub const COUNTED: [BuildState; 3] = [
        BuildState::Running,
        BuildState::Complete,
        BuildState::Failed,
    ];

    /// Database encoding.
    pub fn code(self) -> i32 {
        self as i32
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

/// Why the scheduler skipped a package (`package.scheduler_skip_reason`, an
/// `integer`: the discriminant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[repr(i32)]
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
        assert_eq!(
            concat!("state = ", build_state_code!(Running)),
            format!("state = {}", BuildState::Running.code())
        );
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
