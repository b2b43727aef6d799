//! Small statistics of measured figures.

use std::time::Duration;

/// `x` rounded to one decimal.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The element at quantile `p` (0–1, nearest rank) of a sorted, non-empty
/// slice.
pub fn quantile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Milliseconds of `d`, rounded to one decimal.
pub fn ms(d: Duration) -> f64 {
    round1(d.as_secs_f64() * 1000.0)
}

/// Milliseconds of `us` microseconds, rounded to one decimal.
pub fn us_to_ms(us: u32) -> f64 {
    round1(f64::from(us) / 1000.0)
}

/// `d` in whole microseconds (the benchmark lasts far less than 71 minutes).
pub fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
