//! Resource limits of the web server (`frontend.limits`): a time limit and
//! a concurrency limit per request (answered 503), a time limit for
//! reading request headers (slow clients are disconnected), and the
//! statement timeout of the web's database connections.

use std::future::Future;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use koschei_core::config::WebLimits;
use koschei_core::db::{self, DbError};
use sqlx::PgPool;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower::ServiceExt;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

/// The web's database pool: statements end after
/// `frontend.limits.statement_timeout`.
pub async fn connect_db(
    url: &str,
    limits: &WebLimits,
    connections: u32,
) -> Result<PgPool, DbError> {
    db::connect_with_timeout(url, connections, Some(secs(limits.statement_timeout))).await
}

/// Adds the request time limit and the concurrency limit to every route:
/// a request over either is answered 503 at once instead of queueing.
pub fn add(router: Router, limits: &WebLimits) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(overloaded))
            .timeout(secs(limits.request_timeout))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(
                limits.max_concurrent_requests.max(1),
            )),
    )
}

/// The answer for a request refused by a limit (plain text: the request
/// never reached a handler).
async fn overloaded(err: BoxError) -> Response {
    let message = if err.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
        "The request took too long; try again later or ask for less."
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!("too many concurrent requests: refused one");
        "The server is busy; try again later."
    } else {
        tracing::error!("request failed: {err}");
        "Internal error"
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "10")],
        message,
    )
        .into_response()
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open
/// requests finish. Clients must send their request headers within
/// `header_read_timeout`; every request carries the peer's
/// [`ConnectInfo`] of its `SocketAddr`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &WebLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(secs(limits.header_read_timeout));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors or a connection reset before
                    // accept: wait instead of spinning.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
