//! The data of a reach (`reach.rs`): its `.solv` file with the map back to the whole
//! repository, and how solves used it.

use std::path::PathBuf;

/// The reach of a pass written as its own `.solv` file (removed when dropped).
#[derive(Debug)]
pub(crate) struct ReachFile {
    pub(crate) path: PathBuf,
    /// Architecture its pool resolves for.
    pub(crate) arch: String,
    /// Package index in the whole repository of each package of the reach, ascending.
    pub(crate) indices: Vec<u32>,
}

impl PartialEq for ReachFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl Eq for ReachFile {}

impl Drop for ReachFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How the solves of a sack with a reach went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReachCounts {
    /// Solved in a reach.
    pub solved: u64,
    /// Of those, solved in a reach cut for a batch (`Sack::narrow_reach`).
    pub solved_narrow: u64,
    /// Solved in the whole pool: a job selecting other packages in the reach, a request
    /// with problems, or a search that backtracked.
    pub whole_pool: u64,
    /// Reaches cut from the pass's for the requests coming next (`Sack::narrow_reach`).
    pub narrowed: u64,
}
