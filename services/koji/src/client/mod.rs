//! Async Koji hub client: transport, retries, sessions and multicall.
//!
//! [`KojiClient`] is cheap to clone (shared state behind an `Arc`). A client whose
//! configuration names a login method ([`LoginMethod`]: TLS client certificate or
//! Kerberos) logs in before its first call, and again once when the hub says the session
//! expired or is unknown; the session travels only in Koji's `Koji-Session-*` headers
//! (never in the URL, so it cannot reach a log through an error message). Replies are
//! size-capped and retries are bounded in count and in time. Typed wrappers for the calls
//! Koschei makes live in [`calls`].

pub mod calls;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::config::{KojiConfig, LoginMethod};
use crate::error::{KojiError, KojiResult};
use crate::http::{read_limited, BodyError};
use crate::model::SessionInfo;
use crate::multicall::{decode_results, encode_calls, Call};
use crate::negotiate::{KerberosCredentials, Negotiation};
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
    /// Held while logging in, so that concurrent calls log in once.
    login: tokio::sync::Mutex<()>,
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
    /// A client without a session (read-only calls), whatever the configured login.
    pub fn anonymous(config: KojiConfig) -> KojiResult<Self> {
        KojiClient::new(KojiConfig {
            login: LoginMethod::Anonymous,
            ..config
        })
    }

    /// A client that logs in with its configured [`LoginMethod`] before its first call.
    pub fn new(config: KojiConfig) -> KojiResult<Self> {
        let http = http_client(&config)?;
        Ok(KojiClient {
            inner: Arc::new(Inner {
                config,
                http,
                session: Mutex::new(None),
                login: tokio::sync::Mutex::new(()),
                callnum: AtomicU64::new(0),
            }),
        })
    }

    /// A client that logs in with its configured [`LoginMethod`] now (and again
    /// whenever the hub drops the session).
    pub async fn logged_in(config: KojiConfig) -> KojiResult<Self> {
        if config.login == LoginMethod::Certificate && config.cert.is_none() {
            return Err(KojiError::Config(
                "sslLogin needs a client certificate (cert)".into(),
            ));
        }
        let client = KojiClient::new(config)?;
        client.login().await?;
        Ok(client)
    }

    /// (Re)opens the session at `<server>/ssllogin` with the configured login method.
    pub async fn login(&self) -> KojiResult<()> {
        self.set_session(None);
        let url = format!(
            "{}/ssllogin",
            self.inner.config.server.trim_end_matches('/')
        );
        let params = encode_args(Vec::new(), crate::xstruct! {"proxyuser" => Value::Nil});
        let value = match &self.inner.config.login {
            LoginMethod::Gssapi(credentials) => {
                self.gssapi_exchange(&url, credentials, &write_call("sslLogin", &params))
                    .await?
            }
            _ => {
                let body = write_call("sslLogin", &params);
                self.send_with_retries(&url, "sslLogin", &body, None)
                    .await?
            }
        };
        let session: SessionInfo = convert("sslLogin", value)?;
        debug!(session_id = session.session_id, "logged in to Koji");
        self.set_session(Some(session));
        Ok(())
    }

    /// One SPNEGO-authenticated `sslLogin` request. Each attempt needs a fresh token
    /// (the hub refuses replayed ones), so the exchange is not retried here: the caller's
    /// next attempt starts a new one.
    async fn gssapi_exchange(
        &self,
        url: &str,
        credentials: &KerberosCredentials,
        body: &str,
    ) -> KojiResult<Value> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| KojiError::Config(format!("no host in Koji URL {url}")))?;
        let creds = credentials.clone();
        let (negotiation, authorization) =
            tokio::task::spawn_blocking(move || Negotiation::start(&creds, &host))
                .await
                .map_err(|e| credentials.error(format!("login thread: {e}")))??;
        let (value, headers) = self
            .send_once(url, "sslLogin", body, None, 0, Some(&authorization))
            .await
            .map_err(|e| match e {
                KojiError::Http { status: 401, .. } => {
                    credentials.error("the hub refused the Kerberos ticket (HTTP 401)")
                }
                other => other,
            })?;
        let mutual = headers
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        tokio::task::spawn_blocking(move || negotiation.finish(mutual.as_deref()))
            .await
            .map_err(|e| credentials.error(format!("login thread: {e}")))??;
        Ok(value)
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
        let body = write_call(method, &encode_args(args, kwargs));
        let url = &self.inner.config.server;
        let session = self.ensure_session().await?;
        match self
            .send_with_retries(url, method, &body, session.as_ref())
            .await
        {
            Err(e) if session.is_some() && e.is_session_lost() => {
                warn!(method, error = %e, "Koji dropped the session; logging in again");
                self.forget_session(session.as_ref());
                let session = self.ensure_session().await?;
                self.send_with_retries(url, method, &body, session.as_ref())
                    .await
            }
            other => other,
        }
    }

    /// The open session, logging in first when the client has a login method and no
    /// session.
    async fn ensure_session(&self) -> KojiResult<Option<SessionInfo>> {
        if self.inner.config.login == LoginMethod::Anonymous {
            return Ok(self.session());
        }
        if let Some(session) = self.session() {
            return Ok(Some(session));
        }
        let _guard = self.inner.login.lock().await;
        if self.session().is_none() {
            self.login().await?;
        }
        Ok(self.session())
    }

    /// Drops `lost` unless another call already replaced it.
    fn forget_session(&self, lost: Option<&SessionInfo>) {
        let mut session = self
            .inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if session.as_ref().map(|s| s.session_id) == lost.map(|s| s.session_id) {
            *session = None;
        }
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

    /// Sends `body` until it succeeds, fails for good, or the retries (count and time)
    /// are used up.
    async fn send_with_retries(
        &self,
        url: &str,
        method: &str,
        body: &str,
        session: Option<&SessionInfo>,
    ) -> KojiResult<Value> {
        let callnum = self.inner.callnum.fetch_add(1, Ordering::Relaxed);
        let config = &self.inner.config;
        let started = Instant::now();
        let mut backoff = config.backoff().start();
        let mut attempt = 0;
        loop {
            match self
                .send_once(url, method, body, session, callnum, None)
                .await
            {
                Err(e) if e.is_retryable() && attempt < config.max_retries => {
                    attempt += 1;
                    let delay = backoff.next_delay();
                    if started.elapsed() + delay > config.max_retry_time {
                        warn!(method, attempt, error = %e, "Koji call failed; retry time used up");
                        return Err(e);
                    }
                    warn!(method, attempt, ?delay, error = %e, "Koji call failed, retrying");
                    tokio::time::sleep(delay).await;
                }
                Ok((value, _)) => return Ok(value),
                Err(e) => return Err(e),
            }
        }
    }

    /// One HTTP exchange: the call with the session in Koji's headers (and an
    /// `Authorization` header when given), the reply read up to the size limit and
    /// decoded. Transport errors are stripped of the URL.
    async fn send_once(
        &self,
        url: &str,
        method: &str,
        body: &str,
        session: Option<&SessionInfo>,
        callnum: u64,
        authorization: Option<&str>,
    ) -> KojiResult<(Value, reqwest::header::HeaderMap)> {
        let transport = |source: reqwest::Error| KojiError::Transport {
            method: method.to_owned(),
            source: source.without_url(),
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
                .header("Koji-Session-Id", s.session_id.to_string())
                .header("Koji-Session-Key", s.session_key.as_str())
                .header("Koji-Session-Callnum", callnum.to_string());
        }
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(KojiError::Http {
                method: method.to_owned(),
                status: status.as_u16(),
            });
        }
        let headers = response.headers().clone();
        let bytes = read_limited(response, self.inner.config.max_reply_size)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(limit) => KojiError::ReplyTooLarge {
                    method: method.to_owned(),
                    limit,
                },
                BodyError::Transport(source) => transport(source),
            })?;
        match parse_response(&bytes) {
            Ok(MethodResponse::Success(v)) => Ok((v, headers)),
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
    config.http_policy().client().map_err(KojiError::Config)
}
