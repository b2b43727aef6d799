//! The FFI layer: the only place in the project with `unsafe`.
//!
//! [`sys`] holds the bindgen output for the system libsolv headers (see `build.rs`); the rest
//! of this module is a small safe API over it: a [`Pool`] owning one libsolv pool with RPM
//! semantics, repo loading/writing, dependency parsing, provider lookups, dependency arrays
//! of solvables and one solver run. Everything above this module is safe Rust working with
//! plain [`Id`]s.
//!
//! `pool` holds the pool itself (ids, strings, relations, solvables, providers, EVR
//! comparison) and `rel` the relation flags; `queue` wraps libsolv's id queue; `repo` loads
//! and writes repositories, `add` adds solvables made from data, `dep_order` puts the
//! dependency arrays that steer libsolv in one order in every pool, `solver` runs the
//! solver and reads its result; `weak` builds the solver's rules without the weak
//! dependencies that cannot install anything and shows them to its search (`weak_arrays`
//! holds them and libsolv's debug callback).
//! Every
//! `unsafe` block carries a `SAFETY:` comment; the `allow` below covers all of these
//! submodules, and nothing outside `solv` may use `unsafe`.
//!
//! Threading: a [`Pool`] is neither `Send` nor `Sync` (libsolv pools are not thread-safe and
//! must never be shared); each worker thread builds its own.

#![allow(unsafe_code)]

mod add;
mod dep_order;
mod pool;
mod queue;
pub mod rel;
mod repo;
mod solver;
mod sys;
mod weak;
mod weak_arrays;

pub use add::NewSolvable;
pub use pool::{is_reldep, rpmvercmp, DepKind, Id, Pool};
pub use repo::RepoHandle;
pub use solver::{Job, RawTrace, SolveOutcome};
pub use weak_arrays::WeakSolveCounts;
