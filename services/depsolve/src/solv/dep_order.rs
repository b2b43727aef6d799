//! The order of the dependency arrays that steer libsolv's decisions, made the same in
//! every pool of the same packages.
//!
//! libsolv takes a package's Recommends in array order (the first decides which provider
//! a shared capability gets) and builds its rules in Requires order. A `.solv` file stores
//! each array sorted by its own numbering of strings, most used first, which depends on
//! everything else the file holds: a file with part of a repository (a reach,
//! `reach.rs`) orders some arrays differently from the whole repository's file, and then
//! libsolv may decide differently. So every pool sorts these arrays by the ids its whole
//! repository's pool gives their dependencies: the whole pool by its own ids (its file's
//! order: the pool numbers strings and relations in the order the file lists them), a
//! part by the whole pool's ids.

use std::collections::HashMap;

use super::pool::{Id, Pool, PREREQ_MARKER};
use super::repo::RepoHandle;
use super::sys;

impl Pool {
    /// Sort the Requires (each side of the pre-requires marker) and the Recommends of
    /// every solvable of `repo` by `key`, an id taken as unsigned (stable).
    pub fn sort_dep_arrays(&mut self, repo: RepoHandle, mut key: impl FnMut(&Pool, Id) -> Id) {
        let raw = self.repo_ptr(repo);
        let mut deps: Vec<(Id, Id)> = Vec::new();
        for id in self.repo_range(repo) {
            let Some(s) = self.solvable(id) else { continue };
            if s.repo != raw {
                continue;
            }
            for offset in [s.requires, s.recommends] {
                if offset == 0 {
                    continue;
                }
                // SAFETY: a non-zero dependency offset of a solvable of this repo points at
                // a 0-terminated array in the repo's idarraydata; it is read here and
                // written below only within its bounds, and nothing borrows it (&mut self;
                // `key` gets the pool shared, between those accesses).
                let (start, len) = unsafe {
                    let start = (*raw).idarraydata.add(offset as usize);
                    let mut n = 0usize;
                    while *start.add(n) != 0 {
                        n += 1;
                    }
                    (start, n)
                };
                let mut from = 0;
                while from < len {
                    // SAFETY: from < len, within the array.
                    let to = (from..len)
                        .find(|&i| unsafe { *start.add(i) } == PREREQ_MARKER)
                        .unwrap_or(len);
                    if to - from > 1 {
                        deps.clear();
                        for i in from..to {
                            // SAFETY: i < len.
                            let d = unsafe { *start.add(i) };
                            deps.push((key(self, d), d));
                        }
                        // unsigned: strings before relations, as a `.solv` file numbers them
                        deps.sort_by_key(|&(k, _)| k as u32);
                        for (i, &(_, d)) in (from..to).zip(&deps) {
                            // SAFETY: i < len; see above.
                            unsafe { *start.add(i) = d };
                        }
                    }
                    from = to + 1;
                }
            }
        }
    }

    /// A function giving the id in `whole` of a string or relation of this pool (0 when
    /// `whole` has none), remembering what it looked up.
    pub fn ids_in(whole: &mut Pool) -> impl FnMut(&Pool, Id) -> Id + '_ {
        let mut known: HashMap<Id, Id> = HashMap::new();
        move |pool, id| translate(pool, id, whole, &mut known)
    }
}

fn translate(pool: &Pool, id: Id, whole: &mut Pool, known: &mut HashMap<Id, Id>) -> Id {
    if let Some(&w) = known.get(&id) {
        return w;
    }
    let w = match pool.rel_parts(id) {
        Some((name, evr, flags)) => {
            let (name, evr) = (
                translate(pool, name, whole, known),
                translate(pool, evr, whole, known),
            );
            if name == 0 || evr == 0 {
                0
            } else {
                // SAFETY: valid pool; ids of `whole`; create = 0 only looks up.
                unsafe { sys::pool_rel2id(whole.raw.as_ptr(), name, evr, flags, 0) }
            }
        }
        None => whole.str2id(pool.id2str(id), false),
    };
    known.insert(id, w);
    w
}
