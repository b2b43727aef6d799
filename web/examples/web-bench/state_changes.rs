//! Package state changes committed the way the services commit them: the
//! package rows change and `koschei_core::outbox::packages_state_changed`
//! queues their state-change messages in the same transaction.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use koschei_core::config::Config;
use koschei_core::model::MessageState;
use koschei_core::outbox;
use sqlx::PgPool;

/// One committed transaction.
pub struct Commit {
    /// Messages queued (packages whose message state changed).
    pub messages: usize,
    /// `message_outbox.id` of the last message queued (none: no message).
    pub last_outbox_id: Option<i64>,
    /// When the commit was acknowledged.
    pub at: Instant,
}

/// Writes state changes to the benchmark database.
pub struct Writer {
    pool: PgPool,
    config: Config,
}

impl Writer {
    /// A writer on `pool` with the default configuration: messages with
    /// the `koschei.` topic prefix, for the event stream only (the bus
    /// publisher is disabled).
    pub fn new(pool: PgPool) -> Writer {
        Writer {
            pool,
            config: Config::default(),
        }
    }

    /// Flips `resolved` of the packages `ids` in one transaction, as a
    /// resolver pass does, with their state-change messages.
    pub async fn flip_resolved(&self, ids: &[i32]) -> anyhow::Result<Commit> {
        let mut tx = self.pool.begin().await?;
        let before: Vec<(i32, String)> = sqlx::query_as(
            "SELECT id, package_msg_state(p) FROM package p WHERE id = ANY($1)
             ORDER BY id FOR UPDATE",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let before: HashMap<i32, MessageState> = before
            .into_iter()
            .map(|(id, s)| (id, s.parse().unwrap_or(MessageState::Ignored)))
            .collect();
        let after: Vec<(i32, String)> = sqlx::query_as(
            "UPDATE package p SET resolved = NOT coalesce(resolved, true) WHERE id = ANY($1)
             RETURNING id, package_msg_state(p)",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut changes: Vec<(i32, MessageState, MessageState)> = after
            .into_iter()
            .map(|(id, s)| (id, before[&id], s.parse().unwrap_or(MessageState::Ignored)))
            .collect();
        changes.sort_by_key(|c| c.0);
        let messages = outbox::packages_state_changed(&mut tx, &self.config, &changes)
            .await
            .context("queueing state-change messages")?;
        let last_outbox_id = if messages > 0 {
            Some(
                sqlx::query_scalar(
                    "SELECT currval(pg_get_serial_sequence('message_outbox', 'id'))",
                )
                .fetch_one(&mut *tx)
                .await?,
            )
        } else {
            None
        };
        tx.commit().await?;
        Ok(Commit {
            messages,
            last_outbox_id,
            at: Instant::now(),
        })
    }
}
