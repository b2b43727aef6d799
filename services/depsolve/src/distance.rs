//! Dependency distances (`compute_dependency_distances` in the original's
//! `koschei/backend/depsolve.py`), computed on libsolv ids.
//!
//! Level 1 is every package matching a BuildRequire (candidates, not only the chosen
//! ones); each next level is every package providing a Requires of the previous level's
//! not yet visited packages. An installed package gets the first level on which a package
//! of the same *name* appears; levels stop at 4. Everything is done with solvable and
//! dependency ids, stamp arrays instead of sets, and an early exit once every installed
//! name has its distance — Koschei's slowest step (upstream #255) becomes a few
//! microseconds of array walking.

use std::collections::HashMap;

use crate::solv::{DepKind, Id, Pool};

/// Deepest distance reported.
pub const MAX_DISTANCE: u8 = 4;

/// Reusable buffers: per-solvable stamps (generation counters) and level vectors.
pub(crate) struct Scratch {
    generation: u32,
    on_level: Vec<u32>,
    visited: Vec<u32>,
    seen_deps: std::collections::HashSet<Id>,
    current: Vec<Id>,
    next: Vec<Id>,
    reqs: Vec<Id>,
}

impl Scratch {
    pub(crate) fn new(nsolvables: usize) -> Self {
        Scratch {
            generation: 0,
            on_level: vec![0; nsolvables],
            visited: vec![0; nsolvables],
            seen_deps: Default::default(),
            current: Vec::new(),
            next: Vec::new(),
            reqs: Vec::new(),
        }
    }

    fn next_generation(&mut self, nsolvables: usize) -> u32 {
        if self.on_level.len() < nsolvables {
            self.on_level.resize(nsolvables, 0);
            self.visited.resize(nsolvables, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.on_level.iter_mut().for_each(|x| *x = 0);
            self.visited.iter_mut().for_each(|x| *x = 0);
            self.generation = 1;
        }
        self.seen_deps.clear();
        self.generation
    }
}

/// Distances of `installed` (parallel output vector), given the level-1 candidates.
pub(crate) fn compute(
    pool: &mut Pool,
    scratch: &mut Scratch,
    level1: &[Id],
    installed: &[Id],
) -> Vec<Option<u8>> {
    let gen = scratch.next_generation(pool.nsolvables());
    // name id -> distance (0 = none yet) for installed packages
    let mut by_name: HashMap<Id, u8> = installed
        .iter()
        .map(|&p| (pool.solvable_name(p), 0u8))
        .collect();
    let mut unassigned = by_name.len();

    let mut current = std::mem::take(&mut scratch.current);
    let mut next = std::mem::take(&mut scratch.next);
    let mut reqs = std::mem::take(&mut scratch.reqs);
    current.clear();
    // level stamps: on_level[p] == gen * 8 + level marks membership of the level being built
    let level_stamp = |p: Id, level: u8, on_level: &mut Vec<u32>| -> bool {
        let stamp = gen.wrapping_mul(8).wrapping_add(level as u32);
        let slot = &mut on_level[p as usize];
        if *slot == stamp {
            false
        } else {
            *slot = stamp;
            true
        }
    };
    for &p in level1 {
        if level_stamp(p, 1, &mut scratch.on_level) {
            current.push(p);
        }
    }
    let mut level: u8 = 1;
    while !current.is_empty() && unassigned > 0 {
        for &p in &current {
            if let Some(d) = by_name.get_mut(&pool.solvable_name(p)) {
                if *d == 0 {
                    *d = level;
                    unassigned -= 1;
                }
            }
        }
        level += 1;
        if level > MAX_DISTANCE || unassigned == 0 {
            break;
        }
        reqs.clear();
        for &p in &current {
            let slot = &mut scratch.visited[p as usize];
            if *slot == gen {
                continue;
            }
            *slot = gen;
            for req in pool.solvable_deps(p, DepKind::Requires) {
                if scratch.seen_deps.insert(req) {
                    reqs.push(req);
                }
            }
        }
        next.clear();
        for &req in &reqs {
            for &q in pool.whatprovides(req) {
                // an already expanded package was on an earlier level: nothing new
                if scratch.visited[q as usize] == gen {
                    continue;
                }
                if level_stamp(q, level, &mut scratch.on_level) {
                    next.push(q);
                }
            }
        }
        std::mem::swap(&mut current, &mut next);
    }
    scratch.current = current;
    scratch.next = next;
    scratch.reqs = reqs;
    installed
        .iter()
        .map(|&p| match by_name[&pool.solvable_name(p)] {
            0 => None,
            d => Some(d),
        })
        .collect()
}
