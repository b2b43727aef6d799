//! One client of `/api/v1/events` in the events benchmark: it records the
//! arrival instant of every event, checks the data of some, and reconnects
//! with `Last-Event-ID` when its stream ends, as a browser's `EventSource`
//! does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::sse;
use crate::stats::micros;

/// What one client received.
#[derive(Default)]
pub struct Received {
    /// `(seq − seq before the burst, µs since the epoch)` of each event
    /// after the burst started, in arrival order.
    pub events: Vec<(u32, u32)>,
    /// Events of the data check (the first client) whose `data` does not
    /// match their `id:` and `event:`.
    pub bad_data: usize,
    /// Streams reopened after one ended.
    pub reconnects: usize,
    /// Streams that ended before the client had everything.
    pub drops: usize,
    /// The first thing that went wrong (a stream ending, a failed request).
    pub error: Option<String>,
}

/// One SSE client.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub seq_before: i64,
    pub epoch: Instant,
    /// Events after `seq_before` to receive before leaving.
    pub expected: usize,
    /// Whether to check each event's `data` against its `id:` and `event:`.
    pub check_data: bool,
    /// Pause before reconnecting (browsers' `EventSource` waits about 3 s
    /// unless the server sent `retry:`).
    pub reconnect_delay: Duration,
}

impl Client {
    /// Opens the stream (reporting on `connected`) and records the events
    /// until it has `expected` of them or `stop` is raised. Like a browser's
    /// `EventSource`, it reconnects with `Last-Event-ID` when the stream
    /// ends (the server drops a client that falls too far behind).
    pub async fn follow(
        self,
        gate: Arc<Semaphore>,
        connected: mpsc::Sender<Result<(), String>>,
        mut stop: watch::Receiver<bool>,
    ) -> Received {
        let mut received = Received {
            events: Vec::with_capacity(self.expected),
            ..Received::default()
        };
        let mut connected = Some(connected);
        let mut last_id = self.seq_before;
        while received.events.len() < self.expected && !*stop.borrow() {
            let response = self.open(&gate, last_id).await;
            let response = match (response, connected.take()) {
                (Ok(r), Some(connected)) => {
                    let _ = connected.send(Ok(())).await;
                    r
                }
                (Ok(r), None) => {
                    received.reconnects += 1;
                    r
                }
                (Err(e), Some(connected)) => {
                    let _ = connected.send(Err(e.clone())).await;
                    received.error = Some(e);
                    break;
                }
                (Err(e), None) => {
                    received.error.get_or_insert(e);
                    if !self.pause(&mut stop).await {
                        break;
                    }
                    continue;
                }
            };
            if let Some(ended) = self
                .read(response, &mut received, &mut last_id, &mut stop)
                .await
            {
                received.drops += 1;
                received.error.get_or_insert(ended);
                if !self.pause(&mut stop).await {
                    break;
                }
            }
        }
        received
    }

    /// Waits `reconnect_delay` before reconnecting; false if `stop` was
    /// raised meanwhile.
    async fn pause(&self, stop: &mut watch::Receiver<bool>) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(self.reconnect_delay) => true,
            _ = stop.wait_for(|s| *s) => false,
        }
    }

    /// A stream of the events after `last_id`.
    async fn open(&self, gate: &Semaphore, last_id: i64) -> Result<reqwest::Response, String> {
        let _permit = gate.acquire().await;
        match self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", last_id.to_string())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    /// Records the events of `response` until enough arrived or `stop`
    /// (then none), or until the stream ends (then why).
    async fn read(
        &self,
        mut response: reqwest::Response,
        received: &mut Received,
        last_id: &mut i64,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<String> {
        let mut parser = sse::Parser::new(self.check_data);
        while received.events.len() < self.expected {
            let chunk = tokio::select! {
                chunk = response.chunk() => chunk,
                _ = stop.wait_for(|s| *s) => return None,
            };
            let chunk = match chunk {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Some("the stream ended".into()),
                Err(e) => return Some(format!("{e:#}")),
            };
            let now = micros(self.epoch.elapsed());
            parser.feed(&chunk, |event| {
                let seq: i64 = event.id.parse().unwrap_or(0);
                *last_id = seq.max(*last_id);
                if seq > self.seq_before {
                    received.events.push(((seq - self.seq_before) as u32, now));
                }
                if self.check_data && !data_matches(&event) {
                    received.bad_data += 1;
                }
            });
        }
        None
    }
}

/// Whether an event's JSON `data` has its `id:` as `id` and a `topic`
/// ending in its `event:` name.
fn data_matches(event: &sse::Event<'_>) -> bool {
    let Ok(data) = serde_json::from_str::<Value>(event.data) else {
        return false;
    };
    data["id"].as_i64().map(|id| id.to_string()).as_deref() == Some(event.id)
        && data["topic"]
            .as_str()
            .is_some_and(|t| t.ends_with(event.event))
        && data["body"].is_object()
}
