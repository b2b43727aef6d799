//! Whole-repository passes on several threads give what one sack gives, whether the jobs
//! are known up front (`run_parallel`) or fed while the workers already solve (`run_fed`).

mod common;

use koschei_depsolve::{
    run_fed, run_parallel, LoadOptions, ParallelOptions, RepoDir, Resolution, ResolveOptions,
    SolvFile,
};

const JOBS: &[&[&str]] = &[
    &["A", "F"],
    &["nonexistent"],
    &["/bin/csh"],
    &["A >= 1"],
    &["qt-x11"],
    &["E"],
    &["copr-test3"],
    &["A > 1-1.fc22"],
];

fn solv(dir: &std::path::Path) -> SolvFile {
    let repo = RepoDir::open(common::fixture_repo("primary-f25-build-123")).unwrap();
    let options = LoadOptions {
        solv_cache_dir: Some(dir.to_path_buf()),
        ..LoadOptions::default()
    };
    SolvFile::ensure(&repo, dir, &options).unwrap()
}

fn expected(solv: &SolvFile) -> Vec<Resolution> {
    let mut sack = solv.load().unwrap();
    JOBS.iter()
        .map(|brs| sack.resolve(&["R"], brs, &ResolveOptions::default()))
        .collect()
}

#[test]
fn parallel_and_fed_passes_match_one_sack() {
    let tmp = tempfile::tempdir().unwrap();
    let solv = solv(tmp.path());
    let want = expected(&solv);
    let options = ParallelOptions {
        threads: 3,
        chunk: 2,
        ..ParallelOptions::default()
    };
    let mut got = vec![None; JOBS.len()];
    let stats = run_parallel(
        &solv,
        JOBS,
        &options,
        |sack, _, brs| sack.resolve(&["R"], brs, &ResolveOptions::default()),
        |i, r| got[i] = Some(r),
    )
    .unwrap();
    assert_eq!(stats.threads, 3);
    assert_eq!(
        got.into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        want
    );

    // jobs fed one by one, in reverse, while the workers run
    let mut fed = vec![None; JOBS.len()];
    run_fed(
        &solv,
        &options,
        |push| (0..JOBS.len()).rev().for_each(push),
        |sack, i: usize| (i, sack.resolve(&["R"], JOBS[i], &ResolveOptions::default())),
        |(i, r)| fed[i] = Some(r),
    )
    .unwrap();
    assert_eq!(
        fed.into_iter().map(Option::unwrap).collect::<Vec<_>>(),
        want
    );
}

#[test]
fn a_fed_pass_without_jobs_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let solv = solv(tmp.path());
    let mut n = 0;
    run_fed(
        &solv,
        &ParallelOptions::default(),
        |_push: &mut dyn FnMut(usize)| {},
        |_, i: usize| i,
        |_| n += 1,
    )
    .unwrap();
    assert_eq!(n, 0);
}
