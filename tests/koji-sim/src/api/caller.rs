//! [`Caller`]: who makes a hub call (user, session, login identity), as the transport
//! found it.

use koschei_koji::xmlrpc::FaultKind;

/// Who is calling.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller {
    /// The logged-in user, if any.
    pub user_id: Option<i64>,
    /// The user the transport authenticated for `sslLogin` (a Kerberos principal's user);
    /// `None` takes the client certificate on trust (user `koschei`).
    pub login_user: Option<i64>,
    /// Why the session the call carried is not accepted (`AuthError`, `AuthExpired`).
    pub session_problem: Option<FaultKind>,
    /// The session id, when the session is valid.
    pub session_id: Option<i64>,
    /// The call number the client sent with the session.
    pub callnum: Option<i64>,
}
