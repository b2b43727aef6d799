//! The analysis driver: [`RepoDelta::analyze`] loads both repositories into one pool and
//! runs the steps of the module documentation in order (`pair`, `deps`, `order`,
//! `prefer`, `propagate`).

use super::delta::RepoDelta;
use crate::error::DepsolveError;
use crate::sack::SolvFile;
use crate::solv::{Id, Pool};

impl RepoDelta {
    /// Analyse the transition from `old` to `new` (both `.solv` files of full binary
    /// repositories, same architecture).
    pub fn analyze(old: &SolvFile, new: &SolvFile) -> Result<Self, DepsolveError> {
        if old.ignore_weak_deps != new.ignore_weak_deps || old.arch != new.arch {
            return Err(DepsolveError::InvalidInput(
                "old and new repositories must be loaded with the same options".into(),
            ));
        }
        let weak = !old.ignore_weak_deps;
        let mut pool = Pool::new(&old.arch);
        let old_repo = pool.add_repo("old");
        pool.add_solv(old_repo, &old.path)?;
        let new_repo = pool.add_repo("new");
        pool.add_solv(new_repo, &new.path)?;
        pool.create_whatprovides();
        let (old_range, new_range) = (pool.repo_range(old_repo), pool.repo_range(new_repo));
        let mut delta = RepoDelta::new(pool, old_range, new_range, weak);
        let kinds = delta.pair_packages();
        delta.evr_changed = (0..delta.old_len)
            .map(|i| {
                delta.phi[i].is_some_and(|n| {
                    delta.pool.solvable_evr(delta.old_id(i))
                        != delta.pool.solvable_evr(delta.new_start + n as Id)
                })
            })
            .collect();
        delta.collect_touched_names(&kinds);
        delta.check_dependencies(&kinds);
        delta.check_same_name_order();
        delta.check_solvable_order();
        delta.check_common_provide_order(&kinds);
        delta.check_policy_pairs();
        delta.check_preferences();
        delta.propagate();
        delta.stats.tainted = delta.tainted.iter().filter(|&&t| t).count();
        delta.compute_grown_reach();
        Ok(delta)
    }
}
