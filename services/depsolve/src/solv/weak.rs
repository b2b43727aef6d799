//! Weak dependencies kept out of the solver's rules, but not out of its choices.
//!
//! With libsolv's ignore-recommended flag (hawkey's `ignore_weak_deps`, which the original
//! uses) no weak dependency is installed, yet libsolv still builds rules for everything
//! Recommends/Suggests reach and for every package whose Supplements/Enhances could apply,
//! which makes a solve on a distribution about 30× slower. Its policy meanwhile prefers,
//! among the providers of a requirement, those an installed package recommends or
//! suggests, or that supplement or enhance an installed package (`prune_to_recommended`,
//! `prefer_suggested` and the auto-minimization step of `policy.c`/`solver.c`). Solving
//! without the weak arrays is fast but loses those preferences, so it can choose another
//! provider than the original.
//!
//! A pool can therefore *hide* its weak arrays ([`Pool::hide_weak_deps`]): libsolv builds
//! its package rules without them, and they are put back as soon as the rules exist (on
//! the first "job:" message libsolv prints, through its debug callback, after sorting the
//! package rules and before the job rules and the search), so that the search and its
//! policy see them; they are hidden again when the solve returns.
//! The answer is the one libsolv gives with them visible throughout:
//!
//! * The rules a visible solve has in addition concern packages that only weak
//!   dependencies reach. Such a package provides no requirement of a package the search
//!   can install (the requires closure would reach it), so with weak dependencies not
//!   installed it is never a candidate and never installed; its rules can only decide it
//!   out. libsolv sorts package rules by content, so the shared rules keep their order.
//! * What the policy reads — the weak arrays of installed packages and of candidates — is
//!   the same in both solves.
//!
//! The extra rules could still reorder propagation, which matters only to the conflict
//! analysis of a search that backtracks. So a solve that analysed a conflict (libsolv's
//! "ANALYZE" message) is repeated with the arrays visible, as are unresolvable requests
//! (their problem texts are then libsolv's on the visible pool) and any solve in which the
//! arrays were not put back (no job message: a libsolv that prints otherwise is slow, not
//! wrong). The tests pin both messages.

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use super::pool::{Id, Pool, SYSTEM_SOLVABLE};
use super::sys;
use super::weak_arrays::{on_debug_message, HiddenWeak, SolveStats, WeakSolveCounts, ALL, NONE};

impl Pool {
    /// Hide the weak arrays of every solvable from libsolv's rule building (see the module
    /// documentation). Call after [`Pool::create_whatprovides`], so file provides are
    /// indexed as with them visible.
    pub fn hide_weak_deps(&mut self) {
        let mut arrays = Vec::new();
        for id in SYSTEM_SOLVABLE + 1..self.nsolvables() as Id {
            let s = self.solvable(id).expect("id < nsolvables");
            let offsets = [s.recommends, s.suggests, s.supplements, s.enhances];
            if offsets != [0; 4] {
                arrays.push((id, offsets));
            }
        }
        let hidden = Box::new(HiddenWeak {
            arrays,
            shown: Cell::new(ALL),
            armed: Cell::new(false),
            stats: Cell::new(SolveStats::default()),
            counts: WeakSolveCounts::default(),
        });
        // SAFETY: raw is this pool, from which the arrays were just read, and &mut self
        // means nothing borrows its solvables.
        unsafe { hidden.show(self.raw.as_ptr(), NONE) };
        // SAFETY: valid pool; the callback data is the box, kept by the pool until it is
        // dropped, and `Pool`'s Drop frees the libsolv pool before its fields.
        unsafe {
            sys::pool_setdebugcallback(
                self.raw.as_ptr(),
                Some(on_debug_message),
                &*hidden as *const HiddenWeak as *mut c_void,
            );
            sys::pool_setdebugmask(
                self.raw.as_ptr(),
                (sys::SOLV_DEBUG_JOB | sys::SOLV_DEBUG_ANALYZE) as c_int,
            );
        }
        self.weak = Some(hidden);
    }

    /// Undo [`Pool::hide_weak_deps`]: every weak array visible to libsolv throughout, as
    /// in a plain libsolv pool.
    pub fn reveal_weak_deps(&mut self) {
        let raw = self.raw.as_ptr();
        if let Some(weak) = self.weak.take() {
            // SAFETY: raw is this pool and nothing borrows its solvables; the callback is
            // unregistered before its data (the box) is dropped.
            unsafe {
                weak.show(raw, ALL);
                sys::pool_setdebugcallback(raw, None, std::ptr::null_mut());
                sys::pool_setdebugmask(raw, 0);
            }
        }
    }

    /// Does this pool hide weak arrays (see [`Pool::hide_weak_deps`])?
    pub fn weak_deps_hidden(&self) -> bool {
        self.weak.is_some()
    }

    /// The counts of solves since the weak arrays were hidden (zero when they are not).
    pub fn weak_solve_counts(&self) -> WeakSolveCounts {
        self.weak.as_ref().map(|w| w.counts).unwrap_or_default()
    }

    /// Runs `f` on this pool with every weak array visible, as in a plain libsolv pool;
    /// hidden again afterwards.
    pub fn with_weak_deps_shown<R>(&mut self, f: impl FnOnce(&mut Pool) -> R) -> R {
        self.prepare_weak_deps(None);
        let result = f(self);
        self.finish_weak_deps();
        result
    }

    /// Before a solve: with `rules: Some(arrays)` only those arrays (bits, see [`ALL`])
    /// are shown while libsolv builds its package rules, and all of them from then on;
    /// with `None` they are all shown throughout.
    pub(super) fn prepare_weak_deps(&mut self, rules: Option<u8>) {
        let raw = self.raw.as_ptr();
        if let Some(weak) = self.weak.as_mut() {
            weak.stats.set(SolveStats::default());
            weak.armed.set(rules.is_some());
            // SAFETY: raw is this pool; &mut self means nothing borrows its solvables.
            unsafe { weak.show(raw, rules.unwrap_or(ALL)) };
        }
    }

    /// After a solve: hide the arrays again. True when a solve with arrays held back from
    /// rule building is libsolv's answer with them all shown (they were put back after
    /// rule building and the search did not backtrack).
    pub(super) fn finish_weak_deps(&mut self) -> bool {
        let raw = self.raw.as_ptr();
        let Some(weak) = self.weak.as_mut() else {
            return true;
        };
        weak.armed.set(false);
        // SAFETY: raw is this pool; &mut self means nothing borrows its solvables.
        unsafe { weak.show(raw, NONE) };
        let stats = weak.stats.get();
        stats.shown_after_rules && !stats.backtracked
    }

    /// Count an answered solve: `fast` with arrays held back from rule building, else
    /// repeated with all of them visible.
    pub(super) fn count_weak_solve(&mut self, fast: bool) {
        if let Some(weak) = self.weak.as_mut() {
            if fast {
                weak.counts.fast += 1;
            } else {
                weak.counts.repeated += 1;
            }
        }
    }
}
