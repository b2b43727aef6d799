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
use std::ffi::{c_char, c_int, c_void, CStr};

use super::pool::{Id, Pool, SYSTEM_SOLVABLE};
use super::sys;

/// No weak array.
pub(super) const NONE: u8 = 0;
/// The arrays whose packages libsolv installs when weak dependencies are not ignored:
/// Recommends and Supplements (Suggests and Enhances only steer choices).
pub(super) const INSTALLABLE: u8 = 0b0101;
/// Recommends, Suggests, Supplements, Enhances.
pub(super) const ALL: u8 = 0b1111;

/// What libsolv's debug messages said about one solve.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SolveStats {
    /// The weak arrays were put back after rule creation (on the first job message).
    shown_after_rules: bool,
    /// A conflict was analysed (the search backtracked and learnt a rule).
    backtracked: bool,
}

/// The weak arrays of a pool whose solvables show none to libsolv outside a solve's
/// search.
pub(super) struct HiddenWeak {
    /// Solvables with weak arrays and their Recommends, Suggests, Supplements, Enhances
    /// offsets.
    arrays: Vec<(Id, [sys::Offset; 4])>,
    /// Which of the four arrays are in the solvables now (bit per array, [`ALL`]…).
    shown: Cell<u8>,
    /// Show every array on the next job message.
    armed: Cell<bool>,
    /// Statistics of the current solve.
    stats: Cell<SolveStats>,
    /// Solves answered with hidden rules, and solves repeated with visible arrays.
    counts: WeakSolveCounts,
}

/// How the solves of a pool with hidden weak arrays went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WeakSolveCounts {
    /// Solved with rules built without weak dependencies.
    pub fast: u64,
    /// Repeated with the weak dependencies visible throughout (the search backtracked,
    /// or the request is unresolvable).
    pub repeated: u64,
}

impl HiddenWeak {
    /// Put the arrays of `shown` (bits, see [`ALL`]) into the pool's solvables and take
    /// the others out.
    ///
    /// # Safety
    /// `pool` is the live pool these arrays were taken from, and nothing borrows its
    /// solvable array.
    unsafe fn show(&self, pool: *mut sys::Pool, shown: u8) {
        if self.shown.get() == shown {
            return;
        }
        let keep = |slot: usize, offset: sys::Offset| {
            if shown & (1 << slot) != 0 {
                offset
            } else {
                0
            }
        };
        // SAFETY: per the contract; every id was < nsolvables when hidden, and solvables
        // are never removed from a loaded pool.
        let solvables = unsafe { (*pool).solvables };
        for &(id, offsets) in &self.arrays {
            let [r, g, p, e] = offsets;
            // SAFETY: as above.
            let s = unsafe { &mut *solvables.add(id as usize) };
            [s.recommends, s.suggests, s.supplements, s.enhances] =
                [keep(0, r), keep(1, g), keep(2, p), keep(3, e)];
        }
        self.shown.set(shown);
    }
}

/// libsolv's debug callback (job and conflict-analysis messages only): puts the weak
/// arrays back on the first job message, which libsolv prints once the package rules
/// exist and are sorted, and notes any conflict analysis.
unsafe extern "C" fn on_debug_message(
    pool: *mut sys::Pool,
    data: *mut c_void,
    _kind: c_int,
    text: *const c_char,
) {
    if pool.is_null() || data.is_null() || text.is_null() {
        return;
    }
    // SAFETY: data is the pool's boxed HiddenWeak, registered in hide_weak_deps; the box
    // lives until the pool is freed (Pool's Drop frees the libsolv pool before its
    // fields). text is a NUL-terminated string libsolv owns during the call.
    let (weak, text) = unsafe { (&*(data as *const HiddenWeak), CStr::from_ptr(text)) };
    let text = text.to_bytes();
    let mut stats = weak.stats.get();
    if text.starts_with(b"ANALYZE") {
        stats.backtracked = true;
    } else if weak.armed.get()
        && (text.starts_with(b"job: ") || text.starts_with(b"end of pool jobs"))
    {
        weak.armed.set(false);
        // SAFETY: libsolv is between building its package rules and its job rules,
        // holding no reference into the solvables' dependency fields.
        unsafe { weak.show(pool, ALL) };
        stats.shown_after_rules = true;
    }
    weak.stats.set(stats);
}

impl Pool {
    /// Hide the weak arrays of every solvable from libsolv's rule building (see the module
    /// documentation). Call after [`Pool::create_whatprovides`], so file provides are
    /// indexed as with them visible.
    pub fn hide_weak_deps(&mut self) {
        let mut arrays = Vec::new();
        for id in SYSTEM_SOLVABLE + 1..self.nsolvables() as Id {
            // SAFETY: id < nsolvables and &mut self means no borrow of the solvable array
            // is alive; only the four weak offset fields are read and reset.
            unsafe {
                let s = &mut *self.raw.as_ref().solvables.add(id as usize);
                let offsets = [s.recommends, s.suggests, s.supplements, s.enhances];
                if offsets != [0; 4] {
                    arrays.push((id, offsets));
                    s.recommends = 0;
                    s.suggests = 0;
                    s.supplements = 0;
                    s.enhances = 0;
                }
            }
        }
        let hidden = Box::new(HiddenWeak {
            arrays,
            shown: Cell::new(NONE),
            armed: Cell::new(false),
            stats: Cell::new(SolveStats::default()),
            counts: WeakSolveCounts::default(),
        });
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

    /// Before a solve: with `rules: Some(arrays)` only those arrays (bits, see [`ALL`])
    /// are shown while libsolv builds its package rules, and all of them from then on;
    /// with `None` they are all shown throughout.
    pub(super) fn prepare_weak_deps(&mut self, rules: Option<u8>) {
        let raw = self.raw.as_ptr();
        if let Some(weak) = self.weak.as_mut() {
            weak.stats.set(SolveStats::default());
            weak.armed.set(rules.is_some());
            if rules.is_some() {
                weak.counts.fast += 1;
            } else {
                weak.counts.repeated += 1;
            }
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

    /// Take back the count of a fast solve that is repeated.
    pub(super) fn uncount_fast_solve(&mut self) {
        if let Some(weak) = self.weak.as_mut() {
            weak.counts.fast -= 1;
        }
    }
}
