//! Solving in the reach of a pass's requests (`SolvFile::with_reach`) gives exactly what
//! the whole pool gives — and plain libsolv with every weak dependency visible — in both
//! weak-dependency modes, traced or not; requests outside the reach and unresolvable ones
//! are solved in the whole pool.

mod common;

use common::{pkg, RepoPkg};
use koschei_depsolve::{
    LoadOptions, ReachCounts, RepoDir, Resolution, ResolveOptions, Sack, SolvFile, SolveTrace,
};

const MODES: [ResolveOptions; 2] = [
    ResolveOptions {
        ignore_weak_deps: false,
        distances: true,
    },
    ResolveOptions {
        ignore_weak_deps: true,
        distances: true,
    },
];

/// A repository where the requests below reach some packages through Requires,
/// Recommends, rich Conflicts and Supplements, and others not at all.
fn repo() -> Vec<RepoPkg<'static>> {
    vec![
        pkg("base", &[], &[]),
        RepoPkg {
            recommends: &["extra"],
            suggests: &["docs"],
            ..pkg("app", &["libapp"], &[])
        },
        pkg("libapp-1", &[], &["libapp"]),
        pkg("libapp-2", &[], &["libapp"]),
        pkg("extra", &["extralib"], &[]),
        pkg("extralib", &[], &["shared-cap"]),
        // reached because it supplements a reached package
        RepoPkg {
            supplements: &["app"],
            ..pkg("app-lang", &["langdata"], &[])
        },
        pkg("langdata", &[], &[]),
        // reached through a rich conflict's atom
        RepoPkg {
            conflicts: &["(oldtool if newtool)"],
            ..pkg("tool", &[], &[])
        },
        pkg("oldtool", &[], &[]),
        pkg("newtool", &[], &[]),
        // not reached: only suggested, conflicting, or unrelated
        pkg("docs", &[], &[]),
        RepoPkg {
            conflicts: &["app"],
            ..pkg("rival", &[], &[])
        },
        pkg("island", &["islandlib"], &[]),
        pkg("islandlib", &[], &["shared-cap"]),
        pkg("broken", &["nothing-provides-this"], &[]),
    ]
}

/// The requests of the pass: build group and every BuildRequire.
const GROUP: &[&str] = &["base"];
const REQUESTS: &[&[&str]] = &[
    &["app"],
    &["tool", "libapp"],
    &["broken"],
    &["app", "libapp-2"],
];

fn solv_file(dir: &std::path::Path, repo: &RepoDir) -> SolvFile {
    let options = LoadOptions {
        solv_cache_dir: Some(dir.join("cache")),
        ..LoadOptions::default()
    };
    SolvFile::ensure(repo, &dir.join("cache"), &options).unwrap()
}

fn with_reach(solv: &SolvFile) -> SolvFile {
    let requests = GROUP.iter().chain(REQUESTS.iter().flat_map(|r| r.iter()));
    solv.clone().with_reach(requests.copied()).unwrap()
}

/// Names of the installed packages of a resolution.
fn names(sack: &Sack, res: &Resolution) -> Vec<String> {
    common::names(&sack.dependencies(res))
}

#[test]
fn the_reach_holds_what_the_requests_can_involve() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let solv = with_reach(&solv_file(tmp.path(), &repo));
    // base, app, libapp-1/2, extra, extralib, app-lang, langdata, tool, oldtool, newtool,
    // broken; not docs, rival, island, islandlib
    assert_eq!(solv.reach_len(), Some(12));
}

#[test]
fn reach_solves_match_the_whole_pool_and_plain_libsolv() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let whole = solv_file(tmp.path(), &repo);
    let reach = with_reach(&whole);
    for options in &MODES {
        let mut ours = reach.load().unwrap();
        let mut whole_pool = whole.load().unwrap();
        let mut plain = whole.load().unwrap();
        plain.reveal_weak_deps();
        for brs in REQUESTS {
            let got = ours.resolve(GROUP, brs, options);
            assert_eq!(got, whole_pool.resolve(GROUP, brs, options), "{brs:?}");
            assert_eq!(got, plain.resolve(GROUP, brs, options), "{brs:?}");
            let (traced, trace) = ours.resolve_traced(GROUP, brs, options);
            let (whole_traced, whole_trace): (Resolution, Option<SolveTrace>) =
                whole_pool.resolve_traced(GROUP, brs, options);
            assert_eq!(traced, got);
            assert_eq!((traced, trace), (whole_traced, whole_trace), "{brs:?}");
        }
        let app = ours.resolve(GROUP, &["app"], options);
        let expected: &[&str] = if options.ignore_weak_deps {
            &["app", "base", "libapp-1"]
        } else {
            &[
                "app", "app-lang", "base", "extra", "extralib", "langdata", "libapp-1",
            ]
        };
        assert_eq!(names(&ours, &app), expected);
        // broken has problems: described by the whole pool, as before
        let broken = ours.resolve(GROUP, &["broken"], options);
        assert!(!broken.resolved);
        assert!(
            broken.problems[0].contains("nothing-provides-this"),
            "{broken:?}"
        );
        // each mode: 4 requests resolved, traced and again; "broken" twice plus once
        let counts = ours.reach_counts().unwrap();
        assert_eq!(
            counts,
            ReachCounts {
                solved: 7,
                whole_pool: 3,
                ..ReachCounts::default()
            }
        );
    }
}

#[test]
fn requests_outside_the_reach_are_solved_in_the_whole_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let whole = solv_file(tmp.path(), &repo);
    let mut ours = with_reach(&whole).load().unwrap();
    let mut whole_pool = whole.load().unwrap();
    let options = ResolveOptions::default();
    // island is not in the reach; docs is, in the whole pool only; shared-cap has a
    // provider in the reach and one outside
    for brs in [&["island"][..], &["docs", "app"], &["shared-cap"]] {
        let got = ours.resolve(GROUP, brs, &options);
        assert!(got.resolved, "{got:?}");
        assert_eq!(got, whole_pool.resolve(GROUP, brs, &options), "{brs:?}");
    }
    assert_eq!(
        ours.reach_counts(),
        Some(ReachCounts {
            solved: 0,
            whole_pool: 3,
            ..ReachCounts::default()
        })
    );
}

#[test]
fn a_batch_is_solved_in_a_reach_of_its_own_and_the_rest_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let whole = solv_file(tmp.path(), &repo);
    let reach = with_reach(&whole);
    let files = || std::fs::read_dir(tmp.path().join("cache")).unwrap().count();
    let with_pass_reach = files();
    for options in &MODES {
        let mut ours = reach.load().unwrap();
        let mut whole_pool = whole.load().unwrap();
        // the batch: the group and app (8 of the pass reach's 12 packages)
        let batch = GROUP.iter().chain(&["app"]).copied();
        assert_eq!(ours.narrow_reach(batch).unwrap(), 8);
        assert_eq!(files(), with_pass_reach + 1, "the batch's reach file");
        for brs in REQUESTS {
            let got = ours.resolve(GROUP, brs, options);
            assert_eq!(got, whole_pool.resolve(GROUP, brs, options), "{brs:?}");
        }
        // app and app + libapp-2 in the batch's reach; tool + libapp in the pass's;
        // broken (problems) in the whole pool
        assert_eq!(
            ours.reach_counts(),
            Some(ReachCounts {
                solved: 3,
                solved_narrow: 2,
                whole_pool: 1,
                narrowed: 1,
            })
        );
        // the next batch's reach replaces it
        ours.narrow_reach(GROUP.iter().chain(&["tool"]).copied())
            .unwrap();
        assert_eq!(files(), with_pass_reach + 1);
        let tool = ours.resolve(GROUP, &["tool"], options);
        assert_eq!(tool, whole_pool.resolve(GROUP, &["tool"], options));
        let counts = ours.reach_counts().unwrap();
        assert_eq!((counts.solved_narrow, counts.narrowed), (3, 2));
        drop(ours);
        assert_eq!(files(), with_pass_reach, "removed with the sack");
    }
}

#[test]
fn the_reach_file_goes_with_the_last_solv_file() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let solv = with_reach(&solv_file(tmp.path(), &repo));
    let files = || std::fs::read_dir(tmp.path().join("cache")).unwrap().count();
    let with_reach_file = files();
    let clone = solv.clone();
    drop(solv);
    assert_eq!(files(), with_reach_file, "a clone still uses it");
    drop(clone);
    assert_eq!(files(), with_reach_file - 1);
}

#[test]
fn the_f25_fixture_gives_the_same_answers_in_its_reach() {
    const JOBS: &[&[&str]] = &[
        &["A", "F"],
        &["/bin/csh"],
        &["A >= 1"],
        &["qt-x11"],
        &["E"],
        &["copr-test3"],
        &["nonexistent"],
    ];
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoDir::open(common::fixture_repo("primary-f25-build-123")).unwrap();
    let whole = solv_file(tmp.path(), &repo);
    let requests = ["R"].iter().chain(JOBS.iter().flat_map(|j| j.iter()));
    let reach = whole.clone().with_reach(requests.copied()).unwrap();
    assert!(reach.reach_len().unwrap() < whole.load().unwrap().len());
    let mut ours = reach.load().unwrap();
    let mut plain = whole.load().unwrap();
    plain.reveal_weak_deps();
    for options in &MODES {
        for brs in JOBS {
            assert_eq!(
                ours.resolve(&["R"], brs, options),
                plain.resolve(&["R"], brs, options),
                "{brs:?}"
            );
        }
    }
    assert!(ours.reach_counts().unwrap().solved > 0);
}

#[test]
fn stale_reach_files_are_removed_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &repo());
    let whole = solv_file(tmp.path(), &repo);
    let solv = with_reach(&whole);
    let cache = tmp.path().join("cache");
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = names();
    let reach_file = before
        .iter()
        .find(|n| n.contains(".solv.reach-"))
        .expect("a reach file")
        .clone();
    let hour = std::time::Duration::from_secs(3600);
    koschei_depsolve::remove_stale_reach_files(&cache, hour);
    assert_eq!(names(), before, "a fresh reach file stays");
    // what a killed process left two hours ago; the .solv file is as old and stays
    for name in &before {
        let file = std::fs::File::options()
            .write(true)
            .open(cache.join(name))
            .unwrap();
        file.set_modified(std::time::SystemTime::now() - 2 * hour)
            .unwrap();
    }
    koschei_depsolve::remove_stale_reach_files(&cache, hour);
    let after = names();
    assert!(!after.contains(&reach_file), "{after:?}");
    assert_eq!(after.len(), before.len() - 1);
    drop(solv);
}

/// `viewer` recommends two capabilities; libsolv takes a package's Recommends in array
/// order, and the first taken decides the other (`apv` conflicts with `gvv`). A `.solv`
/// file sorts each array by its own string numbering (most used strings first): in the
/// whole repository the suggesters make `ps-viewer` the more used, in the reach (without
/// them) neither, and `pdf-viewer` comes first by name. The reach must decide as the whole
/// repository does.
fn viewers() -> Vec<RepoPkg<'static>> {
    let mut repo = vec![
        RepoPkg {
            recommends: &["ps-viewer", "pdf-viewer"],
            ..pkg("viewer", &[], &[])
        },
        RepoPkg {
            conflicts: &["gvv"],
            ..pkg("apv", &[], &["pdf-viewer"])
        },
        pkg("atr", &[], &["pdf-viewer"]),
        pkg("gvv", &[], &["ps-viewer"]),
        pkg("okl", &[], &["ps-viewer"]),
    ];
    for name in ["s1", "s2", "s3", "s4"] {
        repo.push(RepoPkg {
            suggests: &["ps-viewer"],
            ..pkg(name, &[], &[])
        });
    }
    repo
}

#[test]
fn dependency_order_does_not_depend_on_what_else_the_file_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::write_repo(&tmp.path().join("repo"), &viewers());
    let whole = solv_file(tmp.path(), &repo);
    let reach = whole.clone().with_reach(["viewer"]).unwrap();
    assert_eq!(reach.reach_len(), Some(5), "viewer and its four providers");
    let options = ResolveOptions::default();
    let mut ours = reach.load().unwrap();
    let mut whole_pool = whole.load().unwrap();
    let got = ours.resolve::<&str, &str>(&[], &["viewer"], &options);
    assert_eq!(ours.reach_counts().unwrap().solved, 1);
    assert_eq!(
        got,
        whole_pool.resolve::<&str, &str>(&[], &["viewer"], &options)
    );
    // in the whole repository's order: ps-viewer first (gvv, its first provider), then
    // pdf-viewer (atr: apv conflicts with gvv); the reach's own file has pdf-viewer first
    assert_eq!(names(&ours, &got), ["atr", "gvv", "viewer"]);
}
