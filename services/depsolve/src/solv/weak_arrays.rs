//! The weak arrays a pool hides from libsolv's rule building (`weak.rs`), and libsolv's
//! debug callback that shows them to the search once the rules exist.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};

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
pub(super) struct SolveStats {
    /// The weak arrays were put back after rule creation (on the first job message).
    pub(super) shown_after_rules: bool,
    /// A conflict was analysed (the search backtracked and learnt a rule).
    pub(super) backtracked: bool,
}

/// The weak arrays of a pool whose solvables show none to libsolv outside a solve's
/// search.
pub(super) struct HiddenWeak {
    /// Solvables with weak arrays and their Recommends, Suggests, Supplements, Enhances
    /// offsets.
    pub(super) arrays: Vec<(sys::Id, [sys::Offset; 4])>,
    /// Which of the four arrays are in the solvables now (bit per array, [`ALL`]…).
    pub(super) shown: Cell<u8>,
    /// Show every array on the next job message.
    pub(super) armed: Cell<bool>,
    /// Statistics of the current solve.
    pub(super) stats: Cell<SolveStats>,
    /// Solves answered with hidden rules, and solves repeated with visible arrays.
    pub(super) counts: WeakSolveCounts,
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
    pub(super) unsafe fn show(&self, pool: *mut sys::Pool, shown: u8) {
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
pub(super) unsafe extern "C" fn on_debug_message(
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
