//! The HTTP face: XML-RPC at `/kojihub` (and `/kojihub/ssllogin`, Kerberos-protected when
//! enabled), files at `/kojifiles`. Sessions are read as a current Koji hub reads them:
//! `Koji-Session-*` headers first, the deprecated URL parameters only while URL sessions
//! are not disabled (`DisableURLSessions`); an unknown session is an `AuthError`, an
//! expired one an `AuthExpired` fault.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use koschei_koji::multicall::{encode_result, parse_calls};
use koschei_koji::xmlrpc::{parse_call, write_fault, write_response, Fault, FaultKind, Value};
use tower_http::services::ServeDir;
use tracing::{debug, warn};

use crate::api::{self, Caller};
use crate::args::Args;
use crate::negotiate;
use crate::scripting;
use crate::sim::Sim;

/// The router of the simulator.
pub fn router(sim: Arc<Sim>) -> Router {
    let files = ServeDir::new(sim.files_dir.clone());
    Router::new()
        .route("/kojihub", post(xmlrpc))
        .route("/kojihub/ssllogin", post(ssllogin))
        .nest_service("/kojifiles", files)
        .with_state(sim)
}

/// The session a call carries (`Koji-Session-*` headers, else — unless URL sessions are
/// disabled — query parameters).
fn caller(sim: &Sim, query: &HashMap<String, String>, headers: &HeaderMap) -> Caller {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let st = sim.lock();
    let (id, key, callnum) = if let Some(id) = header("Koji-Session-Id") {
        let callnum = header("Koji-Session-Callnum").or_else(|| header("Koji-Callnum"));
        (Some(id), header("Koji-Session-Key"), callnum)
    } else if !st.url_sessions_disabled {
        (
            query.get("session-id").cloned(),
            query.get("session-key").cloned(),
            query.get("callnum").cloned(),
        )
    } else {
        (None, None, None)
    };
    let mut caller = Caller {
        callnum: callnum.and_then(|s| s.parse::<i64>().ok()),
        ..Caller::default()
    };
    let Some(id) = id else {
        return caller;
    };
    let session = id.parse::<i64>().ok().and_then(|id| {
        st.sessions
            .get(&id)
            .filter(|(k, _)| Some(k) == key.as_ref())
            .map(|(_, user)| (id, *user))
    });
    match session {
        None => caller.session_problem = Some(FaultKind::AuthError),
        Some((id, _)) if st.expired_sessions.contains(&id) => {
            caller.session_problem = Some(FaultKind::AuthExpired)
        }
        Some((id, user)) => {
            caller.user_id = Some(user);
            caller.session_id = Some(id);
        }
    }
    caller
}

/// The fault of a call whose session the hub does not accept (login calls excepted,
/// as Koji lets an expired session log in again).
fn session_fault(caller: &Caller, method: &str) -> Result<(), Fault> {
    match caller.session_problem {
        Some(FaultKind::AuthExpired) if method != "sslLogin" => Err(Fault::koji(
            FaultKind::AuthExpired,
            "session has expired".to_owned(),
        )),
        Some(kind) if kind != FaultKind::AuthExpired => Err(Fault::koji(
            kind,
            "Invalid session or bad credentials".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Whether repeating `method` cannot change anything (Koji lets such calls be
/// retried with the same call number).
fn read_only(method: &str) -> bool {
    [
        "get",
        "list",
        "query",
        "repoInfo",
        "echo",
        "multiCall",
        "sim.messages",
    ]
    .iter()
    .any(|p| method.starts_with(p))
}

/// Koji's call-number check: a call number below the session's last one is a
/// `SequenceError`; repeating the last one (a client retrying a call whose reply it
/// lost) is a `RetryError` unless the method only reads.
fn check_callnum(sim: &Sim, caller: &Caller, method: &str) -> Result<(), Fault> {
    let (Some(session), Some(callnum)) = (caller.session_id, caller.callnum) else {
        return Ok(());
    };
    match sim.lock().last_callnums.get(&session) {
        Some(last) if callnum < *last => Err(Fault::koji(
            FaultKind::SequenceError,
            format!("{last} > {callnum} (session {session})"),
        )),
        Some(last) if callnum == *last && !read_only(method) => Err(Fault::koji(
            FaultKind::RetryError,
            format!("unable to retry call {callnum} (method {method}) for session {session}"),
        )),
        _ => Ok(()),
    }
}

/// Records the call number of a call that changed data.
fn record_callnum(sim: &Sim, caller: &Caller, method: &str) {
    if let (Some(session), Some(callnum), false) =
        (caller.session_id, caller.callnum, read_only(method))
    {
        sim.lock().last_callnums.insert(session, callnum);
    }
}

/// Whether the reply of this successful call is to be lost (`sim.loseBuildReplies`).
fn lose_reply(sim: &Sim, method: &str) -> bool {
    let mut st = sim.lock();
    if method == "build" && st.lost_build_replies > 0 {
        st.lost_build_replies -= 1;
        return true;
    }
    false
}

async fn xmlrpc(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = caller(&sim, &query, &headers);
    handle(&sim, caller, &body).await
}

/// `/kojihub/ssllogin`: with Kerberos enabled, `sslLogin` goes through only with a
/// valid SPNEGO token, as the user of the principal it names; otherwise as `/kojihub`
/// (the client certificate is taken on trust).
async fn ssllogin(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut caller = caller(&sim, &query, &headers);
    if !sim.lock().gssapi {
        return handle(&sim, caller, &body).await;
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let accepted =
        tokio::task::spawn_blocking(move || negotiate::accept(authorization.as_deref())).await;
    match accepted {
        Ok(Ok((principal, mutual))) => {
            caller.login_user = Some(sim.lock().kerberos_user(&principal));
            let mut response = handle(&sim, caller, &body).await;
            if let Some(token) = mutual.and_then(|t| header::HeaderValue::try_from(t).ok()) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, token);
            }
            response
        }
        Ok(Err(e)) => {
            if !matches!(e, negotiate::NegotiateError::Missing) {
                warn!("Kerberos login refused: {e}");
            }
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Negotiate")],
                "Kerberos authentication required",
            )
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Runs one XML-RPC request as `caller`.
async fn handle(sim: &Arc<Sim>, caller: Caller, body: &[u8]) -> Response {
    let sim = sim.clone();
    let text = match parse_call(body) {
        Err(e) => write_fault(&Fault::new(1, format!("malformed request: {e}"))),
        Ok(call) => {
            debug!(method = call.name, "call");
            let delay = {
                let mut st = sim.lock();
                *st.call_counts.entry(call.name.clone()).or_default() += 1;
                st.call_delays.get(&call.name).copied()
            };
            if let Some(seconds) = delay {
                tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
            }
            let checked = session_fault(&caller, &call.name)
                .and_then(|()| check_callnum(&sim, &caller, &call.name));
            let result = match checked {
                Err(f) => Err(f),
                Ok(()) if call.name == "multiCall" => multicall(&sim, caller, call.params).await,
                Ok(()) => dispatch(&sim, caller, &call.name, call.params).await,
            };
            if result.is_ok() {
                record_callnum(&sim, &caller, &call.name);
                if lose_reply(&sim, &call.name) {
                    warn!(
                        method = call.name,
                        "losing the reply (sim.loseBuildReplies)"
                    );
                    return StatusCode::BAD_GATEWAY.into_response();
                }
            }
            match result {
                Ok(v) => write_response(&v),
                Err(f) => write_fault(&f),
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, "text/xml"),
            (header::HeaderName::from_static("koji-version"), "1.35.0"),
        ],
        text,
    )
        .into_response()
}

/// Whether this call of `method` is one `sim.failNext` asked to fail (counting it).
fn injected_failure(sim: &Sim, method: &str) -> bool {
    let mut st = sim.lock();
    match st.failing_calls.get_mut(method) {
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

async fn dispatch(
    sim: &Arc<Sim>,
    caller: Caller,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, Fault> {
    let args = Args::new(params);
    if injected_failure(sim, method) {
        return Err(Fault::generic(format!(
            "koji-sim: {method} refused (sim.failNext)"
        )));
    }
    if scripting::is_scripting(method) {
        scripting::call(sim, caller, method, &args).await
    } else {
        api::call(sim, caller, method, &args).await
    }
}

async fn multicall(sim: &Arc<Sim>, caller: Caller, params: Vec<Value>) -> Result<Value, Fault> {
    let first = params
        .first()
        .ok_or_else(|| Fault::parameter("multiCall expects a list of calls"))?;
    let calls = parse_calls(first)?;
    let mut results = Vec::with_capacity(calls.len());
    for c in calls {
        let result = if c.method == "multiCall" {
            Err(Fault::generic("multicall calls cannot be nested"))
        } else {
            dispatch(sim, caller, &c.method, c.params).await
        };
        results.push(encode_result(result));
    }
    Ok(Value::Array(results))
}
