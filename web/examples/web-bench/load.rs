//! Concurrent HTTP clients on a set of URLs ([`measure`]), and
//! `web-bench load`: the package list, a package page and
//! `/api/v1/packages`, one after another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::stats::{ms, quantile, round1};

/// Name of benchmark package `i` (1-based), as `seed` names them.
pub fn package_name(i: i32) -> String {
    format!("pkg-{i:05}")
}

/// A URL to request, counted under its kind (an index into the kinds
/// measured together).
pub struct Target {
    pub kind: usize,
    pub url: String,
}

/// Latencies of the kinds of requests measured together.
pub struct Measurement {
    /// Successful requests' latencies, sorted, by kind.
    pub latencies: Vec<Vec<Duration>>,
    /// Failed requests (error or non-2xx status), by kind.
    pub errors: Vec<usize>,
    pub elapsed: Duration,
}

impl Measurement {
    /// `{"p50_ms", "p99_ms", "rps"}` of `kind` (null percentiles without a
    /// successful request).
    pub fn figures(&self, kind: usize) -> Value {
        let l = &self.latencies[kind];
        let rps = l.len() as f64 / self.elapsed.as_secs_f64();
        json!({
            "p50_ms": (!l.is_empty()).then(|| ms(quantile(l, 0.5))),
            "p99_ms": (!l.is_empty()).then(|| ms(quantile(l, 0.99))),
            "rps": round1(rps),
        })
    }
}

/// A stop signal raised after `duration`.
pub fn stop_after(duration: Duration) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        let _ = tx.send(true);
    });
    rx
}

/// Requests `targets` with `concurrency` clients until `stop` is raised:
/// client `w` requests targets `w`, `w + concurrency`, … cyclically.
pub async fn measure(
    client: &reqwest::Client,
    targets: Arc<Vec<Target>>,
    kinds: usize,
    concurrency: usize,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Measurement> {
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let targets = targets.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = vec![Vec::new(); kinds];
            let mut errors = vec![0; kinds];
            let mut i = w;
            while !*stop.borrow() {
                let target = &targets[i % targets.len()];
                i += concurrency;
                let t = Instant::now();
                let ok = match client.get(&target.url).send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                if ok {
                    latencies[target.kind].push(t.elapsed());
                } else {
                    errors[target.kind] += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut m = Measurement {
        latencies: vec![Vec::new(); kinds],
        errors: vec![0; kinds],
        elapsed: Duration::ZERO,
    };
    for w in workers {
        let (latencies, errors) = w.await?;
        for k in 0..kinds {
            m.latencies[k].extend(&latencies[k]);
            m.errors[k] += errors[k];
        }
    }
    m.elapsed = started.elapsed();
    m.latencies.iter_mut().for_each(|l| l.sort());
    Ok(m)
}

/// An HTTP client for `concurrency` parallel requests.
pub fn http_client(concurrency: usize) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()
}

/// Package pages of about 500 packages spread over the whole set.
pub fn package_pages(base: &str, packages: i32) -> Vec<String> {
    let step = (packages / 500).max(1);
    (1..=packages)
        .step_by(step as usize)
        .map(|i| format!("{base}/package/{}", package_name(i)))
        .collect()
}

/// Every page of 100 packages of `/api/v1/packages`.
pub fn api_pages(base: &str, packages: i32) -> Vec<String> {
    (1..=(packages.max(1) + 99) / 100)
        .map(|p| format!("{base}/api/v1/packages?page={p}&per_page=100"))
        .collect()
}

/// `web-bench load`: each endpoint for `duration` after a 2 s warm-up;
/// returns `{"<endpoint>": {"p50_ms", "p99_ms", "rps"}}`.
pub async fn load(
    base: &str,
    concurrency: usize,
    duration: Duration,
    packages: i32,
) -> anyhow::Result<Value> {
    let client = http_client(concurrency)?;
    let base = base.trim_end_matches('/');
    let endpoints: [(&str, Vec<String>); 4] = [
        ("package_list", vec![format!("{base}/packages")]),
        ("package_page", package_pages(base, packages)),
        ("api_page", api_pages(base, packages)),
        ("api_packages", vec![format!("{base}/api/v1/packages")]),
    ];
    let mut out = serde_json::Map::new();
    for (name, urls) in endpoints {
        let targets: Arc<Vec<Target>> = Arc::new(
            urls.into_iter()
                .map(|url| Target { kind: 0, url })
                .collect(),
        );
        // Warm up connections and caches.
        let warm_up = stop_after(Duration::from_secs(2));
        measure(&client, targets.clone(), 1, concurrency, warm_up).await?;
        let m = measure(
            &client,
            targets.clone(),
            1,
            concurrency,
            stop_after(duration),
        )
        .await?;
        eprintln!(
            "{name}: {} requests, {} errors in {:.1?}",
            m.latencies[0].len(),
            m.errors[0],
            m.elapsed
        );
        if m.latencies[0].is_empty() {
            bail!("no successful request to {}", targets[0].url);
        }
        out.insert(name.to_string(), m.figures(0));
    }
    Ok(Value::Object(out))
}
