//! "Would a rebuild fix it?": the binaries of a scratch build, known only by the headers
//! Koji reports for the task's RPMs, installed into an empty root from the repository
//! their source's binaries are uninstallable in. They are added to the sack's pool as a
//! repository of their own with a higher priority, so their siblings (same names and
//! versions as the binaries already in the repository) are preferred over the old ones.
//!
//! Only what the installability of the rebuilt binaries depends on is taken from the
//! headers: provides, requires (the `rpmlib(…)` ones, which rpm itself satisfies,
//! dropped), conflicts and obsoletes. Weak dependencies and files are not added.

use crate::package::Nevra;
use crate::sack::Sack;
use crate::solv::{rel, Id, Job, NewSolvable, Pool};

/// rpm's `RPMSENSE_LESS`.
const SENSE_LESS: i64 = 1 << 1;
/// rpm's `RPMSENSE_GREATER`.
const SENSE_GREATER: i64 = 1 << 2;
/// rpm's `RPMSENSE_EQUAL`.
const SENSE_EQUAL: i64 = 1 << 3;
/// rpm's `RPMSENSE_RPMLIB`: a feature of rpm itself.
const SENSE_RPMLIB: i64 = 1 << 24;

/// Priority of the rebuilt binaries' repository (the repository's own is 0).
const REBUILD_PRIORITY: i32 = 99;

/// One dependency as rpm headers hold it (`REQUIRENAME`, `REQUIREFLAGS`,
/// `REQUIREVERSION` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderDep {
    pub name: String,
    /// `RPMSENSE_*` bits.
    pub flags: i64,
    /// `[E:]V[-R]`, empty when unversioned.
    pub version: String,
}

/// A binary package of a rebuild, from its rpm headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuiltBinary {
    pub nevra: Nevra,
    pub provides: Vec<HeaderDep>,
    pub requires: Vec<HeaderDep>,
    pub conflicts: Vec<HeaderDep>,
    pub obsoletes: Vec<HeaderDep>,
}

impl Sack {
    /// Adds `binaries` to this sack's pool (module documentation) and installs each alone
    /// into an empty root: the problems of each, empty when it installs; `None` for a
    /// binary of an architecture this sack does not resolve for (another arch task's).
    /// The binaries are removed again afterwards: one sack serves many rebuilds.
    pub fn rebuilt_installability(
        &mut self,
        binaries: &[RebuiltBinary],
        ignore_weak_deps: bool,
    ) -> Vec<Option<Vec<String>>> {
        let repo = self.pool.add_repo("rebuild");
        self.pool.set_priority(repo, REBUILD_PRIORITY);
        let ids: Vec<Id> = binaries
            .iter()
            .map(|b| {
                let solvable = new_solvable(&mut self.pool, b);
                self.pool.add_solvable(repo, &solvable)
            })
            .collect();
        self.pool.create_whatprovides();
        let results = ids
            .into_iter()
            .map(|id| {
                if !self.pool.arch_installable(id) {
                    return None;
                }
                let job = Job::InstallOneOf(self.pool.ids_to_whatprovides(&[id]));
                Some(self.pool.solve(&[job], ignore_weak_deps).problems)
            })
            .collect();
        self.pool.free_repo(repo);
        self.pool.create_whatprovides();
        results
    }
}

fn new_solvable(pool: &mut Pool, b: &RebuiltBinary) -> NewSolvable {
    let evr = b.nevra.evr();
    let name = pool.str2id(&b.nevra.name, true);
    let evr_id = pool.str2id(&evr, true);
    let mut deps = |list: &[HeaderDep]| -> Vec<Id> {
        list.iter()
            .filter(|d| d.flags & SENSE_RPMLIB == 0 && !d.name.starts_with("rpmlib("))
            .map(|d| dep_id(pool, d))
            .collect()
    };
    let mut provides = deps(&b.provides);
    let requires = deps(&b.requires);
    let conflicts = deps(&b.conflicts);
    let obsoletes = deps(&b.obsoletes);
    // rpm always provides `name = evr`; the headers list it, added again it is harmless
    provides.push(pool.rel2id(name, evr_id, rel::EQ));
    NewSolvable {
        name,
        evr: evr_id,
        arch: pool.str2id(&b.nevra.arch, true),
        provides,
        requires,
        conflicts,
        obsoletes,
    }
}

/// The pool id of a header dependency. A rich dependency that does not parse stays a
/// plain name, which nothing provides: a binary requiring it is not installable, and the
/// problem names it.
fn dep_id(pool: &mut Pool, d: &HeaderDep) -> Id {
    if d.name.starts_with('(') {
        if let Some(id) = pool.parse_rich_dep(&d.name) {
            return id;
        }
    }
    let name = pool.str2id(&d.name, true);
    let mut flags = 0;
    for (sense, relation) in [
        (SENSE_LESS, rel::LT),
        (SENSE_GREATER, rel::GT),
        (SENSE_EQUAL, rel::EQ),
    ] {
        if d.flags & sense != 0 {
            flags |= relation;
        }
    }
    if flags == 0 || d.version.is_empty() {
        return name;
    }
    let evr = pool.str2id(&d.version, true);
    pool.rel2id(name, evr, flags)
}
