//! Waking the resolver as soon as Koji announces a new repo (or a re-resolution is
//! requested, `koschei_core::resolution::RESOLVE_REQUESTED_CHANNEL`, or an impact check
//! queued, `koschei_core::impact::QUEUED_CHANNEL`).
//!
//! Channel: **`koschei_repo_done`**. The watcher, on Koji's `buildsys.repo.done` message,
//! runs `NOTIFY koschei_repo_done, '<build_tag>:<repo_id>'` (e.g. `f40-build:12345`); any
//! database client may do the same. Each resolver instance `LISTEN`s on it and starts an
//! iteration at once instead of waiting for the next poll (the loop interval stays the
//! fallback, so a lost notification only delays the work).

use std::sync::Arc;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

/// The notification channel the watcher signals new repos on.
pub const REPO_DONE_CHANNEL: &str = "koschei_repo_done";

/// A parsed payload `<build_tag>:<repo_id>`.
pub fn parse_payload(payload: &str) -> Option<(&str, i64)> {
    let (tag, id) = payload.rsplit_once(':')?;
    Some((tag, id.trim().parse().ok()?))
}

/// Listens on [`REPO_DONE_CHANNEL`] and on
/// [`RESOLVE_REQUESTED_CHANNEL`](koschei_core::resolution::RESOLVE_REQUESTED_CHANNEL) and
/// notifies `wake` for every message, until the
/// returned task is aborted. The listener reconnects by itself after a lost connection.
pub async fn listen(pool: &PgPool, wake: Arc<Notify>) -> sqlx::Result<tokio::task::JoinHandle<()>> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([
            REPO_DONE_CHANNEL,
            koschei_core::resolution::RESOLVE_REQUESTED_CHANNEL,
            koschei_core::impact::QUEUED_CHANNEL,
        ])
        .await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(n) if n.channel() == koschei_core::impact::QUEUED_CHANNEL => {
                    tracing::info!("impact check {} queued", n.payload());
                    wake.notify_one();
                }
                Ok(n) if n.channel() != REPO_DONE_CHANNEL => {
                    tracing::info!("re-resolution requested in collection {}", n.payload());
                    wake.notify_one();
                }
                Ok(n) => {
                    match parse_payload(n.payload()) {
                        Some((tag, id)) => tracing::info!("Koji repo {id} of {tag} is ready"),
                        None => tracing::info!("repo notification {:?}", n.payload()),
                    }
                    wake.notify_one();
                }
                Err(e) => {
                    tracing::warn!("listening on {REPO_DONE_CHANNEL}: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(parse_payload("f40-build:12345"), Some(("f40-build", 12345)));
        assert_eq!(parse_payload("a:b:7"), Some(("a:b", 7)));
        assert_eq!(parse_payload("nonsense"), None);
    }
}
