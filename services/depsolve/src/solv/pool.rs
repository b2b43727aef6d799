//! The pool itself: ids, strings, relations, solvables and their dependency arrays,
//! provider lookups and EVR comparison (repositories are loaded in `repo`, solved in
//! `solver`).

use std::cmp::Ordering;
use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::queue::Queue;
use super::sys;

/// A libsolv id: a string, a relation (dependency with operator) or a solvable.
pub type Id = i32;

/// `SYSTEMSOLVABLE`, the always-installed pseudo package.
pub(super) const SYSTEM_SOLVABLE: Id = 1;
const RELDEP_BIT: u32 = 0x8000_0000;
/// Marker inside a requires array separating normal from pre-requires.
pub(super) const PREREQ_MARKER: Id = sys::SOLVABLE_PREREQMARKER as Id;

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

/// One libsolv pool with RPM semantics and a fixed architecture.
pub struct Pool {
    pub(super) raw: NonNull<sys::Pool>,
    /// Weak arrays hidden from libsolv (`weak.rs`); boxed because libsolv keeps a pointer
    /// into it as its debug callback data.
    pub(super) weak: Option<Box<super::weak_arrays::HiddenWeak>>,
    /// `*mut` makes the type neither `Send` nor `Sync`.
    _not_thread_safe: PhantomData<*mut ()>,
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
            weak: None,
            _not_thread_safe: PhantomData,
        }
    }

    pub(super) fn p(&self) -> &sys::Pool {
        // SAFETY: raw is valid for the lifetime of self; shared access only reads.
        unsafe { self.raw.as_ref() }
    }

    /// Number of solvable slots (ids are `< nsolvables`).
    pub fn nsolvables(&self) -> usize {
        self.p().nsolvables as usize
    }

    pub(super) fn solvable(&self, id: Id) -> Option<&sys::Solvable> {
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

    /// A numeric attribute of a solvable (`key` a libsolv known id); 0 when unset.
    fn solvable_num(&self, id: Id, key: u32) -> u64 {
        self.solvable_checked(id);
        // SAFETY: id is a valid solvable of this pool (checked above).
        unsafe { sys::solvable_lookup_num(self.p().solvables.add(id as usize), key as Id, 0) }
    }

    /// Download size in bytes (rpm-md `size package=`); 0 when unknown.
    pub fn download_size(&self, id: Id) -> u64 {
        self.solvable_num(id, sys::SOLVABLE_DOWNLOADSIZE)
    }

    /// Installed size in bytes (rpm-md `size installed=`); 0 when unknown.
    pub fn install_size(&self, id: Id) -> u64 {
        self.solvable_num(id, sys::SOLVABLE_INSTALLSIZE)
    }

    /// Name id of the source package a solvable was built from (rpm-md `sourcerpm`); its
    /// own name when it names none or the same.
    pub fn source_name(&self, id: Id) -> Id {
        self.solvable_checked(id);
        // SAFETY: id is a valid solvable of this pool (checked above).
        let source = unsafe {
            sys::solvable_lookup_id(
                self.p().solvables.add(id as usize),
                sys::SOLVABLE_SOURCENAME as Id,
            )
        };
        if source == 0 {
            self.solvable_name(id)
        } else {
            source
        }
    }

    /// True when a solvable can be installed on this pool's architecture (libsolv's
    /// `pool_installable` less its repo check): not a source package, an architecture the
    /// pool accepts.
    pub fn arch_installable(&self, id: Id) -> bool {
        let arch = self.solvable_checked(id).arch;
        let p = self.p();
        if arch == sys::ARCH_SRC as Id || arch == sys::ARCH_NOSRC as Id {
            return false;
        }
        if p.id2arch.is_null() || arch <= 0 || arch > p.lastarch {
            return false;
        }
        // SAFETY: id2arch has lastarch + 1 entries (pool_setarchpolicy).
        unsafe { *p.id2arch.add(arch as usize) != 0 }
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
        let deps: &[Id] = if off == 0 || s.repo.is_null() {
            &[]
        } else {
            // SAFETY: a non-zero offset taken from this solvable's dependency fields points
            // into repo->idarraydata at a 0-terminated array; we find the terminator and
            // borrow up to it for the pool's lifetime.
            unsafe {
                let start = (*s.repo).idarraydata.add(off as usize);
                let mut n = 0usize;
                while *start.add(n) != 0 {
                    n += 1;
                }
                std::slice::from_raw_parts(start, n)
            }
        };
        deps.iter().copied().filter(|&d| d != PREREQ_MARKER)
    }

    /// The atoms of a dependency: itself, or for a rich (boolean) dependency the atoms of
    /// both its sides.
    pub fn atoms(&self, dep: Id, out: &mut Vec<Id>) {
        match self.rel_parts(dep) {
            Some((name, evr, flags)) if super::rel::is_boolean(flags) => {
                self.atoms(name, out);
                self.atoms(evr, out);
            }
            _ => out.push(dep),
        }
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
        self.whatprovides_list(off as Id)
    }

    /// The solvable list stored at a whatprovides offset (a provider list, or a list
    /// made by [`Pool::ids_to_whatprovides`]).
    pub(super) fn whatprovides_list(&self, off: Id) -> &[Id] {
        if off <= 0 {
            return &[];
        }
        // SAFETY: off indexes a 0-terminated list in whatprovidesdata, valid until the
        // next change of the provides index; only &mut self methods change it, and the
        // returned borrow keeps them from being called.
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

    /// Store a solvable list as a whatprovides offset (for [`super::Job::InstallOneOf`]).
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
