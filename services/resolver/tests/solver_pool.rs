//! The solver workers: jobs claimed together, enough of them, are solved in a reach of
//! their own (`Sack::narrow_reach`) and get the answers of the whole pool.

mod common;

use std::collections::BTreeMap;

use koschei_depsolve::{LoadOptions, RepoDir, ResolveOptions, SolvFile};
use koschei_resolver::solver_pool::{SolveJob, SolveResult, SolverPool};

/// BuildRequires of the jobs, in turn: resolvable ones, a file, rich and versioned
/// dependencies, and a missing one.
const BUILDREQUIRES: &[&[&str]] = &[
    &["A", "F"],
    &["/bin/csh"],
    &["qt-x11"],
    &["(sni-qt(x86-64) if plasma-workspace)", "plasma-workspace"],
    &["A >= 1"],
    &["E"],
    &["nonexistent"],
];

/// More jobs than a worker needs to cut a reach for them.
const JOBS: usize = 700;

async fn solve_all(pool: &mut SolverPool) -> BTreeMap<i64, SolveResult> {
    for tag in 0..JOBS {
        let brs = BUILDREQUIRES[tag % BUILDREQUIRES.len()];
        pool.submit(SolveJob {
            tag: tag as i64,
            buildrequires: brs.iter().map(|b| b.to_string()).collect(),
        });
    }
    let mut results = BTreeMap::new();
    while results.len() < JOBS {
        let r = pool.next().await.expect("a result").expect("solved");
        results.insert(r.tag, r);
    }
    results
}

#[tokio::test]
async fn claimed_jobs_are_solved_in_their_own_reach_with_the_whole_pools_answers() {
    let tmp = tempfile::tempdir().unwrap();
    common::write_seed(tmp.path());
    let repo = RepoDir::open(tmp.path()).unwrap();
    let cache = tmp.path().join("cache");
    let load = LoadOptions {
        solv_cache_dir: Some(cache.clone()),
        ..LoadOptions::default()
    };
    let solv = SolvFile::ensure(&repo, &cache, &load).unwrap();
    let group = vec!["R".to_string()];
    let requests: Vec<String> = BUILDREQUIRES
        .iter()
        .flat_map(|brs| brs.iter().map(|b| b.to_string()))
        .collect();
    for ignore_weak_deps in [false, true] {
        let options = ResolveOptions {
            ignore_weak_deps,
            distances: true,
        };
        let start =
            |requests| SolverPool::start(solv.clone(), group.clone(), options, 1, JOBS, requests);
        let mut whole = start(Vec::new());
        let mut ours = start(requests.clone());
        let expected = solve_all(&mut whole).await;
        let got = solve_all(&mut ours).await;
        assert_eq!(whole.narrowed_reaches(), 0, "no reach without requests");
        assert!(
            ours.narrowed_reaches() > 0,
            "the claims got reaches of their own"
        );
        assert_eq!(got, expected);
        assert!(got[&0].resolved && !got[&6].resolved);
    }
}
