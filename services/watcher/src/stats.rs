//! Counters of what the watcher did, logged periodically and at exit and
//! read by tests and the benchmark.

use std::sync::atomic::{AtomicU64, Ordering};

/// Message counters (monotonic).
#[derive(Debug, Default)]
pub struct Stats {
    /// Deliveries received.
    pub received: AtomicU64,
    /// Deliveries after the first of a message (redelivered flag,
    /// `x-delivery-count` or requeued by this process).
    pub redelivered: AtomicU64,
    /// Events applied and acknowledged.
    pub applied: AtomicU64,
    /// Well-formed messages that were not for us, acknowledged.
    pub ignored: AtomicU64,
    /// Malformed or permanently failing messages, rejected.
    pub rejected: AtomicU64,
    /// Transient failures retried.
    pub retried: AtomicU64,
    /// Outbox rows published and confirmed by the broker.
    pub published: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub received: u64,
    pub redelivered: u64,
    pub applied: u64,
    pub ignored: u64,
    pub rejected: u64,
    pub retried: u64,
    pub published: u64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            received: get(&self.received),
            redelivered: get(&self.redelivered),
            applied: get(&self.applied),
            ignored: get(&self.ignored),
            rejected: get(&self.rejected),
            retried: get(&self.retried),
            published: get(&self.published),
        }
    }
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "received={} redelivered={} applied={} ignored={} rejected={} retried={} published={}",
            self.received,
            self.redelivered,
            self.applied,
            self.ignored,
            self.rejected,
            self.retried,
            self.published
        )
    }
}
