//! XML-RPC faults and the Koji error classes their `faultCode` selects.

use super::value::Value;

/// The Koji exception class a fault code stands for (`koji.convertFault`), or `Other` for
/// plain XML-RPC faults such as a hub traceback (code 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `koji.GenericError` (1000), the base of all Koji errors.
    GenericError,
    /// `koji.LockError` (1001).
    LockError,
    /// `koji.AuthError` (1002).
    AuthError,
    /// `koji.TagError` (1003).
    TagError,
    /// `koji.ActionNotAllowed` (1004).
    ActionNotAllowed,
    /// `koji.BuildError` (1005).
    BuildError,
    /// `koji.AuthLockError` (1006, an AuthError).
    AuthLockError,
    /// `koji.AuthExpired` (1007, an AuthError).
    AuthExpired,
    /// `koji.SequenceError` (1008, an AuthError).
    SequenceError,
    /// `koji.RetryError` (1009, an AuthError).
    RetryError,
    /// `koji.PreBuildError` (1010, a BuildError).
    PreBuildError,
    /// `koji.PostBuildError` (1011, a BuildError).
    PostBuildError,
    /// `koji.BuildrootError` (1012, a BuildError).
    BuildrootError,
    /// `koji.FunctionDeprecated` (1013).
    FunctionDeprecated,
    /// `koji.ServerOffline` (1014): the hub is up but refuses calls; retryable.
    ServerOffline,
    /// `koji.LiveCDError` (1015).
    LiveCdError,
    /// `koji.PluginError` (1016).
    PluginError,
    /// `koji.CallbackError` (1017, a PluginError).
    CallbackError,
    /// `koji.ApplianceError` (1018).
    ApplianceError,
    /// `koji.ParameterError` (1019): bad arguments (including unknown methods' arguments).
    ParameterError,
    /// `koji.ImportError` (1020).
    ImportError,
    /// `koji.ConfigurationError` (1021).
    ConfigurationError,
    /// `koji.LiveMediaError` (1022).
    LiveMediaError,
    /// `koji.GSSAPIAuthError` (1023, an AuthError).
    GssapiAuthError,
    /// `koji.NameValidationError` (1024).
    NameValidationError,
    /// A fault code Koji does not define (e.g. 1 for an unhandled hub exception).
    Other,
}

const TABLE: &[(i64, FaultKind, &str)] = &[
    (1000, FaultKind::GenericError, "GenericError"),
    (1001, FaultKind::LockError, "LockError"),
    (1002, FaultKind::AuthError, "AuthError"),
    (1003, FaultKind::TagError, "TagError"),
    (1004, FaultKind::ActionNotAllowed, "ActionNotAllowed"),
    (1005, FaultKind::BuildError, "BuildError"),
    (1006, FaultKind::AuthLockError, "AuthLockError"),
    (1007, FaultKind::AuthExpired, "AuthExpired"),
    (1008, FaultKind::SequenceError, "SequenceError"),
    (1009, FaultKind::RetryError, "RetryError"),
    (1010, FaultKind::PreBuildError, "PreBuildError"),
    (1011, FaultKind::PostBuildError, "PostBuildError"),
    (1012, FaultKind::BuildrootError, "BuildrootError"),
    (1013, FaultKind::FunctionDeprecated, "FunctionDeprecated"),
    (1014, FaultKind::ServerOffline, "ServerOffline"),
    (1015, FaultKind::LiveCdError, "LiveCDError"),
    (1016, FaultKind::PluginError, "PluginError"),
    (1017, FaultKind::CallbackError, "CallbackError"),
    (1018, FaultKind::ApplianceError, "ApplianceError"),
    (1019, FaultKind::ParameterError, "ParameterError"),
    (1020, FaultKind::ImportError, "ImportError"),
    (1021, FaultKind::ConfigurationError, "ConfigurationError"),
    (1022, FaultKind::LiveMediaError, "LiveMediaError"),
    (1023, FaultKind::GssapiAuthError, "GSSAPIAuthError"),
    (1024, FaultKind::NameValidationError, "NameValidationError"),
];

impl FaultKind {
    /// The Koji class for a fault code (`Other` when Koji defines none).
    pub fn from_code(code: i64) -> Self {
        TABLE
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(FaultKind::Other, |(_, k, _)| *k)
    }

    /// The fault code Koji uses for this class (`None` for `Other`).
    pub fn code(self) -> Option<i64> {
        TABLE
            .iter()
            .find(|(_, k, _)| *k == self)
            .map(|(c, _, _)| *c)
    }

    /// The Python class name, e.g. `GenericError`.
    pub fn class_name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, k, _)| *k == self)
            .map_or("Fault", |(_, _, n)| n)
    }

    /// Whether Python's `isinstance(err, koji.GenericError)` holds (every Koji class).
    pub fn is_koji_error(self) -> bool {
        self != FaultKind::Other
    }

    /// Whether this is an `AuthError` or one of its subclasses.
    pub fn is_auth_error(self) -> bool {
        use FaultKind::*;
        matches!(
            self,
            AuthError | AuthLockError | AuthExpired | SequenceError | RetryError | GssapiAuthError
        )
    }

    /// Whether this is a `BuildError` or one of its subclasses.
    pub fn is_build_error(self) -> bool {
        use FaultKind::*;
        matches!(
            self,
            BuildError | PreBuildError | PostBuildError | BuildrootError
        )
    }
}

/// An XML-RPC fault as sent by the hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} (fault {code}): {message}", kind.class_name())]
pub struct Fault {
    /// The Koji class selected by `code`.
    pub kind: FaultKind,
    /// The raw `faultCode`.
    pub code: i64,
    /// The `faultString`.
    pub message: String,
}

impl Fault {
    /// A fault with the given code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Fault {
            kind: FaultKind::from_code(code),
            code,
            message: message.into(),
        }
    }

    /// A fault of a Koji class.
    pub fn koji(kind: FaultKind, message: impl Into<String>) -> Self {
        Fault::new(kind.code().unwrap_or(1), message)
    }

    /// `koji.GenericError(message)`.
    pub fn generic(message: impl Into<String>) -> Self {
        Fault::koji(FaultKind::GenericError, message)
    }

    /// `koji.ParameterError(message)`.
    pub fn parameter(message: impl Into<String>) -> Self {
        Fault::koji(FaultKind::ParameterError, message)
    }

    /// The `{faultCode, faultString}` struct of a fault response or multicall entry.
    pub fn to_value(&self) -> Value {
        Value::Struct(
            [
                ("faultCode".to_owned(), Value::Int(self.code)),
                (
                    "faultString".to_owned(),
                    Value::String(self.message.clone()),
                ),
            ]
            .into_iter()
            .collect(),
        )
    }
}
