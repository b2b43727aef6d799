//! The change feed: one `LISTEN koschei_change` connection per web process.
//! The database's triggers send, in the writing transaction, what each
//! statement changed (delivered at commit, in commit order); the feed bumps
//! the matching [`Tag`]s. A lost connection makes the cache go dark (nothing
//! served from it, nothing stored) until the feed listens again, in a new
//! epoch that voids everything cached before.
//!
//! [`ChangeFeed::sync`] is the barrier that makes the cache never stale: it
//! sends a token through the same channel and waits until the feed has read
//! it back. PostgreSQL delivers notifications in commit order, so by then
//! every change committed before the request has been applied. Concurrent
//! requests share one token round trip.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use tokio::sync::{oneshot, watch, Notify};

use super::tags::{Clock, Stamp, Tag};

/// The channel the triggers notify.
pub const CHANNEL: &str = "koschei_change";

/// How long a request waits for its token before it is answered from the
/// database (the feed is then presumably broken).
const SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// One notification's payload (see the `change_notifications` migration).
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Change {
    Packages {
        collections: Vec<i32>,
        /// `None`: too many to name, all of them.
        bases: Option<Vec<i32>>,
    },
    Collections,
    Notices,
    Groups,
    /// A barrier token of a web process.
    Sync {
        token: String,
    },
}

impl Change {
    /// The tags the change touches.
    fn tags(&self) -> Vec<Tag> {
        match self {
            Change::Packages { collections, bases } => {
                let mut tags = vec![Tag::Packages];
                tags.extend(collections.iter().map(|&c| Tag::Collection(c)));
                match bases {
                    Some(bases) => tags.extend(bases.iter().map(|&b| Tag::Base(b))),
                    None => tags.push(Tag::Bulk),
                }
                tags
            }
            Change::Collections | Change::Notices => vec![Tag::Site],
            Change::Groups => vec![Tag::Groups],
            Change::Sync { .. } => Vec::new(),
        }
    }
}

/// What the listener has read so far: its epoch and the last own token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    epoch: u64,
    token: u64,
}

/// The change feed of one web process; see the module documentation.
pub struct ChangeFeed {
    clock: Arc<Clock>,
    /// Identifies this process's tokens among every web's.
    instance: String,
    progress: watch::Sender<Progress>,
    /// Requests waiting for the next token round trip.
    waiting: Mutex<Vec<oneshot::Sender<bool>>>,
    demand: Notify,
}

impl ChangeFeed {
    /// Starts the listener and the token sender on `pool`.
    pub fn start(pool: PgPool, clock: Arc<Clock>) -> Arc<ChangeFeed> {
        let feed = Arc::new(ChangeFeed {
            clock,
            instance: uuid::Uuid::new_v4().simple().to_string(),
            progress: watch::Sender::new(Progress::default()),
            waiting: Mutex::new(Vec::new()),
            demand: Notify::new(),
        });
        // Tokens go on a connection of their own: a cached answer must not
        // wait for the request pool.
        tokio::spawn(feed.clone().send_tokens(crate::listener::side_pool(&pool)));
        tokio::spawn(feed.clone().listen(pool));
        feed
    }

    /// Waits until every change committed before the call has reached the
    /// cache's clock; the stamp to read and store answers under, or `None`
    /// when the cache must be bypassed (the feed is down).
    pub async fn sync(&self) -> Option<Stamp> {
        self.clock.stamp()?;
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("feed lock poisoned").push(tx);
        self.demand.notify_one();
        match rx.await {
            Ok(true) => self.clock.stamp(),
            _ => None,
        }
    }

    /// The listener: (re)connects, applies notifications, goes dark when
    /// the connection is lost.
    async fn listen(self: Arc<Self>, pool: PgPool) {
        while let Some(mut listener) =
            crate::listener::listen(&pool, CHANNEL, "cache change feed").await
        {
            let epoch = self.clock.go_live();
            self.progress.send_modify(|p| p.epoch = epoch);
            tracing::info!("cache change feed: LISTEN {CHANNEL} established");
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => self.apply(n.payload()),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("cache change feed: {e}");
                        break;
                    }
                }
            }
            let epoch = self.clock.go_dark();
            self.progress.send_modify(|p| p.epoch = epoch);
            tracing::warn!("cache change feed lost: answering from the database until it is back");
        }
    }

    /// Applies one notification.
    fn apply(&self, payload: &str) {
        match serde_json::from_str::<Change>(payload) {
            Ok(Change::Sync { token }) => {
                let own = token
                    .strip_prefix(&self.instance)
                    .and_then(|t| t.strip_prefix(':'))
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(n) = own {
                    self.progress.send_modify(|p| p.token = p.token.max(n));
                }
            }
            Ok(change) => self.clock.bump(change.tags()),
            Err(e) => {
                // Unknown news: nothing cached can be trusted.
                tracing::warn!("cache change feed: unreadable notification {payload:?}: {e}");
                self.clock.void_all();
            }
        }
    }

    /// Sends one token per batch of waiting requests and answers them when
    /// it came back (true) or could not (false: bypass the cache).
    async fn send_tokens(self: Arc<Self>, pool: PgPool) {
        let mut token = 0u64;
        loop {
            self.demand.notified().await;
            let batch = std::mem::take(&mut *self.waiting.lock().expect("feed lock poisoned"));
            if batch.is_empty() {
                continue;
            }
            token += 1;
            let came_back = self.round_trip(&pool, token).await;
            for waiter in batch {
                let _ = waiter.send(came_back);
            }
        }
    }

    /// Notifies `token` and waits until the listener read it in the same epoch.
    async fn round_trip(&self, pool: &PgPool, token: u64) -> bool {
        let mut progress = self.progress.subscribe();
        let epoch = progress.borrow_and_update().epoch;
        let payload =
            serde_json::json!({"kind": "sync", "token": format!("{}:{token}", self.instance)});
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload.to_string())
            .execute(pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!("cache change feed: cannot send a sync token: {e}");
            return false;
        }
        let read_back = async {
            let p = progress
                .wait_for(|p| p.epoch != epoch || p.token >= token)
                .await
                .ok()?;
            Some(p.epoch == epoch)
        };
        matches!(
            tokio::time::timeout(SYNC_TIMEOUT, read_back).await,
            Ok(Some(true))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_their_tags() {
        let parse = |s: &str| serde_json::from_str::<Change>(s).unwrap().tags();
        assert_eq!(
            parse(r#"{"kind":"packages","collections":[1],"bases":[5,6]}"#),
            vec![
                Tag::Packages,
                Tag::Collection(1),
                Tag::Base(5),
                Tag::Base(6)
            ]
        );
        assert_eq!(
            parse(r#"{"kind":"packages","collections":[2],"bases":null}"#),
            vec![Tag::Packages, Tag::Collection(2), Tag::Bulk]
        );
        assert_eq!(parse(r#"{"kind":"notices"}"#), vec![Tag::Site]);
        assert_eq!(parse(r#"{"kind":"groups"}"#), vec![Tag::Groups]);
        assert!(serde_json::from_str::<Change>(r#"{"kind":"else"}"#).is_err());
    }
}
