//! The hub side of Kerberos logins, as Apache's mod_auth_gssapi does it in front of a
//! real Koji hub: `/kojihub/ssllogin` demands SPNEGO (`401` with
//! `WWW-Authenticate: Negotiate`), verifies the client's token with the service keytab
//! and hands the authenticated principal to `sslLogin` (Koji's `REMOTE_USER`).
//!
//! The keytab is named by `KRB5_KTNAME`, set once when the simulator starts with
//! `--gssapi-keytab`.

use std::path::Path;

use base64::Engine;
use libgssapi::context::{SecurityContext, ServerCtx};

/// Why a Negotiate exchange did not authenticate anybody.
#[derive(Debug, thiserror::Error)]
pub enum NegotiateError {
    /// No `Authorization: Negotiate …` header.
    #[error("no Negotiate token")]
    Missing,
    /// The token is not valid (unknown service key, expired ticket, replay…).
    #[error("GSSAPI: {0}")]
    Rejected(String),
}

/// Points MIT Kerberos at the service keytab (process-wide; call before serving).
pub fn use_keytab(keytab: &Path) {
    std::env::set_var("KRB5_KTNAME", keytab);
}

/// Verifies the `Authorization` header; returns the client principal and the
/// mutual-authentication token for the reply's `WWW-Authenticate` header. Blocking.
pub fn accept(authorization: Option<&str>) -> Result<(String, Option<String>), NegotiateError> {
    let encoded = authorization
        .and_then(|h| h.strip_prefix("Negotiate "))
        .ok_or(NegotiateError::Missing)?;
    let token = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| NegotiateError::Rejected(format!("token is not base64: {e}")))?;
    let rejected = |e: libgssapi::error::Error| NegotiateError::Rejected(e.to_string());
    let mut context = ServerCtx::new(None);
    let reply = context.step(&token, None).map_err(rejected)?;
    if !context.is_complete() {
        return Err(NegotiateError::Rejected(
            "the exchange needs more than one round trip".into(),
        ));
    }
    let principal = context.source_name().map_err(rejected)?.to_string();
    let reply = reply.map(|t| {
        format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&*t)
        )
    });
    Ok((principal, reply))
}
