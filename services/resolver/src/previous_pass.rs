//! The raw results of the last installability pass this instance stored for each
//! collection (binaries, install sets), kept in memory for the next repo's incremental
//! pass (`koschei_depsolve::installability_incremental`). Another instance having stored
//! a repo since, or a restart, means a full pass: the entry is used only when its repo is
//! the collection's `installability_repo_id`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use koschei_depsolve::{Installability, SolvFile};

/// One stored pass.
#[derive(Clone)]
pub struct PreviousPass {
    pub repo_id: i32,
    /// The repo's `.solv` file (the pass falls back to a full one when it is gone).
    pub solv: SolvFile,
    pub results: Arc<Vec<Installability>>,
}

/// The last stored pass per collection id.
#[derive(Default)]
pub struct PassCache(Mutex<HashMap<i32, PreviousPass>>);

impl PassCache {
    /// The collection's last pass when it was of `repo_id`.
    pub fn get(&self, collection_id: i32, repo_id: Option<i32>) -> Option<PreviousPass> {
        let passes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        passes
            .get(&collection_id)
            .filter(|p| Some(p.repo_id) == repo_id)
            .cloned()
    }

    /// Remembers a stored pass (`None`: forget the collection's).
    pub fn set(&self, collection_id: i32, pass: Option<PreviousPass>) {
        let mut passes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match pass {
            Some(p) => passes.insert(collection_id, p),
            None => passes.remove(&collection_id),
        };
    }
}
