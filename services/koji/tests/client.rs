//! The client's transport behaviour against a scripted in-process hub: retries with
//! back-off on ServerOffline and transport errors (bounded in count and time), the session
//! in headers only after `sslLogin`, a new login when the hub expires the session, reply
//! size limits, multicall chunking with per-call faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use koschei_koji::multicall::{encode_result, parse_calls};
use koschei_koji::xmlrpc::{parse_call, write_fault, write_response};
use koschei_koji::{Call, Fault, FaultKind, KojiClient, KojiConfig, KojiError, LoginMethod, Value};

#[derive(Default)]
struct Hub {
    /// Faults still to send before answering normally.
    offline_left: usize,
    /// Calls still to answer with `AuthExpired` (logins excepted).
    expired_left: usize,
    /// Logins so far (each gets a new session id).
    logins: i64,
    /// Bytes of padding in the reply of `echo`.
    echo_padding: usize,
    /// Every call seen.
    seen: Vec<Seen>,
}

/// One call as the hub saw it.
struct Seen {
    path: String,
    method: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    params: Vec<Value>,
}

type Shared = Arc<Mutex<Hub>>;

async fn handle(
    path: &str,
    hub: Shared,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: &[u8],
) -> String {
    let call = parse_call(body).expect("client sends valid XML-RPC");
    let mut h = hub.lock().unwrap();
    h.seen.push(Seen {
        path: path.to_owned(),
        method: call.name.clone(),
        query,
        headers,
        params: call.params.clone(),
    });
    if h.offline_left > 0 {
        h.offline_left -= 1;
        return write_fault(&Fault::koji(FaultKind::ServerOffline, "server is offline"));
    }
    if h.expired_left > 0 && call.name != "sslLogin" {
        h.expired_left -= 1;
        return write_fault(&Fault::koji(FaultKind::AuthExpired, "session has expired"));
    }
    match call.name.as_str() {
        "sslLogin" => {
            h.logins += 1;
            let id = 41 + h.logins;
            write_response(&Value::Struct(koschei_koji::xstruct! {
                "session-id" => id, "session-key" => format!("{id}-secret"),
            }))
        }
        "echo" if h.echo_padding > 0 => write_response(&Value::str("x".repeat(h.echo_padding))),
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
        "getChannel" => write_response(&Value::Struct(koschei_koji::xstruct! {
            "id" => 1, "name" => "default",
        })),
        "listHosts" => write_response(&Value::Array(vec![Value::Struct(koschei_koji::xstruct! {
            "id" => 1, "name" => "builder", "arches" => "i386 x86_64", "capacity" => 2.0,
            "task_load" => 1.0, "ready" => true, "enabled" => true,
        })])),
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
                 headers: HeaderMap,
                 body: axum::body::Bytes| async move {
                    handle("/kojihub", h, q, headers, &body).await
                },
            ),
        )
        .route(
            "/kojihub/ssllogin",
            post(
                |State(h): State<Shared>, headers: HeaderMap, body: axum::body::Bytes| async move {
                    handle("/kojihub/ssllogin", h, HashMap::new(), headers, &body).await
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
    let mut backoff = config("http://x").backoff().start();
    assert_eq!(backoff.next_delay(), Duration::from_millis(5));
    assert_eq!(backoff.next_delay(), Duration::from_millis(10));
    assert_eq!(backoff.next_delay(), Duration::from_millis(20));
    assert_eq!(backoff.nth(26), Some(Duration::from_millis(20)));
}

/// A client that logs in with the test certificate.
fn certificate_config(url: &str) -> KojiConfig {
    let dir = std::env::temp_dir().join(format!("koschei-koji-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("client.pem");
    std::fs::write(&cert, TEST_CLIENT_PEM).unwrap();
    KojiConfig {
        cert: Some(cert),
        login: LoginMethod::Certificate,
        ..config(url)
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap()
}

/// Koji hubs read the session from headers and may refuse it in the URL
/// (`DisableURLSessions`); in the URL it would also reach logs through error messages.
#[tokio::test]
async fn the_session_travels_in_headers_only() {
    let (url, hub) = start(Hub::default()).await;
    let koji = KojiClient::logged_in(certificate_config(&url))
        .await
        .unwrap();
    assert!(koji.is_logged_in());
    koji.call("echo", vec![]).await.unwrap();
    koji.call("echo", vec![]).await.unwrap();
    let seen = &hub.lock().unwrap().seen;
    assert_eq!(seen[0].path, "/kojihub/ssllogin");
    assert_eq!(seen[0].method, "sslLogin");
    assert_eq!(seen[1].path, "/kojihub");
    for call in &seen[1..] {
        assert!(
            call.query.is_empty(),
            "no session in the URL: {:?}",
            call.query
        );
        assert_eq!(header(call, "Koji-Session-Id"), "42");
        assert_eq!(header(call, "Koji-Session-Key"), "42-secret");
    }
    let n1: u64 = header(&seen[1], "Koji-Session-Callnum").parse().unwrap();
    let n2: u64 = header(&seen[2], "Koji-Session-Callnum").parse().unwrap();
    assert_eq!(n2, n1 + 1);
}

#[tokio::test]
async fn certificate_login_needs_a_certificate() {
    let err = KojiClient::logged_in(KojiConfig {
        login: LoginMethod::Certificate,
        ..config("http://127.0.0.1:1/kojihub")
    })
    .await
    .unwrap_err();
    assert!(matches!(err, KojiError::Config(_)));
}

/// A client with a login method logs in before its first call, and logs in again (once)
/// when the hub expires the session, instead of failing every later call.
#[tokio::test]
async fn an_expired_session_is_renewed_by_a_new_login() {
    let (url, hub) = start(Hub::default()).await;
    let koji = KojiClient::new(certificate_config(&url)).unwrap();
    assert!(!koji.is_logged_in());
    koji.call("echo", vec![]).await.unwrap();
    hub.lock().unwrap().expired_left = 1;
    koji.call("echo", vec![Value::Int(1)]).await.unwrap();
    {
        let h = hub.lock().unwrap();
        let methods: Vec<_> = h.seen.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["sslLogin", "echo", "echo", "sslLogin", "echo"]);
        assert_eq!(
            header(&h.seen[4], "Koji-Session-Id"),
            "43",
            "the new session"
        );
    }
    // A hub that keeps refusing: one new login, then the fault is the call's error.
    hub.lock().unwrap().expired_left = 2;
    let err = koji.call("echo", vec![]).await.unwrap_err();
    assert_eq!(err.fault_kind(), Some(FaultKind::AuthExpired));
    assert_eq!(hub.lock().unwrap().logins, 3);
}

#[tokio::test]
async fn a_reply_over_the_size_limit_is_refused() {
    let (url, _hub) = start(Hub {
        echo_padding: 100_000,
        ..Hub::default()
    })
    .await;
    let koji = KojiClient::anonymous(KojiConfig {
        max_reply_size: 10_000,
        ..config(&url)
    })
    .unwrap();
    let err = koji.call("echo", vec![]).await.unwrap_err();
    assert!(matches!(err, KojiError::ReplyTooLarge { .. }), "{err}");
    let koji = KojiClient::anonymous(config(&url)).unwrap();
    koji.call("echo", vec![]).await.unwrap();
}

/// Retries stop when the retry time is used up, whatever the retry count allows.
#[tokio::test]
async fn retry_time_is_bounded() {
    let (url, hub) = start(Hub {
        offline_left: 1000,
        ..Hub::default()
    })
    .await;
    let koji = KojiClient::anonymous(KojiConfig {
        max_retries: 1000,
        retry_interval: Duration::from_millis(20),
        max_retry_interval: Duration::from_millis(20),
        max_retry_time: Duration::from_millis(200),
        ..config(&url)
    })
    .unwrap();
    let err = koji.call("echo", vec![]).await.unwrap_err();
    assert_eq!(err.fault_kind(), Some(FaultKind::ServerOffline));
    let tries = hub.lock().unwrap().seen.len();
    assert!((2..=11).contains(&tries), "{tries} tries in 200 ms");
}

/// A transport error's text (logged, and shown in systemd's status) carries no URL.
#[tokio::test]
async fn transport_errors_do_not_show_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let koji = KojiClient::anonymous(config(&format!("http://{addr}/kojihub?secret=1"))).unwrap();
    let err = koji.call("echo", vec![]).await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("secret"), "{text}");
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

/// The Koji load asks `listHosts` with the arches as given (not canonicalised) and
/// `enabled=True`, all of the tag's arches for noarch: the original's
/// `listHosts(list(arches), channel['id'], enabled=True)` in `koschei/backend/koji_util.py`.
#[tokio::test]
async fn koji_load_lists_hosts_like_the_original() {
    let (url, hub) = start(Hub::default()).await;
    let client = KojiClient::anonymous(config(&url)).unwrap();
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let all = s(&["i686", "x86_64", "armv7hl"]);
    let load = koschei_koji::load::koji_load(&client, &all, &s(&["i686", "x86_64"]))
        .await
        .unwrap();
    assert!((load - 0.5).abs() < 1e-9, "{load}");
    koschei_koji::load::koji_load(&client, &all, &s(&["noarch"]))
        .await
        .unwrap();
    let h = hub.lock().unwrap();
    let calls: Vec<&Seen> = h.seen.iter().filter(|c| c.method == "listHosts").collect();
    let strs = |v: &[&str]| Value::Array(v.iter().map(|a| Value::str(*a)).collect());
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].params[0], strs(&["i686", "x86_64"]));
    assert_eq!(calls[0].params[1], Value::Int(1));
    assert_eq!(calls[1].params[0], strs(&["i686", "x86_64", "armv7hl"]));
    let kwargs = format!("{:?}", calls[0].params.last().unwrap());
    assert!(kwargs.contains("enabled"), "{kwargs}");
}
