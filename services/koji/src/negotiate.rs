//! Kerberos login for Koji: `sslLogin` at the hub's `ssllogin` endpoint, authenticated
//! by SPNEGO (HTTP `Negotiate`), as Koji's own `gssapi_login` does through
//! requests-gssapi.
//!
//! The client credential comes from a keytab — no interactive `kinit`. MIT Kerberos
//! reads the client keytab and the credential cache from the process environment
//! (`KRB5_CLIENT_KTNAME`, `KRB5CCNAME`), as Koji's client sets them; they are set once,
//! before the first login, to the configured keytab and to a private in-memory cache
//! (unless a cache is configured). MIT's keytab initiation then fetches a new ticket from
//! the keytab whenever the cached one has expired, so a later login (after Koji expired
//! the session) works without a restart.

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine;
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL};

use crate::error::KojiError;

/// Where a Kerberos login takes its credential from (`login_args` of `gssapi_login`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KerberosCredentials {
    /// Client principal (`koschei/host@REALM`); the default principal when unset.
    pub principal: Option<String>,
    /// Keytab holding the principal's keys; the environment's default when unset.
    pub keytab: Option<PathBuf>,
    /// Credential cache (`MEMORY:…`, `FILE:…`); a private in-memory cache when unset.
    pub ccache: Option<String>,
}

impl KerberosCredentials {
    /// The error of a failed login, naming the principal and the keytab.
    pub fn error(&self, message: impl Into<String>) -> KojiError {
        KojiError::Kerberos {
            principal: self
                .principal
                .clone()
                .unwrap_or_else(|| "(default principal)".into()),
            keytab: self
                .keytab
                .as_ref()
                .map_or_else(|| "(default keytab)".into(), |k| k.display().to_string()),
            message: message.into(),
        }
    }

    /// Points MIT Kerberos at the keytab and cache, once per process. A second login
    /// with other credentials in the same process is refused (the environment is global).
    fn install(&self) -> Result<(), KojiError> {
        static INSTALLED: OnceLock<KerberosCredentials> = OnceLock::new();
        let installed = INSTALLED.get_or_init(|| {
            if let Some(keytab) = &self.keytab {
                std::env::set_var("KRB5_CLIENT_KTNAME", keytab);
            }
            let ccache = self
                .ccache
                .clone()
                .unwrap_or_else(|| format!("MEMORY:koschei-{}", std::process::id()));
            std::env::set_var("KRB5CCNAME", ccache);
            self.clone()
        });
        if installed == self {
            Ok(())
        } else {
            Err(self.error("another Kerberos identity is already in use by this process"))
        }
    }
}

/// One Negotiate exchange with the hub: the initial token, then the check of the
/// hub's mutual-authentication token.
pub struct Negotiation {
    context: ClientCtx,
    credentials: KerberosCredentials,
}

impl Negotiation {
    /// Acquires the credential and makes the first token for service `HTTP@host`;
    /// returns the exchange and the `Authorization` header value. Blocking (it may talk
    /// to the KDC): call it from a blocking thread.
    pub fn start(
        credentials: &KerberosCredentials,
        host: &str,
    ) -> Result<(Negotiation, String), KojiError> {
        credentials.install()?;
        let err = |what: &str, e: libgssapi::error::Error| {
            credentials.error(format!("{what}: {}", e.to_string().trim()))
        };
        let principal = match &credentials.principal {
            Some(p) => Some(
                Name::new(p.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))
                    .map_err(|e| err("invalid principal", e))?,
            ),
            None => None,
        };
        let cred = Cred::acquire(principal.as_ref(), None, CredUsage::Initiate, None)
            .map_err(|e| err("no credential", e))?;
        let service = format!("HTTP@{host}");
        let target = Name::new(service.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|e| err("invalid service name", e))?;
        let mut context = ClientCtx::new(
            Some(cred),
            target,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_SPNEGO),
        );
        let token = context
            .step(None, None)
            .map_err(|e| err(&format!("cannot get a ticket for {service}"), e))?
            .ok_or_else(|| credentials.error("the GSSAPI library produced no token"))?;
        let header = format!(
            "Negotiate {}",
            base64::engine::general_purpose::STANDARD.encode(&*token)
        );
        Ok((
            Negotiation {
                context,
                credentials: credentials.clone(),
            },
            header,
        ))
    }

    /// Verifies the hub's answer (`WWW-Authenticate: Negotiate <token>`), which proves
    /// that the reply came from the service the ticket was for.
    pub fn finish(mut self, www_authenticate: Option<&str>) -> Result<(), KojiError> {
        let Some(encoded) = www_authenticate.and_then(|h| h.strip_prefix("Negotiate ")) else {
            return Err(self
                .credentials
                .error("the hub did not authenticate itself (no Negotiate token in its reply)"));
        };
        let token = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                self.credentials
                    .error(format!("hub's Negotiate token: {e}"))
            })?;
        match self.context.step(Some(&token), None) {
            Ok(_) if self.context.is_complete() => Ok(()),
            Ok(_) => Err(self
                .credentials
                .error("the hub's Negotiate token did not complete the exchange")),
            Err(e) => Err(self.credentials.error(format!(
                "the hub's Negotiate token is not valid: {}",
                e.to_string().trim()
            ))),
        }
    }
}
