//! The Koschei helpers (load, SRPM arches, build group, BuildRequires: `get_koji_load`,
//! `get_srpm_arches`, `get_build_group`, `get_rpm_requires` in the original's
//! `koschei/backend/koji_util.py`) on inputs recorded from real Koji.

mod common;

use std::collections::BTreeSet;

use koschei_koji::build_group::group_packages;
use koschei_koji::build_requires::{build_requires, dep_to_string};
use koschei_koji::load::{combine_load, load_arches};
use koschei_koji::srpm_arches::compute_srpm_arches;
use koschei_koji::{ArchHeaders, Host, RepoInfo, RpmDep, TagGroup, TaskInfo, Value};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn recorded_load(fixture: &str, all_arches: &[&str], arches: &[&str]) -> f64 {
    let responses = common::vcr_responses(fixture);
    let hosts_value = responses
        .into_iter()
        .find(|(m, _)| m == "listHosts")
        .expect("listHosts recorded")
        .1;
    let hosts: Vec<Host> = hosts_value.deserialize().expect("hosts");
    let canon = load_arches(&strings(all_arches), &strings(arches));
    combine_load(&hosts, &canon, arches.contains(&"noarch"))
}

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 5e-5,
        "load {actual} != {expected}"
    );
}

const ALL: [&str; 3] = ["x86_64", "i386", "armhfp"];

#[test]
fn koji_load_matches_recorded_hosts() {
    assert_close(recorded_load("koji_load_all.vcr.json", &ALL, &ALL), 0.8958);
    assert_close(
        recorded_load("koji_load_noarch.vcr.json", &ALL, &["noarch"]),
        0.4305,
    );
    assert_close(
        recorded_load("koji_load_intel.vcr.json", &ALL, &["i686", "x86_64"]),
        0.5119,
    );
    assert_close(
        recorded_load("koji_load_arm.vcr.json", &ALL, &["armv7hl"]),
        0.8958,
    );
}

#[test]
fn load_arches_are_canonical_and_noarch_means_all() {
    assert_eq!(
        load_arches(&strings(&ALL), &strings(&["i686", "x86_64"])),
        strings(&["i386", "x86_64"])
    );
    assert_eq!(
        load_arches(&strings(&ALL), &strings(&["noarch"])),
        strings(&ALL)
    );
    assert_eq!(
        load_arches(&strings(&ALL), &strings(&["armv7hl"])),
        strings(&["armhfp"])
    );
}

const TAG_ARCHES: [&str; 7] = [
    "armv7hl", "i686", "x86_64", "aarch64", "ppc64", "ppc64le", "s390x",
];
const BUILD_ARCHES: [&str; 3] = ["i386", "x86_64", "armhfp"];

fn recorded_headers(fixture: &str) -> ArchHeaders {
    let (method, value) = common::vcr_responses(fixture).remove(0);
    assert_eq!(method, "getRPMHeaders");
    value.deserialize().expect("arch headers")
}

fn arches(fixture: &str, arch_override: Option<&str>, build_arches: &[&str]) -> BTreeSet<String> {
    compute_srpm_arches(
        &strings(&TAG_ARCHES),
        &recorded_headers(fixture),
        arch_override,
        &strings(build_arches),
    )
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn srpm_arches_match_original_expectations() {
    let plain = "get_srpm_arches.vcr.json";
    assert_eq!(
        arches(plain, None, &BUILD_ARCHES),
        set(&["armv7hl", "i686", "x86_64"])
    );
    assert_eq!(
        arches(plain, Some("x86_64 i386"), &BUILD_ARCHES),
        set(&["i386", "x86_64"])
    );
    assert_eq!(arches(plain, Some("i686"), &BUILD_ARCHES), set(&["i686"]));
    assert_eq!(
        arches(plain, Some("^armhfp"), &BUILD_ARCHES),
        set(&["i686", "x86_64"])
    );
    assert_eq!(
        arches(plain, Some("^armv7hl"), &BUILD_ARCHES),
        set(&["i686", "x86_64"])
    );
    assert_eq!(
        arches("get_srpm_arches_exclusive.vcr.json", None, &BUILD_ARCHES),
        set(&["armv7hl"])
    );
    assert_eq!(
        arches("get_srpm_arches_exclude.vcr.json", None, &BUILD_ARCHES),
        set(&["i686", "x86_64"])
    );
    assert_eq!(
        arches("get_srpm_arches_noarch.vcr.json", None, &BUILD_ARCHES),
        set(&["noarch"])
    );
    assert_eq!(arches(plain, None, &TAG_ARCHES), set(&TAG_ARCHES));
}

#[test]
fn build_group_from_recorded_tag_groups() {
    let responses = common::vcr_responses("koji_get_build_group.vcr.json");
    let repo: RepoInfo = responses[0].1.clone().deserialize().expect("repoInfo");
    assert_eq!(repo.create_event, 24719938);
    let groups: Vec<TagGroup> = responses[1].1.clone().deserialize().expect("getTagGroups");
    let build = group_packages(&groups, "build").expect("build group");
    assert_eq!(build.len(), 24, "{build:?}");
    for name in ["bash", "rpm-build", "redhat-rpm-config", "shadow-utils"] {
        assert!(
            build.iter().any(|p| p == name),
            "{name} missing from {build:?}"
        );
    }
    assert_eq!(group_packages(&groups, "no-such-group"), None);
}

#[test]
fn build_group_cassette_filters_blocked_and_optional() {
    let calls = common::cassette("KojiUtilOtherTest/test_get_build_group.yml");
    let groups_call = calls
        .iter()
        .find(|c| c.method == "getTagGroups")
        .expect("getTagGroups");
    assert_eq!(groups_call.kwargs["event"], 32436754);
    let groups: Vec<TagGroup> = Value::from_json(groups_call.result.clone())
        .deserialize()
        .expect("groups");
    let build = group_packages(&groups, "build").expect("build group");
    let listed = &groups
        .iter()
        .find(|g| g.name == "build")
        .unwrap()
        .packagelist;
    let expected: Vec<String> = listed
        .iter()
        .filter(|p| !p.blocked && matches!(p.kind.as_deref(), Some("default" | "mandatory")))
        .map(|p| p.package.clone())
        .collect();
    assert_eq!(build, expected);
    assert!(!build.is_empty());
}

fn dep(name: &str, version: &str, flags: i64) -> RpmDep {
    RpmDep {
        name: name.to_owned(),
        version: version.to_owned(),
        flags,
        dep_type: 0,
    }
}

#[test]
fn build_requires_follow_flag_rules() {
    // The shape getRPMDeps returns for an SRPM: rpmlib() entries carry RPMSENSE_RPMLIB.
    let deps = vec![
        dep("maven-local", "", 0),
        dep("jetty-toolchain", "", 0),
        dep("rpmlib(CompressedFileNames)", "3.0.4-1", 16_777_226),
        dep("rpmlib(FileDigests)", "4.6.0-1", 16_777_226),
    ];
    assert_eq!(
        build_requires(&deps),
        strings(&["maven-local", "jetty-toolchain"])
    );
    assert_eq!(dep_to_string(&dep("a", "1.0", 2)).unwrap(), "a < 1.0");
    assert_eq!(dep_to_string(&dep("a", "1.0", 4)).unwrap(), "a > 1.0");
    assert_eq!(dep_to_string(&dep("a", "1.0", 8)).unwrap(), "a = 1.0");
    assert_eq!(dep_to_string(&dep("a", "1.0", 10)).unwrap(), "a <= 1.0");
    assert_eq!(
        dep_to_string(&dep("a", "1:1.0-2", 12)).unwrap(),
        "a >= 1:1.0-2"
    );
    // FIND_REQUIRES is dropped, then the rest must be comparison bits only.
    assert_eq!(
        dep_to_string(&dep("b", "2", 12 | (1 << 14))).unwrap(),
        "b >= 2"
    );
    // Pre/post (RPMSENSE_PREREQ, SCRIPT_PRE…) flagged entries are skipped.
    assert_eq!(dep_to_string(&dep("c", "", 1 << 6)), None);
    assert_eq!(dep_to_string(&dep("c", "", 1 << 9)), None);
}

#[test]
fn task_children_carry_repo_ids() {
    let calls = common::cassette("BackendTest/test_update_state.yml");
    let children = calls
        .iter()
        .find(|c| c.method == "getTaskChildren")
        .expect("children");
    let tasks: Vec<TaskInfo> = Value::from_json(children.result.clone())
        .deserialize()
        .expect("tasks");
    assert_eq!(tasks.len(), 3);
    assert!(tasks.iter().all(|t| t.request_repo_id() == Some(460889)));
    let srpm_calls = common::cassette("PollingTest/test_poll_failed_rebuildSRPM.yml");
    let srpm = srpm_calls
        .iter()
        .find(|c| c.method == "getTaskChildren")
        .unwrap();
    let tasks: Vec<TaskInfo> = Value::from_json(srpm.result.clone())
        .deserialize()
        .expect("tasks");
    assert_eq!(tasks[0].method, "rebuildSRPM");
    assert_eq!(tasks[0].request_repo_id(), Some(1344909));
}

#[test]
fn every_recorded_result_parses_into_its_type() {
    use koschei_koji::{BuildInfo, BuildTarget, PackageEntry, RpmInfo, TagInfo};
    let dir = common::shared_dir().join("fixtures/koschei/data");
    let mut checked = 0;
    for entry in walk(&dir) {
        if entry.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let Ok(calls) = serde_yaml::from_str::<Vec<common::CassetteCall>>(
            &std::fs::read_to_string(&entry).unwrap(),
        ) else {
            continue;
        };
        for c in calls
            .iter()
            .filter(|c| c.exception.is_none() && !c.result.is_null())
        {
            let v = Value::from_json(c.result.clone());
            let ok = match c.method.as_str() {
                "getTaskInfo" => v.deserialize::<TaskInfo>().map(drop),
                "getTaskChildren" => v.deserialize::<Vec<TaskInfo>>().map(drop),
                "listTagged" => v.deserialize::<Vec<BuildInfo>>().map(drop),
                "listRPMs" => v.deserialize::<Vec<RpmInfo>>().map(drop),
                "listPackages" => v.deserialize::<Vec<PackageEntry>>().map(drop),
                "getBuildConfig" => v.deserialize::<TagInfo>().map(drop),
                "getBuildTarget" => v.deserialize::<BuildTarget>().map(drop),
                "repoInfo" => v.deserialize::<RepoInfo>().map(drop),
                "getTagGroups" => v.deserialize::<Vec<TagGroup>>().map(drop),
                "getRPMHeaders" => v.deserialize::<ArchHeaders>().map(drop),
                "listHosts" => v.deserialize::<Vec<Host>>().map(drop),
                _ => continue,
            };
            ok.unwrap_or_else(|e| panic!("{rel}: {}: {e}", c.method));
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} recorded results checked");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
