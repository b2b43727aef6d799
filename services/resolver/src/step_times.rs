//! Step timing for the debug logs of the repo resolver's chunks.

/// Where the time of a chunk's loading or writing went, step by step (logged at debug
/// level).
pub struct StepTimes {
    last: std::time::Instant,
    steps: Vec<(&'static str, std::time::Duration)>,
}

impl StepTimes {
    /// Starts timing the first step.
    pub fn start() -> Self {
        StepTimes {
            last: std::time::Instant::now(),
            steps: Vec::new(),
        }
    }

    /// Ends the current step, named `step`, and starts the next.
    pub fn mark(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        self.steps.push((step, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for StepTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, d)) in self.steps.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{step} {:.1} ms", d.as_secs_f64() * 1e3)?;
        }
        Ok(())
    }
}
