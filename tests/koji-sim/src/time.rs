//! Clock helpers: the current time as Koji's float timestamps, and Koji's text
//! format of a timestamp.

/// Seconds since the epoch.
pub fn now_ts() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Koji's time format, `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
pub fn koji_time(ts: f64) -> String {
    let secs = ts.floor() as i64;
    let micros = ((ts - ts.floor()) * 1e6).round().min(999_999.0) as u32;
    chrono::DateTime::from_timestamp(secs, micros * 1000)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}
