//! The one HTTP policy of every request the services make to Koji — XML-RPC calls to
//! the hub and downloads from its file tree alike: connect, read (stall) and total
//! timeouts, the configured CA and client certificate, and a cap on what is read
//! ([`read_limited`]).

use std::path::PathBuf;
use std::time::Duration;

/// Timeouts, trust and size limit of HTTP requests.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPolicy {
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (a stalled peer fails after it).
    pub read_timeout: Duration,
    /// Total time allowed for one exchange.
    pub timeout: Duration,
    /// PEM file with the client certificate and its key.
    pub cert: Option<PathBuf>,
    /// PEM file with the CA(s) to verify servers with (system roots otherwise).
    pub serverca: Option<PathBuf>,
    /// Largest body read, in bytes after decompression.
    pub max_body: u64,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            timeout: Duration::from_secs(3600),
            cert: None,
            serverca: None,
            max_body: 1 << 30,
        }
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the policy allows.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// The connection failed or stalled (URL removed from the error).
    #[error("{0}")]
    Transport(reqwest::Error),
}

impl HttpPolicy {
    /// An HTTP client following the policy (gzip decoding on).
    pub fn client(&self) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .gzip(true);
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        if let Some(cert) = &self.cert {
            let identity = reqwest::Identity::from_pem(&read(cert)?)
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?;
            builder = builder.identity(identity);
        }
        if let Some(ca) = &self.serverca {
            let certs = reqwest::Certificate::from_pem_bundle(&read(ca)?)
                .map_err(|e| format!("server CA {}: {e}", ca.display()))?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        builder.build().map_err(|e| format!("HTTP client: {e}"))
    }
}

/// Reads `response`'s body up to `limit` bytes (after decompression).
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Transport(e.without_url()))?
    {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
