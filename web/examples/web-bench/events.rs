//! `web-bench events`: SSE clients on `/api/v1/events` while a burst of
//! package state changes is committed; delivery latency of every event to
//! every client (receive instant − commit instant of its transaction),
//! completeness (each client must get each event exactly once) and memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::process::{self, Usage};
use crate::state_changes::Writer;
use crate::stats::{micros, quantile, round1, us_to_ms};
use crate::stream_client::{Client, Received};

/// What `web-bench events` does.
pub struct Plan {
    pub base_url: String,
    pub clients: usize,
    pub events: usize,
    /// State changes per transaction.
    pub batch: usize,
    /// Streams opened at once while connecting.
    pub connect_parallelism: usize,
    /// Time the clients have to receive everything after the last commit.
    pub drain_timeout: Duration,
    /// Pause of a client before reopening a stream that ended.
    pub reconnect_delay: Duration,
    /// koschei-web's process, for its memory.
    pub server_pid: Option<u32>,
}

/// The events of one transaction: the outbox rows up to `last_outbox_id`.
struct Batch {
    last_outbox_id: i64,
    committed_us: u32,
}

/// Runs the plan; returns the `events` section of the report.
pub async fn run(pool: PgPool, plan: Plan) -> anyhow::Result<Value> {
    let seq_before: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM message_outbox")
        .fetch_one(&pool)
        .await
        .context("message_outbox.seq (the event log's position) is needed")?;
    let id_before: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM message_outbox")
        .fetch_one(&pool)
        .await?;
    // Packages whose message state changes with `resolved`.
    let ids: Vec<i32> =
        sqlx::query_scalar("SELECT id FROM package WHERE tracked AND NOT blocked ORDER BY id")
            .fetch_all(&pool)
            .await?;
    if ids.is_empty() {
        bail!("no tracked package to change");
    }
    let server_before = process::server(plan.server_pid);
    let epoch = Instant::now();

    // Connect every client; each resumes after `seq_before`, so none can
    // miss an event of the burst however late its stream is set up.
    let url = format!("{}/api/v1/events", plan.base_url.trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .http1_only()
        .connect_timeout(Duration::from_secs(30))
        .build()?;
    let gate = Arc::new(Semaphore::new(plan.connect_parallelism.max(1)));
    let (connected_tx, mut connected_rx) = mpsc::channel(plan.clients.max(1));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = Vec::with_capacity(plan.clients);
    for c in 0..plan.clients {
        let client = Client {
            http: http.clone(),
            url: url.clone(),
            seq_before,
            epoch,
            expected: plan.events,
            check_data: c == 0,
            reconnect_delay: plan.reconnect_delay,
        };
        let (gate, connected, stop) = (gate.clone(), connected_tx.clone(), stop_rx.clone());
        handles.push(tokio::spawn(client.follow(gate, connected, stop)));
    }
    drop(connected_tx);
    let mut failed = Vec::new();
    for _ in 0..plan.clients {
        match tokio::time::timeout(Duration::from_secs(120), connected_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => failed.push(e),
            Ok(None) | Err(_) => {
                failed.push("not connected within 120 s".into());
                break;
            }
        }
    }
    if !failed.is_empty() {
        let _ = stop_tx.send(true);
        bail!(
            "{} of {} clients could not open the stream; first error: {}",
            failed.len(),
            plan.clients,
            failed[0]
        );
    }
    let connect_s = epoch.elapsed().as_secs_f64();
    eprintln!(
        "events: {} clients connected in {connect_s:.1} s",
        plan.clients
    );
    let server_connected = process::server(plan.server_pid);
    let own_before = Usage::of(None)?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The burst.
    let writer = Writer::new(pool.clone());
    let burst_start = epoch.elapsed();
    let mut batches = Vec::new();
    let (mut written, mut next) = (0, 0);
    while written < plan.events {
        let n = plan.batch.min(plan.events - written);
        let chunk: Vec<i32> = (0..n).map(|k| ids[(next + k) % ids.len()]).collect();
        next += n;
        let commit = writer.flip_resolved(&chunk).await?;
        let Some(last_outbox_id) = commit.last_outbox_id else {
            bail!("a batch of {n} changes queued no message");
        };
        written += commit.messages;
        batches.push(Batch {
            last_outbox_id,
            committed_us: micros(commit.at.duration_since(epoch)),
        });
    }
    let write_s = (epoch.elapsed() - burst_start).as_secs_f64();
    eprintln!(
        "events: {written} state changes committed in {} transactions in {write_s:.1} s",
        batches.len()
    );

    // Drain: clients stop after `events` events, or at the deadline.
    tokio::spawn(async move {
        tokio::time::sleep(plan.drain_timeout).await;
        let _ = stop_tx.send(true);
    });
    let mut received = Vec::with_capacity(handles.len());
    for h in handles {
        received.push(h.await?);
    }
    let server_after = process::server(plan.server_pid);
    let own_after = Usage::of(None)?;

    // seq → (index in the burst, commit instant).
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, seq FROM message_outbox WHERE id > $1 ORDER BY id")
            .bind(id_before)
            .fetch_all(&pool)
            .await?;
    let mut burst: HashMap<u32, (u32, u32)> = HashMap::with_capacity(rows.len());
    for (index, (id, seq)) in rows.iter().enumerate() {
        let seq = seq.with_context(|| format!("outbox row {id} has no seq after commit"))?;
        let batch = &batches[batches.partition_point(|b| b.last_outbox_id < *id)];
        burst.insert(
            u32::try_from(seq - seq_before)?,
            (index as u32, batch.committed_us),
        );
    }
    let figures = tally(&received, &burst);
    let drain_s = (f64::from(figures.last_delivery_us) / 1e6 - burst_start.as_secs_f64()).max(0.0);
    eprintln!(
        "events: delivered in {drain_s:.1} s; {} missing, {} duplicated",
        figures.missing, figures.duplicated
    );
    let mut latencies = figures.latencies_us;
    latencies.sort_unstable();
    let latency = |p: f64| (!latencies.is_empty()).then(|| us_to_ms(quantile(&latencies, p)));
    Ok(json!({
        "clients": plan.clients,
        "events": written,
        "batch": plan.batch,
        "connect_s": round1(connect_s),
        "write_s": round1(write_s),
        "drain_s": round1(drain_s),
        "deliveries_per_s": round1(latencies.len() as f64 / drain_s.max(1e-9)),
        "latency_ms": {"p50": latency(0.5), "p99": latency(0.99), "max": latency(1.0)},
        "received_per_client": {"min": figures.min_received, "max": figures.max_received},
        "missing": figures.missing,
        "duplicated": figures.duplicated,
        "unexpected": figures.unexpected,
        "bad_data": figures.bad_data,
        "dropped_streams": figures.drops,
        "reconnects": figures.reconnects,
        "client_errors": figures.errors,
        "first_client_error": figures.first_error,
        "server": {
            "before": process::json(server_before, None),
            "connected": process::json(server_connected, server_before),
            "after": process::json(server_after, server_connected),
        },
        "client": own_after.json(Some(&own_before)),
    }))
}

/// The figures of all clients together.
struct Tally {
    /// Delivery latency of each first delivery of a burst event, µs.
    latencies_us: Vec<u32>,
    last_delivery_us: u32,
    min_received: usize,
    max_received: usize,
    /// Burst events a client never received, summed over clients.
    missing: usize,
    /// Second and later deliveries of an event to a client, summed.
    duplicated: usize,
    /// Events after the burst started that are not of the burst.
    unexpected: usize,
    bad_data: usize,
    /// Streams that ended early, and reopened ones, summed.
    drops: usize,
    reconnects: usize,
    /// Clients that met an error, and the first error.
    errors: usize,
    first_error: Option<String>,
}

/// Checks each client's events against the burst (`seq offset →
/// (index, commit µs)`).
fn tally(received: &[Received], burst: &HashMap<u32, (u32, u32)>) -> Tally {
    let mut t = Tally {
        latencies_us: Vec::with_capacity(received.len() * burst.len()),
        last_delivery_us: 0,
        min_received: usize::MAX,
        max_received: 0,
        missing: 0,
        duplicated: 0,
        unexpected: 0,
        bad_data: 0,
        drops: 0,
        reconnects: 0,
        errors: 0,
        first_error: None,
    };
    let mut seen = vec![false; burst.len()];
    for r in received {
        seen.iter_mut().for_each(|s| *s = false);
        let mut distinct = 0;
        for &(seq, at) in &r.events {
            let Some(&(index, committed)) = burst.get(&seq) else {
                t.unexpected += 1;
                continue;
            };
            if std::mem::replace(&mut seen[index as usize], true) {
                t.duplicated += 1;
                continue;
            }
            distinct += 1;
            t.latencies_us.push(at.saturating_sub(committed));
            t.last_delivery_us = t.last_delivery_us.max(at);
        }
        t.missing += burst.len() - distinct;
        t.min_received = t.min_received.min(r.events.len());
        t.max_received = t.max_received.max(r.events.len());
        t.bad_data += r.bad_data;
        t.drops += r.drops;
        t.reconnects += r.reconnects;
        if let Some(e) = &r.error {
            t.errors += 1;
            t.first_error.get_or_insert_with(|| e.clone());
        }
    }
    if received.is_empty() {
        t.min_received = 0;
    }
    t
}
