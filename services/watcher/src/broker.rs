//! Connecting to the AMQP 0-9-1 broker the way fedora-messaging does: one URL
//! (`amqp://` or `amqps://`), optionally a TLS client certificate (then SASL
//! EXTERNAL: the broker takes the user name from the certificate) and CA,
//! the configured client properties, and reconnection with exponential
//! back-off when the broker goes away.

use std::path::Path;
use std::time::Duration;

use koschei_koji::backoff::BackoffPolicy;
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::{AMQPScheme, AMQPUri, SASLMechanism};
use lapin::{Connection, ConnectionProperties};

use crate::bus::BusSettings;

/// Errors while connecting.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("no AMQP broker: set fedmsg.amqp_url or amqp_url in fedora-messaging's configuration")]
    NoUrl,
    #[error("invalid AMQP URL {0}")]
    BadUrl(String),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("a TLS client certificate and its key must be given together (fedmsg.tls_cert/tls_key, [tls] certfile/keyfile)")]
    HalfIdentity,
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("connecting to the broker timed out")]
    ConnectTimeout,
}

/// How long opening a connection may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// TLS material read from the configured files.
#[derive(Clone)]
struct TlsFiles {
    /// PEM certificate and key of the client.
    identity: Option<(Vec<u8>, Vec<u8>)>,
    /// PEM CA certificates to trust instead of the system's.
    ca: Option<String>,
}

/// Everything needed to (re)connect.
#[derive(Clone)]
pub struct Broker {
    url: String,
    tls: Option<TlsFiles>,
    client_properties: FieldTable,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Broker")
            .field("url", &redact(&self.url))
            .finish_non_exhaustive()
    }
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, BrokerError> {
    std::fs::read(path).map_err(|source| BrokerError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl Broker {
    /// The broker of the effective bus settings; reads the certificate
    /// files once, so a missing file is reported at start-up.
    pub fn from_settings(settings: &BusSettings) -> Result<Broker, BrokerError> {
        let url = settings.amqp_url.clone().ok_or(BrokerError::NoUrl)?;
        let tls = &settings.tls;
        let identity = match (&tls.cert, &tls.key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            (None, None) => None,
            _ => return Err(BrokerError::HalfIdentity),
        };
        let ca = match &tls.ca {
            Some(path) => Some(String::from_utf8_lossy(&read(path)?).into_owned()),
            None => None,
        };
        let tls = (identity.is_some() || ca.is_some()).then_some(TlsFiles { identity, ca });
        let broker = Broker {
            url,
            tls,
            client_properties: settings.client_properties.clone(),
        };
        broker.uri()?;
        Ok(broker)
    }

    /// A broker at a plain URL (tests, benchmarks).
    pub fn from_url(url: &str) -> Broker {
        Broker {
            url: url.to_owned(),
            tls: None,
            client_properties: FieldTable::default(),
        }
    }

    /// The parsed URL; with a client certificate on `amqps://` and no
    /// mechanism named in the URL, SASL EXTERNAL (fedora-messaging's
    /// `ExternalCredentials`).
    fn uri(&self) -> Result<AMQPUri, BrokerError> {
        let mut uri: AMQPUri = self
            .url
            .parse()
            .map_err(|e| BrokerError::BadUrl(format!("{}: {e}", redact(&self.url))))?;
        let has_identity = self.tls.as_ref().is_some_and(|t| t.identity.is_some());
        if has_identity && uri.scheme == AMQPScheme::AMQPS && uri.query.auth_mechanism.is_none() {
            uri.query.auth_mechanism = Some(SASLMechanism::External);
        }
        Ok(uri)
    }

    /// Whether the connection authenticates with its certificate.
    pub fn uses_external_auth(&self) -> bool {
        self.uri()
            .is_ok_and(|u| u.query.auth_mechanism == Some(SASLMechanism::External))
    }

    /// Opens a connection named `name` (visible in the broker's management
    /// tools, e.g. `rabbitmqctl list_connections client_properties`), giving up
    /// after 30 s.
    pub async fn connect(&self, name: &str) -> Result<Connection, BrokerError> {
        tokio::time::timeout(CONNECT_TIMEOUT, self.connect_unbounded(name))
            .await
            .map_err(|_| BrokerError::ConnectTimeout)?
    }

    async fn connect_unbounded(&self, name: &str) -> Result<Connection, BrokerError> {
        let mut properties = ConnectionProperties::default();
        for (key, value) in self.client_properties.inner() {
            if let AMQPValue::LongString(v) = value {
                properties = properties.with_client_property(key.clone(), v.clone());
            }
        }
        let properties = properties.with_connection_name(name.into());
        let tls = match &self.tls {
            Some(files) => OwnedTLSConfig {
                identity: files
                    .identity
                    .as_ref()
                    .map(|(pem, key)| OwnedIdentity::PKCS8 {
                        pem: pem.clone(),
                        key: key.clone(),
                    }),
                cert_chain: files.ca.clone(),
            },
            None => OwnedTLSConfig::default(),
        };
        let runtime = lapin::runtime::default_runtime()?;
        Ok(Connection::connect_uri_with_config(self.uri()?, properties, tls, runtime).await?)
    }
}

/// The pause between reconnection attempts: 0.5 s doubling up to 30 s, reset after a
/// connection worked.
pub const RECONNECT_BACKOFF: BackoffPolicy =
    BackoffPolicy::capped(Duration::from_millis(500), Duration::from_secs(30));

#[cfg(test)]
mod tests {
    use super::*;
    use koschei_core::config::{FedmsgConfig, PublisherConfig};

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = RECONNECT_BACKOFF.start();
        let delays: Vec<_> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("amqp://guest:secret@host:5672/%2f"),
            "amqp://guest:***@host:5672/%2f"
        );
        assert_eq!(
            redact("amqps://fedora:@host/x"),
            "amqps://fedora:***@host/x"
        );
        assert_eq!(redact("amqp://host/x"), "amqp://host/x");
    }

    fn settings(url: &str) -> BusSettings {
        let fedmsg = FedmsgConfig {
            amqp_url: Some(url.into()),
            ..FedmsgConfig::default()
        };
        BusSettings::resolve(&fedmsg, &PublisherConfig::default(), None)
    }

    #[test]
    fn certificate_and_key_come_together() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "x").unwrap();
        let mut s = settings("amqps://h/");
        s.tls.cert = Some(cert.clone());
        assert!(matches!(
            Broker::from_settings(&s),
            Err(BrokerError::HalfIdentity)
        ));
        s.tls.key = Some(dir.path().join("missing.pem"));
        assert!(matches!(
            Broker::from_settings(&s),
            Err(BrokerError::Read { .. })
        ));
        s.tls.key = Some(cert);
        assert!(Broker::from_settings(&s).unwrap().tls.is_some());
        s.amqp_url = None;
        assert!(matches!(Broker::from_settings(&s), Err(BrokerError::NoUrl)));
    }

    #[test]
    fn a_client_certificate_on_amqps_means_sasl_external() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("x.pem");
        std::fs::write(&pem, "x").unwrap();
        let with_cert = |url: &str| {
            let mut s = settings(url);
            s.tls.cert = Some(pem.clone());
            s.tls.key = Some(pem.clone());
            Broker::from_settings(&s).unwrap()
        };
        assert!(with_cert("amqps://h/%2f").uses_external_auth());
        // A mechanism named in the URL wins; plain AMQP has no certificate.
        assert!(!with_cert("amqps://u:p@h/%2f?auth_mechanism=plain").uses_external_auth());
        assert!(!with_cert("amqp://h/%2f").uses_external_auth());
        assert!(!Broker::from_settings(&settings("amqps://h/%2f"))
            .unwrap()
            .uses_external_auth());
        assert!(matches!(
            Broker::from_settings(&settings("http://h/")),
            Err(BrokerError::BadUrl(_))
        ));
    }
}
