//! The event log: `message_outbox` rows in stream order (`seq`, assigned at
//! commit, so reading `seq > n` after having seen `n` misses nothing), as
//! the events the stream sends.

use axum::body::Bytes;
use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows read at once, by the hub and by a replay.
pub const PAGE: i64 = 500;

/// One event of the stream, shared (behind an `Arc`) by every client.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Position in the stream (`message_outbox.seq`), the SSE `id`.
    pub seq: i64,
    /// The topic without the `<modname>.` prefix, the SSE `event`.
    pub kind: String,
    /// The event as sent on the wire, encoded once for every client: SSE
    /// `id` (the position), `event` (the kind) and `data`
    /// (`{"id","message_id","topic","time","body"}`, one line of JSON).
    pub frame: Bytes,
    /// `body.collection`.
    pub collection: Option<String>,
    /// `body.name`: the package, for package-level events.
    pub package: Option<String>,
    /// `body.groups`: the package's groups (`namespace/name` or `name`).
    pub groups: Vec<String>,
}

/// The JSON of an event's `data`.
#[derive(Serialize)]
struct Data<'a> {
    id: i64,
    message_id: Uuid,
    topic: &'a str,
    time: NaiveDateTime,
    body: &'a Value,
}

impl LogEvent {
    /// The event from a row; `prefix` is `"<modname>."`.
    fn new(row: Row, prefix: &str) -> LogEvent {
        let (seq, message_id, topic, body, created) = row;
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let data = Data {
            id: seq,
            message_id,
            topic: &topic,
            time: created,
            body: &body,
        };
        let kind = topic.strip_prefix(prefix).unwrap_or(&topic).to_string();
        let data = serde_json::to_string(&data).expect("JSON values serialise");
        LogEvent {
            seq,
            frame: sse_frame(seq, &kind, &data),
            kind,
            collection: text("collection"),
            package: text("name"),
            groups: body
                .get("groups")
                .and_then(Value::as_array)
                .map(|gs| {
                    gs.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// One Server-Sent Event: `id`, `event` and one `data` line (compact JSON
/// never holds a raw line break; one in the kind is replaced).
fn sse_frame(seq: i64, kind: &str, data: &str) -> Bytes {
    let kind = kind.replace(['\r', '\n'], " ");
    Bytes::from(format!("id: {seq}\nevent: {kind}\ndata: {data}\n\n"))
}

/// `(seq, message_id, topic, body, created)`.
type Row = (i64, Uuid, String, Value, NaiveDateTime);

/// The reader of the log, with the topic prefix to strip.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub pool: PgPool,
    /// `"<modname>."`.
    pub prefix: String,
}

impl EventLog {
    /// Up to [`PAGE`] events after `after`, in stream order.
    pub async fn read_after(&self, after: i64) -> sqlx::Result<Vec<LogEvent>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT seq, message_id, topic, body, created FROM message_outbox
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| LogEvent::new(row, &self.prefix))
            .collect())
    }

    /// The last position of the stream (0 when empty).
    pub async fn last_seq(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM message_outbox")
            .fetch_one(&self.pool)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_one_event_each() {
        let frame = sse_frame(7, "build.started\nevil: x", r#"{"a":"b\nc"}"#);
        assert_eq!(
            &frame[..],
            b"id: 7\nevent: build.started evil: x\ndata: {\"a\":\"b\\nc\"}\n\n"
        );
    }
}
