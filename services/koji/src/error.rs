//! The error type of every Koji call.

use crate::xmlrpc::{ConversionError, DecodeError, Fault, FaultKind};

/// Why a Koji call failed.
#[derive(Debug, thiserror::Error)]
pub enum KojiError {
    /// The hub answered with a fault; its `kind` is the Koji error class.
    #[error("{method}: {fault}")]
    Fault {
        /// The method called.
        method: String,
        /// The fault as sent.
        fault: Fault,
    },
    /// The request did not reach the hub or its answer did not arrive (after retries).
    #[error("{method}: transport error: {source}")]
    Transport {
        /// The method called.
        method: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The hub answered with a non-success HTTP status.
    #[error("{method}: HTTP status {status}")]
    Http {
        /// The method called.
        method: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The response is not valid XML-RPC.
    #[error("{method}: {source}")]
    Decode {
        /// The method called.
        method: String,
        /// What was wrong with it.
        #[source]
        source: DecodeError,
    },
    /// The response is valid XML-RPC but not of the shape the call returns.
    #[error("{method}: unexpected response: {source}")]
    Unexpected {
        /// The method called.
        method: String,
        /// The conversion that failed.
        #[source]
        source: ConversionError,
    },
    /// A Kerberos (GSSAPI) login failed.
    #[error("Kerberos login as {principal} with keytab {keytab} failed: {message}")]
    Kerberos {
        /// The client principal.
        principal: String,
        /// The keytab the credential was to come from.
        keytab: String,
        /// What went wrong.
        message: String,
    },
    /// The hub's reply exceeded the configured size limit (`max_reply_size`).
    #[error("{method}: reply larger than {limit} bytes")]
    ReplyTooLarge {
        /// The method called.
        method: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The client could not be set up (bad URL, unreadable certificate…).
    #[error("Koji client configuration: {0}")]
    Config(String),
}

impl KojiError {
    /// The fault, if the hub sent one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            KojiError::Fault { fault, .. } => Some(fault),
            _ => None,
        }
    }

    /// The Koji error class of the fault, if the hub sent one.
    pub fn fault_kind(&self) -> Option<FaultKind> {
        self.fault().map(|f| f.kind)
    }

    /// Whether the call may succeed when repeated: transport errors, 5xx, 408 and 429
    /// statuses, replies that are not XML-RPC at all (a maintenance page served with
    /// status 200) and `ServerOffline` faults.
    pub fn is_retryable(&self) -> bool {
        match self {
            KojiError::Transport { .. } | KojiError::Decode { .. } => true,
            KojiError::Http { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            KojiError::Fault { fault, .. } => fault.kind == FaultKind::ServerOffline,
            _ => false,
        }
    }
}

impl KojiError {
    /// Whether the hub no longer accepts the session the call carried (`AuthExpired`, or
    /// a plain `AuthError` such as "Invalid session"): logging in again may help.
    pub fn is_session_lost(&self) -> bool {
        matches!(
            self.fault_kind(),
            Some(FaultKind::AuthExpired | FaultKind::AuthError)
        )
    }
}

/// Result of a Koji call.
pub type KojiResult<T> = Result<T, KojiError>;
