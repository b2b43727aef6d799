//! The HTTP face: XML-RPC at `/kojihub` (and `/kojihub/ssllogin`), files at `/kojifiles`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use koschei_koji::multicall::{encode_result, parse_calls};
use koschei_koji::xmlrpc::{parse_call, write_fault, write_response, Fault, Value};
use tower_http::services::ServeDir;
use tracing::debug;

use crate::api::{self, Caller};
use crate::args::Args;
use crate::scripting;
use crate::sim::Sim;

/// The router of the simulator.
pub fn router(sim: Arc<Sim>) -> Router {
    let files = ServeDir::new(sim.files_dir.clone());
    Router::new()
        .route("/kojihub", post(xmlrpc))
        .route("/kojihub/ssllogin", post(xmlrpc))
        .nest_service("/kojifiles", files)
        .with_state(sim)
}

/// The session a call carries (query parameters or `Koji-Session-*` headers).
fn caller(sim: &Sim, query: &HashMap<String, String>, headers: &HeaderMap) -> Caller {
    let from_headers = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let id = query
        .get("session-id")
        .cloned()
        .or_else(|| from_headers("Koji-Session-Id"))
        .and_then(|s| s.parse::<i64>().ok());
    let key = query
        .get("session-key")
        .cloned()
        .or_else(|| from_headers("Koji-Session-Key"));
    let user_id = match (id, key) {
        (Some(id), Some(key)) => sim
            .lock()
            .sessions
            .get(&id)
            .filter(|(k, _)| *k == key)
            .map(|(_, user)| *user),
        _ => None,
    };
    Caller { user_id }
}

async fn xmlrpc(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let caller = caller(&sim, &query, &headers);
    let text = match parse_call(&body) {
        Err(e) => write_fault(&Fault::new(1, format!("malformed request: {e}"))),
        Ok(call) => {
            debug!(method = call.name, "call");
            let result = if call.name == "multiCall" {
                multicall(&sim, caller, call.params).await
            } else {
                dispatch(&sim, caller, &call.name, call.params).await
            };
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
}

async fn dispatch(
    sim: &Arc<Sim>,
    caller: Caller,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, Fault> {
    let args = Args::new(params);
    if scripting::is_scripting(method) {
        scripting::call(sim, caller, method, &args).await
    } else {
        api::call(sim, caller, method, &args)
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
