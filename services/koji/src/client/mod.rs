//! Async Koji hub client: transport, retries, sessions and multicall.
//!
//! [`KojiClient`] is cheap to clone (shared state behind an `Arc`). Anonymous clients are
//! made with [`KojiClient::anonymous`]; [`KojiClient::ssl_login`] opens an authenticated
//! session with the TLS client certificate of the configuration, after which every call
//! carries `session-id`, `session-key` and `callnum` in the query string (and in
//! `Koji-Session-*` headers for hubs that prefer header authentication), like Koji's own
//! client. Typed wrappers for the calls Koschei makes live in [`calls`].

pub mod calls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::config::KojiConfig;
use crate::error::{KojiError, KojiResult};
use crate::model::SessionInfo;
use crate::multicall::{decode_results, encode_calls, Call};
use crate::xmlrpc::{
    encode_args, parse_response, write_call, ConversionError, Fault, MethodResponse, Struct, Value,
};

/// A connection to one Koji hub.
#[derive(Clone)]
pub struct KojiClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: KojiConfig,
    http: reqwest::Client,
    session: Mutex<Option<SessionInfo>>,
    callnum: AtomicU64,
}

impl std::fmt::Debug for KojiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KojiClient")
            .field("server", &self.inner.config.server)
            .field("logged_in", &self.is_logged_in())
            .finish()
    }
}

impl KojiClient {
    /// A client without a session (read-only calls).
    pub fn anonymous(config: KojiConfig) -> KojiResult<Self> {
        let http = http_client(&config)?;
        Ok(KojiClient {
            inner: Arc::new(Inner {
                config,
                http,
                session: Mutex::new(None),
                callnum: AtomicU64::new(0),
            }),
        })
    }

    /// A client logged in with `sslLogin` using the configured client certificate.
    pub async fn ssl_login(config: KojiConfig) -> KojiResult<Self> {
        if config.cert.is_none() {
            return Err(KojiError::Config(
                "sslLogin needs a client certificate (cert)".into(),
            ));
        }
        let client = KojiClient::anonymous(config)?;
        client.login().await?;
        Ok(client)
    }

    /// (Re)opens the session with `sslLogin` at `<server>/ssllogin`.
    pub async fn login(&self) -> KojiResult<()> {
        self.set_session(None);
        let url = format!(
            "{}/ssllogin",
            self.inner.config.server.trim_end_matches('/')
        );
        let params = encode_args(Vec::new(), crate::xstruct! {"proxyuser" => Value::Nil});
        let value = self.send_with_retries(&url, "sslLogin", &params).await?;
        let session: SessionInfo = convert("sslLogin", value)?;
        debug!(session_id = session.session_id, "logged in to Koji");
        self.set_session(Some(session));
        Ok(())
    }

    /// Closes the session (`logout`).
    pub async fn logout(&self) -> KojiResult<()> {
        if self.is_logged_in() {
            self.call("logout", Vec::new()).await?;
            self.set_session(None);
        }
        Ok(())
    }

    /// Whether a session is open.
    pub fn is_logged_in(&self) -> bool {
        self.session().is_some()
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &KojiConfig {
        &self.inner.config
    }

    /// Calls `method` with positional arguments.
    pub async fn call(&self, method: &str, args: Vec<Value>) -> KojiResult<Value> {
        self.call_kw(method, args, Struct::new()).await
    }

    /// Calls `method` with positional and keyword arguments.
    pub async fn call_kw(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Struct,
    ) -> KojiResult<Value> {
        let params = encode_args(args, kwargs);
        let url = self.inner.config.server.clone();
        self.send_with_retries(&url, method, &params).await
    }

    /// Calls `method` and deserializes its result.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Struct,
    ) -> KojiResult<T> {
        let value = self.call_kw(method, args, kwargs).await?;
        convert(method, value)
    }

    /// Runs `calls` through `multiCall`, `multicall_chunk_size` calls per request. The
    /// outer error is for the requests themselves; each call has its own result.
    pub async fn multicall(&self, calls: &[Call]) -> KojiResult<Vec<Result<Value, Fault>>> {
        let chunk = self.inner.config.multicall_chunk_size.max(1);
        let mut results = Vec::with_capacity(calls.len());
        for batch in calls.chunks(chunk) {
            let value = self.call("multiCall", vec![encode_calls(batch)]).await?;
            let decoded =
                decode_results(value, batch.len()).map_err(|message| KojiError::Unexpected {
                    method: "multiCall".to_owned(),
                    source: ConversionError::new(message),
                })?;
            results.extend(decoded);
        }
        Ok(results)
    }

    /// Like [`KojiClient::multicall`], deserializing each successful result into `T`
    /// (a result of the wrong shape becomes that call's error).
    pub async fn multicall_as<T: DeserializeOwned>(
        &self,
        calls: &[Call],
    ) -> KojiResult<Vec<Result<T, KojiError>>> {
        let results = self.multicall(calls).await?;
        Ok(results
            .into_iter()
            .zip(calls)
            .map(|(r, call)| match r {
                Ok(v) => convert(&call.method, v),
                Err(fault) => Err(KojiError::Fault {
                    method: call.method.clone(),
                    fault,
                }),
            })
            .collect())
    }

    fn session(&self) -> Option<SessionInfo> {
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_session(&self, session: Option<SessionInfo>) {
        *self
            .inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = session;
    }

    async fn send_with_retries(
        &self,
        url: &str,
        method: &str,
        params: &[Value],
    ) -> KojiResult<Value> {
        let body = write_call(method, params);
        let session = self.session();
        let callnum = self.inner.callnum.fetch_add(1, Ordering::Relaxed);
        let config = &self.inner.config;
        let mut attempt = 0;
        loop {
            match self
                .send_once(url, method, &body, session.as_ref(), callnum)
                .await
            {
                Err(e) if e.is_retryable() && attempt < config.max_retries => {
                    attempt += 1;
                    let delay = config.backoff(attempt);
                    warn!(method, attempt, ?delay, error = %e, "Koji call failed, retrying");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(
        &self,
        url: &str,
        method: &str,
        body: &str,
        session: Option<&SessionInfo>,
        callnum: u64,
    ) -> KojiResult<Value> {
        let transport = |source| KojiError::Transport {
            method: method.to_owned(),
            source,
        };
        let mut request = self
            .inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .header(reqwest::header::USER_AGENT, "koschei-koji/1")
            .body(body.to_owned());
        if let Some(s) = session {
            request = request
                .query(&[
                    ("session-id", s.session_id.to_string()),
                    ("session-key", s.session_key.clone()),
                    ("callnum", callnum.to_string()),
                ])
                .header("Koji-Session-Id", s.session_id.to_string())
                .header("Koji-Session-Key", s.session_key.as_str())
                .header("Koji-Session-Callnum", callnum.to_string());
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(KojiError::Http {
                method: method.to_owned(),
                status: status.as_u16(),
            });
        }
        let bytes = response.bytes().await.map_err(transport)?;
        match parse_response(&bytes) {
            Ok(MethodResponse::Success(v)) => Ok(v),
            Ok(MethodResponse::Fault(fault)) => Err(KojiError::Fault {
                method: method.to_owned(),
                fault,
            }),
            Err(source) => Err(KojiError::Decode {
                method: method.to_owned(),
                source,
            }),
        }
    }
}

/// Deserializes a call result, naming the method in the error.
pub(crate) fn convert<T: DeserializeOwned>(method: &str, value: Value) -> KojiResult<T> {
    value.deserialize().map_err(|source| KojiError::Unexpected {
        method: method.to_owned(),
        source,
    })
}

fn http_client(config: &KojiConfig) -> KojiResult<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .gzip(true);
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| KojiError::Config(format!("{}: {e}", path.display())))
    };
    if let Some(cert) = &config.cert {
        let identity = reqwest::Identity::from_pem(&read(cert)?).map_err(|e| {
            KojiError::Config(format!("client certificate {}: {e}", cert.display()))
        })?;
        builder = builder.identity(identity);
    }
    if let Some(ca) = &config.serverca {
        let pem = read(ca)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| KojiError::Config(format!("server CA {}: {e}", ca.display())))?;
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    builder
        .build()
        .map_err(|e| KojiError::Config(format!("HTTP client: {e}")))
}
