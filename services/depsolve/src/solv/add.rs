//! Solvables made from data instead of repository files: the binaries of a rebuild as
//! Koji reports their headers (`crate::rebuild`).

use super::pool::{Id, Pool};
use super::repo::RepoHandle;
use super::sys;

/// One solvable to add: name, `[E:]V-R`, arch and its dependency arrays as ids of this
/// pool (plain names, relations or rich dependencies).
#[derive(Debug, Clone, Default)]
pub struct NewSolvable {
    pub name: Id,
    pub evr: Id,
    pub arch: Id,
    pub provides: Vec<Id>,
    pub requires: Vec<Id>,
    pub conflicts: Vec<Id>,
    pub obsoletes: Vec<Id>,
}

impl Pool {
    /// Adds `s` to `repo` and returns its id. Call [`Pool::create_whatprovides`] before
    /// solving.
    pub fn add_solvable(&mut self, repo: RepoHandle, s: &NewSolvable) -> Id {
        let repo_ptr = self.repo_ptr(repo);
        // SAFETY: valid repo of this pool; the new solvable's index is returned.
        let id = unsafe { sys::repo_add_solvable(repo_ptr) };
        let add = |deps: &[Id], mut offset: sys::Offset| {
            for &dep in deps {
                // SAFETY: valid repo; ids belong to this pool; the offset is the
                // array's current one (0 for a new array).
                offset = unsafe { sys::repo_addid_dep(repo_ptr, offset, dep, 0) };
            }
            offset
        };
        let provides = add(&s.provides, 0);
        let requires = add(&s.requires, 0);
        let conflicts = add(&s.conflicts, 0);
        let obsoletes = add(&s.obsoletes, 0);
        // SAFETY: `id` was just allocated in the pool's solvable array (`&mut self`: no
        // other reference into the pool exists).
        let solvable = unsafe { &mut *(*self.raw.as_ptr()).solvables.add(id as usize) };
        solvable.name = s.name;
        solvable.evr = s.evr;
        solvable.arch = s.arch;
        solvable.provides = provides;
        solvable.requires = requires;
        solvable.conflicts = conflicts;
        solvable.obsoletes = obsoletes;
        id
    }

    /// Removes a repo and its solvables (their ids are reused: the repo must be the last
    /// one added). Call [`Pool::create_whatprovides`] before solving again.
    pub fn free_repo(&mut self, repo: RepoHandle) {
        // SAFETY: valid repo of this pool; no handle to it or its solvables is used after
        // this (the handle is consumed by the caller's contract).
        unsafe { sys::repo_free(self.repo_ptr(repo), 1) };
    }

    /// Sets a repo's priority: libsolv prefers the providers of higher-priority repos.
    pub fn set_priority(&mut self, repo: RepoHandle, priority: i32) {
        // SAFETY: valid repo pointer of this pool.
        unsafe { (*self.repo_ptr(repo)).priority = priority };
    }
}
