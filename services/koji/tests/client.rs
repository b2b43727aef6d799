//! The client's transport behaviour against a scripted in-process hub: retries with
//! back-off on ServerOffline and transport errors, session parameters after `sslLogin`,
//! multicall chunking with per-call faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use koschei_koji::multicall::{encode_result, parse_calls};
use koschei_koji::xmlrpc::{parse_call, write_fault, write_response};
use koschei_koji::{Call, Fault, FaultKind, KojiClient, KojiConfig, KojiError, Value};

#[derive(Default)]
struct Hub {
    /// Faults still to send before answering normally.
    offline_left: usize,
    /// Every call seen: (path, method, query).
    seen: Vec<(String, String, HashMap<String, String>)>,
}

type Shared = Arc<Mutex<Hub>>;

async fn handle(path: &str, hub: Shared, query: HashMap<String, String>, body: &[u8]) -> String {
    let call = parse_call(body).expect("client sends valid XML-RPC");
    let mut h = hub.lock().unwrap();
    h.seen.push((path.to_owned(), call.name.clone(), query));
    if h.offline_left > 0 {
        h.offline_left -= 1;
        return write_fault(&Fault::koji(FaultKind::ServerOffline, "server is offline"));
    }
    match call.name.as_str() {
        "sslLogin" => write_response(&Value::Struct(koschei_koji::xstruct! {
            "session-id" => 42, "session-key" => "42-secret",
        })),
        "multiCall" => {
            let calls = parse_calls(&call.params[0]).unwrap();
            let results = calls
                .iter()
                .map(|c| match c.params.first() {
                    Some(Value::Int(i)) if *i % 2 == 0 => Ok(Value::Int(i * 10)),
                    _ => Err(Fault::generic("odd")),
                })
                .map(encode_result)
                .collect();
            write_response(&Value::Array(results))
        }
        "echo" => write_response(&Value::Array(call.params)),
        _ => write_fault(&Fault::generic(format!("Invalid method: {}", call.name))),
    }
}

async fn start(hub: Hub) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(hub));
    let app = Router::new()
        .route(
            "/kojihub",
            post(
                |State(h): State<Shared>,
                 Query(q): Query<HashMap<String, String>>,
                 body: axum::body::Bytes| async move {
                    handle("/kojihub", h, q, &body).await
                },
            ),
        )
        .route(
            "/kojihub/ssllogin",
            post(
                |State(h): State<Shared>, _headers: HeaderMap, body: axum::body::Bytes| async move {
                    handle("/kojihub/ssllogin", h, HashMap::new(), &body).await
                },
            ),
        )
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/kojihub"), shared)
}

fn config(server: &str) -> KojiConfig {
    KojiConfig {
        retry_interval: Duration::from_millis(5),
        max_retry_interval: Duration::from_millis(20),
        max_retries: 3,
        timeout: Duration::from_secs(10),
        ..KojiConfig::new(server, "http://unused")
    }
}

#[tokio::test]
async fn server_offline_is_retried_then_succeeds() {
    let (url, hub) = start(Hub {
        offline_left: 2,
        ..Hub::default()
    })
    .await;
    let koji = KojiClient::anonymous(config(&url)).unwrap();
    let v = koji.call("echo", vec![Value::Int(7)]).await.unwrap();
    assert_eq!(v, Value::Array(vec![Value::Int(7)]));
    assert_eq!(hub.lock().unwrap().seen.len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let (url, hub) = start(Hub {
        offline_left: 100,
        ..Hub::default()
    })
    .await;
    let koji = KojiClient::anonymous(config(&url)).unwrap();
    let err = koji.call("echo", vec![]).await.unwrap_err();
    assert_eq!(err.fault_kind(), Some(FaultKind::ServerOffline));
    assert_eq!(hub.lock().unwrap().seen.len(), 4, "1 try + 3 retries");
}

#[tokio::test]
async fn other_faults_are_not_retried() {
    let (url, hub) = start(Hub::default()).await;
    let koji = KojiClient::anonymous(config(&url)).unwrap();
    let err = koji.call("nope", vec![]).await.unwrap_err();
    assert_eq!(err.fault_kind(), Some(FaultKind::GenericError));
    assert!(!err.is_retryable());
    assert_eq!(hub.lock().unwrap().seen.len(), 1);
}

#[tokio::test]
async fn transport_errors_are_retried_and_reported() {
    // A port nobody listens on: connection refused on every try.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let koji = KojiClient::anonymous(config(&format!("http://{addr}/kojihub"))).unwrap();
    let started = std::time::Instant::now();
    let err = koji.call("echo", vec![]).await.unwrap_err();
    assert!(matches!(err, KojiError::Transport { .. }), "{err}");
    // Back-off 5 + 10 + 20 ms.
    assert!(started.elapsed() >= Duration::from_millis(35));
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let c = config("http://x");
    assert_eq!(c.backoff(1), Duration::from_millis(5));
    assert_eq!(c.backoff(2), Duration::from_millis(10));
    assert_eq!(c.backoff(3), Duration::from_millis(20));
    assert_eq!(c.backoff(30), Duration::from_millis(20));
}

#[tokio::test]
async fn ssl_login_sends_session_in_query_like_koji() {
    let (url, hub) = start(Hub::default()).await;
    let dir = std::env::temp_dir().join(format!("koschei-koji-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("client.pem");
    std::fs::write(&cert, TEST_CLIENT_PEM).unwrap();
    let koji = KojiClient::ssl_login(KojiConfig {
        cert: Some(cert),
        ..config(&url)
    })
    .await
    .unwrap();
    assert!(koji.is_logged_in());
    koji.call("echo", vec![]).await.unwrap();
    koji.call("echo", vec![]).await.unwrap();
    let seen = &hub.lock().unwrap().seen;
    assert_eq!(seen[0].0, "/kojihub/ssllogin");
    assert_eq!(seen[0].1, "sslLogin");
    let (path, _, q1) = &seen[1];
    assert_eq!(path, "/kojihub");
    assert_eq!(q1["session-id"], "42");
    assert_eq!(q1["session-key"], "42-secret");
    let n1: u64 = q1["callnum"].parse().unwrap();
    let n2: u64 = seen[2].2["callnum"].parse().unwrap();
    assert_eq!(n2, n1 + 1);
}

#[tokio::test]
async fn ssl_login_needs_a_certificate() {
    let err = KojiClient::ssl_login(config("http://127.0.0.1:1/kojihub"))
        .await
        .unwrap_err();
    assert!(matches!(err, KojiError::Config(_)));
}

#[tokio::test]
async fn multicall_is_chunked_and_keeps_faults_per_call() {
    let (url, hub) = start(Hub::default()).await;
    let koji = KojiClient::anonymous(KojiConfig {
        multicall_chunk_size: 2,
        ..config(&url)
    })
    .unwrap();
    let calls: Vec<Call> = (0..5)
        .map(|i| Call::new("double", vec![Value::Int(i)]))
        .collect();
    let results = koji.multicall(&calls).await.unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0], Ok(Value::Int(0)));
    assert_eq!(
        results[1].as_ref().unwrap_err().kind,
        FaultKind::GenericError
    );
    assert_eq!(results[4], Ok(Value::Int(40)));
    assert_eq!(hub.lock().unwrap().seen.len(), 3, "5 calls in chunks of 2");
    let typed = koji.multicall_as::<i64>(&calls).await.unwrap();
    assert_eq!(typed[2].as_ref().unwrap(), &20);
    assert!(typed[3].is_err());
}

/// A self-signed test certificate with its key (not used for anything else).
const TEST_CLIENT_PEM: &str = include_str!("data/client.pem");
