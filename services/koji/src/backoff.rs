//! Exponential back-off between retries: the one policy (built on the `backon` crate)
//! that every retrying part of Koschei uses — Koji calls, the database connection,
//! the broker connection, message handling and the service loop.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Delays that start at `first` and double after each retry, up to `cap` (none:
/// unbounded); no jitter and no limit on the number of retries (callers bound
/// their retries themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay before the first retry.
    pub first: Duration,
    /// The longest delay.
    pub cap: Option<Duration>,
}

impl BackoffPolicy {
    /// Doubling from `first` up to `cap`.
    pub const fn capped(first: Duration, cap: Duration) -> BackoffPolicy {
        BackoffPolicy {
            first,
            cap: Some(cap),
        }
    }

    /// Doubling from `first` without bound.
    pub const fn uncapped(first: Duration) -> BackoffPolicy {
        BackoffPolicy { first, cap: None }
    }

    /// The policy as a `backon` builder.
    pub fn builder(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::new()
            .with_min_delay(self.first)
            .with_factor(2.0)
            .without_max_times();
        match self.cap {
            Some(cap) => builder.with_max_delay(cap),
            None => builder.without_max_delay(),
        }
    }

    /// A fresh sequence of delays.
    pub fn start(&self) -> Backoff {
        Backoff {
            policy: *self,
            delays: self.builder().build(),
        }
    }
}

/// The delays of one run of retries under a [`BackoffPolicy`].
#[derive(Debug)]
pub struct Backoff {
    policy: BackoffPolicy,
    delays: ExponentialBackoff,
}

impl Backoff {
    /// The pause before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        // Without a limit on retries or total time, the sequence never ends.
        self.delays
            .next()
            .unwrap_or(self.policy.cap.unwrap_or(Duration::MAX))
    }

    /// Starts again from the first delay (after an attempt succeeded).
    pub fn reset(&mut self) {
        *self = self.policy.start();
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(policy: BackoffPolicy, n: usize) -> Vec<u128> {
        policy.start().take(n).map(|d| d.as_millis()).collect()
    }

    #[test]
    fn delays_double_to_the_cap_and_reset() {
        let policy = BackoffPolicy::capped(Duration::from_millis(500), Duration::from_secs(30));
        assert_eq!(
            millis(policy, 9),
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        let mut b = policy.start();
        b.next_delay();
        b.next_delay();
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn delays_are_exact_for_small_and_large_intervals() {
        let policy = BackoffPolicy::capped(Duration::from_millis(5), Duration::from_millis(20));
        assert_eq!(millis(policy, 5), [5, 10, 20, 20, 20]);
        let policy = BackoffPolicy::capped(Duration::from_secs(2), Duration::from_secs(64));
        let secs: Vec<u64> = policy.start().take(8).map(|d| d.as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 64, 64]);
        // Many retries later the delay is still the cap.
        assert_eq!(policy.start().nth(10_000), Some(Duration::from_secs(64)));
    }

    #[test]
    fn uncapped_delays_keep_doubling() {
        let policy = BackoffPolicy::uncapped(Duration::from_millis(50));
        assert_eq!(millis(policy, 6), [50, 100, 200, 400, 800, 1600]);
        assert_eq!(policy.start().nth(200), Some(Duration::MAX));
    }
}
