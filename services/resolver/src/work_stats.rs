//! What one [`crate::repo_resolver::process_work`] call did, and the summary line the
//! service logs after it.

use std::time::Duration;

use crate::dependency_cache::CacheStats;
use crate::package_persist::{DependencySet, PackageOutcome, PersistStats};

/// Totals of one [`process_work`](crate::repo_resolver::process_work) call.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkStats {
    /// Chunks persisted.
    pub chunks: usize,
    /// Packages resolved (solved or reused).
    pub resolved: usize,
    /// Of those, solved in chunks of an incremental pass.
    pub resolved_again: usize,
    /// Of those, reused from the previous repo without solving.
    pub reused: usize,
    /// Of those, carried over as dependency ids (the others as NEVRAs: a member's id
    /// was not known).
    pub reused_by_id: usize,
    /// What persisting did (`persist.unchanged`: packages left without any write).
    pub persist: PersistStats,
    /// Time spent waiting for chunks to be claimed and loaded (BuildRequires,
    /// incremental planning).
    pub loading: Duration,
    /// Time spent waiting for the solver threads.
    pub waiting: Duration,
    /// Time spent writing chunks (summed over the writes under way at once).
    pub persisting: Duration,
}

impl WorkStats {
    /// Counts a chunk's outcomes carried over from the previous repo.
    pub(crate) fn count_reused(&mut self, reused: &[PackageOutcome]) {
        self.reused += reused.len();
        self.reused_by_id += reused
            .iter()
            .filter(|o| matches!(o.dependencies, DependencySet::Ids(_)))
            .count();
    }

    /// Logs the summary of a call that persisted chunks for `took`, with up to
    /// `max_writes` chunks written at once.
    pub(crate) fn log_summary(&self, took: Duration, max_writes: usize, cache: CacheStats) {
        let secs = took.as_secs_f64();
        let p = &self.persist;
        tracing::info!(
            "resolved {} packages in {} chunks, {:.1}s ({:.0} pkgs/min): \
             re-solved {} in incremental passes and {} in full ones, reused {} without solving \
             ({} carried over by dependency id); \
             {} unchanged (no writes), {} written, {} discarded, {} resolution changes, \
             {} messages, {} unapplied changes; loading {:.1}s, waiting for solvers {:.1}s, \
             writing {:.1}s (up to {max_writes} chunks at once); dependency cache {cache:?}",
            self.resolved,
            self.chunks,
            secs,
            self.resolved as f64 * 60.0 / secs.max(1e-9),
            self.resolved_again,
            self.resolved
                .saturating_sub(self.reused + self.resolved_again),
            self.reused,
            self.reused_by_id,
            p.unchanged,
            p.persisted - p.unchanged,
            p.discarded,
            p.resolution_changes,
            p.messages,
            p.changes,
            self.loading.as_secs_f64(),
            self.waiting.as_secs_f64(),
            self.persisting.as_secs_f64(),
        );
    }
}
