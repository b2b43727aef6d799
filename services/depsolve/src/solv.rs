//! The FFI layer: the only place in the project with `unsafe`.
//!
//! [`sys`] holds the bindgen output for the system libsolv headers (see `build.rs`); the rest
//! of this module is a small safe API over it: a [`Pool`] owning one libsolv pool with RPM
//! semantics, repo loading/writing, dependency parsing, provider lookups, dependency arrays
//! of solvables and one solver run. Everything above this module is safe Rust working with
//! plain [`Id`]s.
//!
//! Threading: a [`Pool`] is neither `Send` nor `Sync` (libsolv pools are not thread-safe and
//! must never be shared); each worker thread builds its own.

use std::cmp::Ordering;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

use crate::error::DepsolveError;

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    missing_docs
)]
mod sys {
    include!(concat!(env!("OUT_DIR"), "/libsolv_bindings.rs"));

    extern "C" {
        /// rpmvercmp of two version segments (`[s1, q1)` vs `[s2, q2)`), exported by libsolv
        /// but not declared in its public headers.
        pub fn solv_vercmp_rpm(
            s1: *const std::os::raw::c_char,
            q1: *const std::os::raw::c_char,
            s2: *const std::os::raw::c_char,
            q2: *const std::os::raw::c_char,
        ) -> std::os::raw::c_int;
    }
}

/// A libsolv id: a string, a relation (dependency with operator) or a solvable.
pub type Id = i32;

/// `SYSTEMSOLVABLE`, the always-installed pseudo package.
const SYSTEM_SOLVABLE: Id = 1;
const RELDEP_BIT: u32 = 0x8000_0000;
/// Marker inside a requires array separating normal from pre-requires.
const PREREQ_MARKER: Id = sys::SOLVABLE_PREREQMARKER as Id;

/// Relation flags of a libsolv reldep.
pub mod rel {
    /// `>`
    pub const GT: i32 = super::sys::REL_GT as i32;
    /// `=`
    pub const EQ: i32 = super::sys::REL_EQ as i32;
    /// `<`
    pub const LT: i32 = super::sys::REL_LT as i32;
    /// `or` (rich dependency)
    pub const OR: i32 = super::sys::REL_OR as i32;
    /// Boolean/rich operators (`and`, `or`, `if`, …) are all >= this value except the
    /// leaf-like ones listed in [`is_boolean`].
    pub fn is_boolean(flags: i32) -> bool {
        use super::sys::*;
        [
            REL_AND,
            REL_OR,
            REL_WITH,
            REL_WITHOUT,
            REL_COND,
            REL_UNLESS,
            REL_ELSE,
        ]
        .iter()
        .any(|&f| f as i32 == flags)
    }
}

/// Is this id a relation (`name op evr`, or a rich dependency node)?
pub fn is_reldep(id: Id) -> bool {
    (id as u32) & RELDEP_BIT != 0
}

/// The dependency arrays of a solvable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepKind {
    /// `Provides`
    Provides,
    /// `Obsoletes`
    Obsoletes,
    /// `Conflicts`
    Conflicts,
    /// `Requires` (including pre-requires; the marker is skipped)
    Requires,
    /// `Recommends`
    Recommends,
    /// `Suggests`
    Suggests,
    /// `Supplements`
    Supplements,
    /// `Enhances`
    Enhances,
}

impl DepKind {
    /// All kinds, in libsolv's field order.
    pub const ALL: [DepKind; 8] = [
        DepKind::Provides,
        DepKind::Obsoletes,
        DepKind::Conflicts,
        DepKind::Requires,
        DepKind::Recommends,
        DepKind::Suggests,
        DepKind::Supplements,
        DepKind::Enhances,
    ];
}

/// A solver job: what to do with which selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Install one provider of a dependency (simple or rich).
    InstallProvides(Id),
    /// Install one of the listed solvables (stored as a whatprovides offset).
    InstallOneOf(Id),
}

/// Outcome of one solver run.
#[derive(Debug, Default)]
pub struct SolveOutcome {
    /// Problem descriptions, already in Koschei's "Problem: …\n - …" layout.
    pub problems: Vec<String>,
    /// Installed solvables (empty when there are problems), excluding the system solvable.
    pub installs: Vec<Id>,
}

/// What one successful solver run did, as far as incremental re-resolution needs it.
#[derive(Debug, Default, Clone)]
pub struct RawTrace {
    /// Solvables decided installed at decision level 1 (the job assertions and their unit
    /// propagation, before any free choice), sorted.
    pub level1_installs: Vec<Id>,
    /// `(package, requires dependency)` of every requires rule that was the reason of a
    /// level-1 decision (sorted, unique).
    pub level1_requires_reasons: Vec<(Id, Id)>,
    /// A learnt rule was the reason of some decision of the final solution.
    pub learnt: bool,
}

/// One libsolv pool with RPM semantics and a fixed architecture.
pub struct Pool {
    raw: NonNull<sys::Pool>,
    /// `*mut` makes the type neither `Send` nor `Sync`.
    _not_thread_safe: PhantomData<*mut ()>,
}

/// Handle of a repo inside a [`Pool`] (index into `pool->repos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoHandle(i32);

/// A C `FILE*` closed on drop.
struct CFile(NonNull<sys::FILE>);

impl CFile {
    fn open_read(path: &Path) -> Result<Self, DepsolveError> {
        let c = path_cstring(path)?;
        // SAFETY: both arguments are valid NUL-terminated strings; solv_xfopen returns NULL
        // on failure, which we check. It transparently decompresses gz/xz/zst/bz2.
        let fp = unsafe { sys::solv_xfopen(c.as_ptr(), c"r".as_ptr()) };
        NonNull::new(fp)
            .map(CFile)
            .ok_or_else(|| DepsolveError::io(path, std::io::Error::last_os_error()))
    }

    fn create(path: &Path) -> Result<Self, DepsolveError> {
        let c = path_cstring(path)?;
        // SAFETY: valid NUL-terminated path and mode; NULL is checked.
        let fp = unsafe { sys::fopen(c.as_ptr(), c"wb".as_ptr()) };
        NonNull::new(fp)
            .map(CFile)
            .ok_or_else(|| DepsolveError::io(path, std::io::Error::last_os_error()))
    }

    /// Close explicitly, reporting write errors.
    fn close(self, path: &Path) -> Result<(), DepsolveError> {
        let fp = self.0;
        std::mem::forget(self);
        // SAFETY: fp is an open FILE* owned by us, closed exactly once (Drop is skipped).
        if unsafe { sys::fclose(fp.as_ptr()) } != 0 {
            return Err(DepsolveError::io(path, std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl Drop for CFile {
    fn drop(&mut self) {
        // SAFETY: the FILE* is open and owned by this value.
        unsafe { sys::fclose(self.0.as_ptr()) };
    }
}

fn path_cstring(path: &Path) -> Result<CString, DepsolveError> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| DepsolveError::InvalidInput(format!("path with NUL: {}", path.display())))
}

/// A libsolv `Queue`, freed on drop.
struct Queue(sys::Queue);

impl Queue {
    fn new() -> Self {
        let mut q = sys::Queue::default();
        // SAFETY: queue_init only initialises the struct we own.
        unsafe { sys::queue_init(&mut q) };
        Queue(q)
    }

    fn push(&mut self, id: Id) {
        // Re-implementation of the static inline queue_push.
        if self.0.left == 0 {
            // SAFETY: the queue is initialised; queue_alloc_one grows its buffer.
            unsafe { sys::queue_alloc_one(&mut self.0) };
        }
        // SAFETY: after the check above there is room for one more element.
        unsafe { *self.0.elements.add(self.0.count as usize) = id };
        self.0.count += 1;
        self.0.left -= 1;
    }

    fn as_slice(&self) -> &[Id] {
        if self.0.count == 0 {
            return &[];
        }
        // SAFETY: elements points to `count` initialised Ids owned by the queue.
        unsafe { std::slice::from_raw_parts(self.0.elements, self.0.count as usize) }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: the queue was initialised by queue_init and is freed once.
        unsafe { sys::queue_free(&mut self.0) };
    }
}

/// A solver, freed on drop.
struct Solver(NonNull<sys::Solver>);

impl Drop for Solver {
    fn drop(&mut self) {
        // SAFETY: created by solver_create and freed exactly once, before its pool.
        unsafe { sys::solver_free(self.0.as_ptr()) };
    }
}

impl Pool {
    /// A new empty pool with RPM semantics resolving for `arch` (e.g. `x86_64`).
    pub fn new(arch: &str) -> Self {
        // SAFETY: pool_create returns a fresh pool (aborts on OOM, never NULL).
        let raw = unsafe { sys::pool_create() };
        let raw = NonNull::new(raw).expect("pool_create returned NULL");
        let arch = CString::new(arch).unwrap_or_else(|_| c"x86_64".into());
        // SAFETY: raw is a valid pool; arch is a valid C string.
        unsafe {
            sys::pool_setdisttype(raw.as_ptr(), sys::DISTTYPE_RPM as i32);
            sys::pool_setarch(raw.as_ptr(), arch.as_ptr());
        }
        Pool {
            raw,
            _not_thread_safe: PhantomData,
        }
    }

    fn p(&self) -> &sys::Pool {
        // SAFETY: raw is valid for the lifetime of self; shared access only reads.
        unsafe { self.raw.as_ref() }
    }

    fn repo_ptr(&self, repo: RepoHandle) -> *mut sys::Repo {
        let p = self.p();
        assert!(repo.0 > 0 && repo.0 < p.nrepos, "stale repo handle");
        // SAFETY: index checked against nrepos; repos[i] is a valid Repo pointer.
        unsafe { *p.repos.add(repo.0 as usize) }
    }

    /// Add an empty repo.
    pub fn add_repo(&mut self, name: &str) -> RepoHandle {
        let c = CString::new(name).unwrap_or_else(|_| c"repo".into());
        // SAFETY: valid pool and name; returns a repo owned by the pool.
        let repo = unsafe { sys::repo_create(self.raw.as_ptr(), c.as_ptr()) };
        // SAFETY: repo_create returns a valid repo.
        RepoHandle(unsafe { (*repo).repoid })
    }

    fn errstr(&self) -> String {
        // SAFETY: pool_errstr returns a NUL-terminated string owned by the pool.
        unsafe { CStr::from_ptr(sys::pool_errstr(self.raw.as_ptr())) }
            .to_string_lossy()
            .into_owned()
    }

    /// Load an rpm-md XML file (primary, or filelists with `extend = true`); compression is
    /// detected from the file name (gz/xz/zst/bz2).
    pub fn add_rpmmd(
        &mut self,
        repo: RepoHandle,
        path: &Path,
        extend: bool,
    ) -> Result<(), DepsolveError> {
        let file = CFile::open_read(path)?;
        // Each file is internalized as it is read: extending solvables with filelists
        // joins on the primary's pkgid, which must already be internalized.
        let flags = if extend {
            sys::REPO_EXTEND_SOLVABLES as i32
        } else {
            0
        };
        // SAFETY: valid repo and open FILE*; language NULL means default.
        let rc = unsafe {
            sys::repo_add_rpmmd(
                self.repo_ptr(repo),
                file.0.as_ptr(),
                std::ptr::null(),
                flags,
            )
        };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "{}: {}",
                path.display(),
                self.errstr()
            )));
        }
        Ok(())
    }

    /// Load a `.solv` file written by [`Pool::write_solv`].
    pub fn add_solv(&mut self, repo: RepoHandle, path: &Path) -> Result<(), DepsolveError> {
        let file = CFile::open_read(path)?;
        // SAFETY: valid repo and open FILE*.
        let rc = unsafe { sys::repo_add_solv(self.repo_ptr(repo), file.0.as_ptr(), 0) };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "{}: {}",
                path.display(),
                self.errstr()
            )));
        }
        Ok(())
    }

    /// Finish loading a repo's XML data (`repo_internalize`).
    pub fn internalize(&mut self, repo: RepoHandle) {
        // SAFETY: valid repo.
        unsafe { sys::repo_internalize(self.repo_ptr(repo)) };
    }

    /// Write a repo as a `.solv` file.
    pub fn write_solv(&self, repo: RepoHandle, path: &Path) -> Result<(), DepsolveError> {
        let file = CFile::create(path)?;
        // SAFETY: valid repo and FILE* opened for writing.
        let rc = unsafe { sys::repo_write(self.repo_ptr(repo), file.0.as_ptr()) };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "writing {}: {}",
                path.display(),
                self.errstr()
            )));
        }
        file.close(path)
    }

    /// Forget the weak dependencies (Recommends, Suggests, Supplements, Enhances) of every
    /// package of `repo`. libsolv walks them while generating rules even when told to
    /// ignore weak dependencies; stripping them makes a solve depend only on the hard
    /// dependency graph (which the incremental analysis relies on).
    pub fn strip_weak_deps(&mut self, repo: RepoHandle) {
        for id in self.repo_range(repo) {
            if !self.in_repo(id, repo) {
                continue;
            }
            // SAFETY: id < nsolvables (repo range) and we hold &mut self, so no borrow of
            // the solvable array is alive; only offset fields are reset.
            unsafe {
                let s = &mut *self.raw.as_ref().solvables.add(id as usize);
                s.recommends = 0;
                s.suggests = 0;
                s.supplements = 0;
                s.enhances = 0;
            }
        }
    }

    /// Build the provides index (file provides first). Call once after all repos are loaded.
    pub fn create_whatprovides(&mut self) {
        // SAFETY: valid pool.
        unsafe {
            sys::pool_addfileprovides(self.raw.as_ptr());
            sys::pool_createwhatprovides(self.raw.as_ptr());
        }
    }

    /// Solvable ids `start..end` of a repo.
    pub fn repo_range(&self, repo: RepoHandle) -> std::ops::Range<Id> {
        // SAFETY: valid repo pointer (checked in repo_ptr).
        let r = unsafe { &*self.repo_ptr(repo) };
        r.start..r.end
    }

    /// Does solvable `id` exist and belong to `repo`?
    pub fn in_repo(&self, id: Id, repo: RepoHandle) -> bool {
        self.solvable(id)
            // SAFETY: s.repo is either NULL or a valid repo of this pool.
            .map(|s| !s.repo.is_null() && unsafe { (*s.repo).repoid } == repo.0)
            .unwrap_or(false)
    }

    /// Number of solvable slots (ids are `< nsolvables`).
    pub fn nsolvables(&self) -> usize {
        self.p().nsolvables as usize
    }

    fn solvable(&self, id: Id) -> Option<&sys::Solvable> {
        let p = self.p();
        if id <= 0 || id >= p.nsolvables {
            return None;
        }
        // SAFETY: index checked against nsolvables.
        Some(unsafe { &*p.solvables.add(id as usize) })
    }

    fn solvable_checked(&self, id: Id) -> &sys::Solvable {
        self.solvable(id)
            .unwrap_or_else(|| panic!("solvable id {id} out of range"))
    }

    /// Name id of a solvable.
    pub fn solvable_name(&self, id: Id) -> Id {
        self.solvable_checked(id).name
    }

    /// EVR id of a solvable.
    pub fn solvable_evr(&self, id: Id) -> Id {
        self.solvable_checked(id).evr
    }

    /// Arch id of a solvable.
    pub fn solvable_arch(&self, id: Id) -> Id {
        self.solvable_checked(id).arch
    }

    /// One dependency array of a solvable (the pre-requires marker is skipped).
    pub fn solvable_deps(&self, id: Id, kind: DepKind) -> impl Iterator<Item = Id> + '_ {
        let s = self.solvable_checked(id);
        let off = match kind {
            DepKind::Provides => s.provides,
            DepKind::Obsoletes => s.obsoletes,
            DepKind::Conflicts => s.conflicts,
            DepKind::Requires => s.requires,
            DepKind::Recommends => s.recommends,
            DepKind::Suggests => s.suggests,
            DepKind::Supplements => s.supplements,
            DepKind::Enhances => s.enhances,
        };
        let slice: &[Id] = if off == 0 || s.repo.is_null() {
            &[]
        } else {
            // SAFETY: a non-zero offset points into repo->idarraydata at a 0-terminated
            // array; we find the terminator and borrow up to it for the pool's lifetime.
            unsafe {
                let start = (*s.repo).idarraydata.add(off as usize);
                let mut n = 0usize;
                while *start.add(n) != 0 {
                    n += 1;
                }
                std::slice::from_raw_parts(start, n)
            }
        };
        slice.iter().copied().filter(|&d| d != PREREQ_MARKER)
    }

    /// The string of a string id.
    pub fn id2str(&self, id: Id) -> &str {
        // SAFETY: pool_id2str returns a NUL-terminated string living as long as the pool
        // (string ids are never freed).
        unsafe { CStr::from_ptr(sys::pool_id2str(self.raw.as_ptr(), id)) }
            .to_str()
            .unwrap_or("")
    }

    /// A dependency rendered as text (`name >= evr`, `(a or b)` …).
    pub fn dep2str(&self, id: Id) -> String {
        // SAFETY: pool_dep2str returns a temporary string in the pool's tmp space; we copy
        // it before any other pool call.
        unsafe { CStr::from_ptr(sys::pool_dep2str(self.raw.as_ptr(), id)) }
            .to_string_lossy()
            .into_owned()
    }

    /// Look up (or, with `create`, intern) a string; 0 when absent.
    pub fn str2id(&mut self, s: &str, create: bool) -> Id {
        // SAFETY: s is passed with its length; pool_strn2id copies it.
        unsafe {
            sys::pool_strn2id(
                self.raw.as_ptr(),
                s.as_ptr() as *const _,
                s.len() as u32,
                create as i32,
            )
        }
    }

    /// Intern a relation `name flags evr`.
    pub fn rel2id(&mut self, name: Id, evr: Id, flags: i32) -> Id {
        // SAFETY: ids come from this pool.
        unsafe { sys::pool_rel2id(self.raw.as_ptr(), name, evr, flags, 1) }
    }

    /// Parse an RPM rich dependency (`(a or b)`); `None` on a parse error.
    pub fn parse_rich_dep(&mut self, s: &str) -> Option<Id> {
        let c = CString::new(s).ok()?;
        // SAFETY: valid pool and C string.
        let id = unsafe { sys::pool_parserpmrichdep(self.raw.as_ptr(), c.as_ptr()) };
        (id != 0).then_some(id)
    }

    /// The parts `(name, evr, flags)` of a relation id.
    pub fn rel_parts(&self, dep: Id) -> Option<(Id, Id, i32)> {
        if !is_reldep(dep) {
            return None;
        }
        let idx = ((dep as u32) ^ RELDEP_BIT) as usize;
        let p = self.p();
        if idx >= p.nrels as usize {
            return None;
        }
        // SAFETY: index checked against nrels.
        let r = unsafe { &*p.rels.add(idx) };
        Some((r.name, r.evr, r.flags))
    }

    /// Providers of a dependency (simple, versioned or rich), in solvable id order.
    pub fn whatprovides(&mut self, dep: Id) -> &[Id] {
        // Re-implementation of the static inline pool_whatprovides_ptr.
        let off = {
            let p = self.p();
            if !is_reldep(dep) {
                if dep > 0 && (dep as usize) < p.ss.nstrings as usize {
                    // SAFETY: whatprovides has one entry per string id.
                    unsafe { *p.whatprovides.add(dep as usize) }
                } else {
                    0
                }
            } else {
                let v = ((dep as u32) ^ RELDEP_BIT) as usize;
                // SAFETY: whatprovides_rel has one entry per rel id.
                unsafe { *p.whatprovides_rel.add(v) }
            }
        };
        let off = if off != 0 {
            off
        } else {
            // SAFETY: valid pool and id; computes and caches the provider list.
            unsafe { sys::pool_addrelproviders(self.raw.as_ptr(), dep) as u32 }
        };
        // SAFETY: off indexes a 0-terminated list in whatprovidesdata, valid until the
        // next change of the provides index; the borrow of &mut self prevents such calls.
        unsafe {
            let start = self.p().whatprovidesdata.add(off as usize);
            let mut n = 0usize;
            while *start.add(n) != 0 {
                n += 1;
            }
            std::slice::from_raw_parts(start, n)
        }
    }

    /// Solvables whose file list contains `path` (exact match).
    pub fn select_file(&mut self, path: &str, out: &mut Vec<Id>) {
        out.clear();
        let Ok(c) = CString::new(path) else { return };
        let mut sel = Queue::new();
        // SAFETY: valid pool, queue and C string.
        unsafe {
            sys::selection_make(
                self.raw.as_ptr(),
                &mut sel.0,
                c.as_ptr(),
                sys::SELECTION_FILELIST as i32,
            )
        };
        let mut solvables = Queue::new();
        // SAFETY: sel is a selection made for this pool; solvables is an output queue.
        unsafe { sys::selection_solvables(self.raw.as_ptr(), &mut sel.0, &mut solvables.0) };
        out.extend_from_slice(solvables.as_slice());
    }

    /// Store a solvable list as a whatprovides offset (for [`Job::InstallOneOf`]).
    pub fn ids_to_whatprovides(&mut self, ids: &[Id]) -> Id {
        let mut q = Queue::new();
        for &id in ids {
            q.push(id);
        }
        // SAFETY: valid pool and queue.
        unsafe { sys::pool_queuetowhatprovides(self.raw.as_ptr(), &mut q.0) }
    }

    /// RPM comparison of two EVR ids of this pool.
    pub fn evrcmp(&self, a: Id, b: Id) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        // SAFETY: ids come from this pool.
        let r = unsafe { sys::pool_evrcmp(self.raw.as_ptr(), a, b, sys::EVRCMP_COMPARE as i32) };
        r.cmp(&0)
    }

    /// Does solvable `id` match `dep` by name/EVR (as obsoletes are matched)?
    pub fn match_nevr(&self, id: Id, dep: Id) -> bool {
        let s = self.solvable_checked(id);
        if !is_reldep(dep) {
            return dep == s.name;
        }
        // SAFETY: valid pool, solvable of this pool and dependency id.
        unsafe {
            sys::pool_match_nevr_rel(
                self.raw.as_ptr(),
                s as *const sys::Solvable as *mut sys::Solvable,
                dep,
            ) != 0
        }
    }

    /// Runs the solver on `jobs` into an empty root (weak dependencies ignored when
    /// asked): the solved solver, or the problems in libsolv's wording.
    fn run_solver(&mut self, jobs: &[Job], ignore_weak_deps: bool) -> Result<Solver, Vec<String>> {
        let mut q = Queue::new();
        for job in jobs {
            let (how, what) = match *job {
                Job::InstallProvides(dep) => (sys::SOLVER_SOLVABLE_PROVIDES, dep),
                Job::InstallOneOf(off) => (sys::SOLVER_SOLVABLE_ONE_OF, off),
            };
            q.push((sys::SOLVER_INSTALL | how) as Id);
            q.push(what);
        }
        // SAFETY: valid pool with whatprovides built; the solver is freed before the pool.
        let solver = Solver(
            NonNull::new(unsafe { sys::solver_create(self.raw.as_ptr()) })
                .expect("solver_create returned NULL"),
        );
        let s = solver.0.as_ptr();
        // SAFETY: valid solver; job queue lives across the call.
        let nproblems = unsafe {
            sys::solver_set_flag(
                s,
                sys::SOLVER_FLAG_IGNORE_RECOMMENDED as i32,
                ignore_weak_deps as i32,
            );
            sys::solver_solve(s, &mut q.0)
        };
        if nproblems > 0 {
            return Err((1..=nproblems)
                .map(|problem| self.describe_problem(s, problem))
                .collect());
        }
        Ok(solver)
    }

    /// The decision queue of a solved solver.
    fn decisions(solver: &Solver) -> Queue {
        let mut decisions = Queue::new();
        // SAFETY: valid solved solver and output queue.
        unsafe { sys::solver_get_decisionqueue(solver.0.as_ptr(), &mut decisions.0) };
        decisions
    }

    /// Solve `jobs` into an empty root. Weak dependencies are ignored when asked.
    pub fn solve(&mut self, jobs: &[Job], ignore_weak_deps: bool) -> SolveOutcome {
        let solver = match self.run_solver(jobs, ignore_weak_deps) {
            Ok(solver) => solver,
            Err(problems) => {
                return SolveOutcome {
                    problems,
                    installs: Vec::new(),
                }
            }
        };
        let installs = Self::decisions(&solver)
            .as_slice()
            .iter()
            .copied()
            .filter(|&p| p > SYSTEM_SOLVABLE)
            .collect();
        SolveOutcome {
            problems: Vec::new(),
            installs,
        }
    }

    /// [`Pool::solve`], also reporting what the solver did (see [`RawTrace`]); the trace is
    /// `None` when there are problems.
    pub fn solve_traced(
        &mut self,
        jobs: &[Job],
        ignore_weak_deps: bool,
    ) -> (SolveOutcome, Option<RawTrace>) {
        let solver = match self.run_solver(jobs, ignore_weak_deps) {
            Ok(solver) => solver,
            Err(problems) => {
                let out = SolveOutcome {
                    problems,
                    installs: Vec::new(),
                };
                return (out, None);
            }
        };
        let s = solver.0.as_ptr();
        let decisions = Self::decisions(&solver);
        let mut out = SolveOutcome::default();
        let mut trace = RawTrace::default();
        for &literal in decisions.as_slice() {
            let p = literal.abs();
            if p <= SYSTEM_SOLVABLE {
                continue;
            }
            if literal > 0 {
                out.installs.push(p);
            }
            let mut rule: Id = 0;
            // SAFETY: p is a solvable of this pool decided by the solver; out-params valid.
            let (level, _reason) = unsafe {
                (
                    sys::solver_get_decisionlevel(s, p),
                    sys::solver_describe_decision(s, p, &mut rule),
                )
            };
            if rule <= 0 {
                continue;
            }
            let (mut source, mut target, mut dep) = (0, 0, 0);
            // SAFETY: rule is a rule id reported by the solver; out-params valid.
            let (class, kind) = unsafe {
                (
                    sys::solver_ruleclass(s, rule),
                    sys::solver_ruleinfo(s, rule, &mut source, &mut target, &mut dep),
                )
            };
            if class == sys::SOLVER_RULE_LEARNT {
                trace.learnt = true;
            }
            if level.abs() == 1 {
                if literal > 0 {
                    trace.level1_installs.push(p);
                }
                if kind == sys::SOLVER_RULE_PKG_REQUIRES && source > SYSTEM_SOLVABLE {
                    trace.level1_requires_reasons.push((source, dep));
                }
            }
        }
        trace.level1_installs.sort_unstable();
        trace.level1_requires_reasons.sort_unstable();
        trace.level1_requires_reasons.dedup();
        (out, Some(trace))
    }

    /// RPM comparison of two EVR ids the way libsolv's policy orders versioned provides
    /// (`EVRCMP_MATCH_RELEASE`: a side without release matches any release).
    pub fn evrcmp_match_release(&self, a: Id, b: Id) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        // SAFETY: ids come from this pool.
        let r =
            unsafe { sys::pool_evrcmp(self.raw.as_ptr(), a, b, sys::EVRCMP_MATCH_RELEASE as i32) };
        r.cmp(&0)
    }

    /// "Problem: <first rule>" followed by "\n - <rule>" for each further distinct rule.
    fn describe_problem(&self, s: *mut sys::Solver, problem: Id) -> String {
        let mut rules = Queue::new();
        // SAFETY: s is a solved solver, problem in 1..=nproblems.
        unsafe { sys::solver_findallproblemrules(s, problem, &mut rules.0) };
        let mut lines: Vec<String> = Vec::new();
        for &rid in rules.as_slice() {
            let (mut source, mut target, mut dep) = (0, 0, 0);
            // SAFETY: rid is a rule of this solver; out-params are valid.
            let text = unsafe {
                let ty = sys::solver_ruleinfo(s, rid, &mut source, &mut target, &mut dep);
                let c = sys::solver_problemruleinfo2str(s, ty, source, target, dep);
                CStr::from_ptr(c).to_string_lossy().into_owned()
            };
            if !lines.contains(&text) {
                lines.push(text);
            }
        }
        if lines.is_empty() {
            // SAFETY: as above; solver_problem2str describes the problem as a whole.
            let text = unsafe { CStr::from_ptr(sys::solver_problem2str(s, problem)) };
            lines.push(text.to_string_lossy().into_owned());
        }
        let mut out = format!("Problem: {}", lines[0]);
        for line in &lines[1..] {
            out.push_str("\n - ");
            out.push_str(line);
        }
        out
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: the pool is freed exactly once; all borrowed data died with &self borrows.
        unsafe { sys::pool_free(self.raw.as_ptr()) };
    }
}

/// rpmvercmp of two version (or release) strings, via libsolv.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (a.as_bytes().as_ptr_range(), b.as_bytes().as_ptr_range());
    // SAFETY: both ranges point into live string slices; libsolv reads [s, q) only.
    let r = unsafe {
        sys::solv_vercmp_rpm(
            pa.start as *const _,
            pa.end as *const _,
            pb.start as *const _,
            pb.end as *const _,
        )
    };
    r.cmp(&0)
}
