//! The Rust Koji client round-trips every Koji call Koschei makes (the list in this crate's
//! README, "What it simulates") against koji-sim, and scratch
//! builds succeed or fail exactly as their BuildRequires resolve.

mod common;

use std::time::Duration;

use common::SimProcess;
use koschei_koji::build_group::get_build_group;
use koschei_koji::build_requires::get_build_requires;
use koschei_koji::load::koji_load;
use koschei_koji::srpm_arches::get_srpm_arches;
use koschei_koji::{
    xstruct, BuildOpts, FaultKind, KojiClient, ListTaggedOpts, Nvra, RepoState, TaskInfo,
    TaskState, Value,
};

async fn wait_finished(koji: &KojiClient, task_id: i64) -> TaskInfo {
    for _ in 0..200 {
        let info = koji
            .get_task_info(task_id, false)
            .await
            .unwrap()
            .expect("task exists");
        if info.state.is_finished() {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task_id} did not finish");
}

async fn srpm_of(koji: &KojiClient, name: &str) -> (String, Nvra) {
    let opts = ListTaggedOpts {
        latest: true,
        inherit: true,
        package: Some(name.to_owned()),
        ..ListTaggedOpts::default()
    };
    let build = koji.list_tagged("f99", &opts).await.unwrap().remove(0);
    let rpms = koji.list_rpms(build.id, Some("src")).await.unwrap();
    assert_eq!(rpms.len(), 1);
    let nvra = rpms[0].nvra();
    let url = format!(
        "../packages/{0}/{1}/{2}/src/{0}-{1}-{2}.src.rpm",
        nvra.name, nvra.version, nvra.release
    );
    (url, nvra)
}

async fn scratch_build(koji: &KojiClient, name: &str, repo_id: Option<i64>) -> (i64, TaskInfo) {
    let (url, _) = srpm_of(koji, name).await;
    let opts = BuildOpts {
        scratch: true,
        repo_id,
        ..BuildOpts::default()
    };
    let target = if repo_id.is_some() { None } else { Some("f99") };
    let task_id = koji.build(&url, target, &opts, Some(30)).await.unwrap();
    (task_id, wait_finished(koji, task_id).await)
}

#[tokio::test]
async fn every_koji_call_koschei_makes_round_trips() {
    let sim = SimProcess::start(&["--build-time", "0.2"]);
    let koji = sim.client();

    let target = koji.get_build_target("f99").await.unwrap().expect("target");
    assert_eq!(target.build_tag_name, "f99-build");
    assert_eq!(target.dest_tag_name, "f99");
    assert!(koji.get_build_target("nope").await.unwrap().is_none());
    let config = koji.get_build_config("f99-build").await.unwrap();
    assert_eq!(config.arch_list(), vec!["x86_64"]);

    let packages = koji.list_packages("f99", true).await.unwrap();
    assert_eq!(packages.len(), 14);
    assert!(packages.iter().all(|p| !p.blocked));
    let tagged = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                latest: true,
                inherit: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tagged.len(), 14);
    let event_tagged = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                event: Some(1),
                latest: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(event_tagged.is_empty(), "nothing was tagged at event 1");

    let repo = koji
        .get_repo("f99-build", RepoState::Ready)
        .await
        .unwrap()
        .expect("repo");
    let info = koji.repo_info(repo.id).await.unwrap().expect("repo info");
    assert_eq!(info.create_event, repo.create_event);
    assert_eq!(info.tag_name.as_deref(), Some("f99-build"));
    assert!(koji.repo_info(5).await.unwrap().is_none());

    let groups = koji
        .get_tag_groups("f99-build", Some(repo.create_event))
        .await
        .unwrap();
    assert_eq!(groups[0].name, "build");
    let group = get_build_group(&koji, "f99-build", "build", repo.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group, vec!["bash", "coreutils", "make", "rpm-build"]);

    let (_, foo) = srpm_of(&koji, "foo-app").await;
    let brs = get_build_requires(&koji, &[foo.clone(), foo.clone(), foo.clone(), foo.clone()])
        .await
        .unwrap();
    assert_eq!(brs.len(), 4);
    assert_eq!(
        brs[3].as_ref().unwrap(),
        &vec!["gcc", "make", "libfoo-devel >= 1.0"]
    );
    let arches = get_srpm_arches(
        &koji,
        &config.arch_list(),
        &foo,
        None,
        &["x86_64".to_owned()],
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(arches.into_iter().collect::<Vec<_>>(), vec!["x86_64"]);
    let (_, py) = srpm_of(&koji, "py-tool").await;
    let headers = koji.get_arch_headers(&py).await.unwrap().unwrap();
    assert_eq!(headers.build_archs, vec!["noarch"]);
    let missing = Nvra {
        name: "nope".into(),
        version: "1".into(),
        release: "1".into(),
        arch: "src".into(),
    };
    assert!(koji.get_arch_headers(&missing).await.unwrap().is_none());

    let channel = koji.get_channel("default").await.unwrap().unwrap();
    let hosts = koji
        .list_hosts(&["x86_64".to_owned()], Some(channel.id), true)
        .await
        .unwrap();
    assert_eq!(hosts.len(), 4);
    let load = koji_load(&koji, &["x86_64".to_owned()], &["x86_64".to_owned()])
        .await
        .unwrap();
    assert!((0.0..=1.0).contains(&load));

    // A scratch build that resolves, its task tree and result.
    let (task_id, parent) = scratch_build(&koji, "foo-app", None).await;
    assert_eq!(parent.state, TaskState::Closed);
    assert!(koji.get_task_result(task_id).await.unwrap().is_nil());
    let children = koji.get_task_children(task_id, true).await.unwrap();
    let methods: Vec<&str> = children.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, vec!["rebuildSRPM", "buildArch"]);
    assert!(children
        .iter()
        .all(|c| c.request_repo_id() == Some(repo.id)));
    let infos = koji.get_task_infos(&[task_id, 424242]).await.unwrap();
    assert_eq!(infos[0].as_ref().unwrap().as_ref().unwrap().id, task_id);
    assert!(infos[1].as_ref().unwrap().is_none());
    let kids = koji.get_tasks_children(&[task_id]).await.unwrap();
    assert_eq!(kids[0].as_ref().unwrap().len(), 2);

    // Cancel a running build.
    let (url, _) = srpm_of(&koji, "foo-app").await;
    koji.call("sim.setBuildTime", vec![Value::Double(30.0)])
        .await
        .unwrap();
    let running = koji
        .build(
            &url,
            Some("f99"),
            &BuildOpts {
                scratch: true,
                ..Default::default()
            },
            Some(30),
        )
        .await
        .unwrap();
    koji.cancel_task(running).await.unwrap();
    assert_eq!(
        wait_finished(&koji, running).await.state,
        TaskState::Canceled
    );
    let err = koji.get_task_result(running).await.unwrap_err();
    assert_eq!(err.fault_kind(), Some(FaultKind::GenericError));
    koji.call("sim.setBuildTime", vec![Value::Double(0.2)])
        .await
        .unwrap();

    // Real builds of the seed carry a buildArch child with the repo id.
    let real = tagged.iter().find(|b| b.name == "bash").unwrap();
    let real_children = koji
        .get_task_children(real.task_id.unwrap(), true)
        .await
        .unwrap();
    assert_eq!(real_children[0].method, "buildArch");
    assert_eq!(real_children[0].request_repo_id(), Some(repo.id));

    // The repo_regen plugin's calls.
    assert!(koji.get_tag("f99-side").await.unwrap().is_none());
    let tag_id = koji
        .create_tag("f99-side", None, Some("x86_64"))
        .await
        .unwrap();
    let build_tag_id = koji
        .create_tag("f99-side-build", Some("f99-side"), Some("x86_64"))
        .await
        .unwrap();
    assert_eq!(
        koji.get_tag(tag_id).await.unwrap().unwrap().name,
        "f99-side"
    );
    koji.create_build_target("f99-side", "f99-side-build", "f99-side")
        .await
        .unwrap();
    koji.group_list_add("f99-side-build", "build")
        .await
        .unwrap();
    koji.group_package_list_add("f99-side-build", "build", "bash", "mandatory", false)
        .await
        .unwrap();
    let side_groups = koji.get_tag_groups(build_tag_id, None).await.unwrap();
    assert_eq!(side_groups[0].packagelist[0].package, "bash");
    let ext = koji
        .create_external_repo(
            "f99-1000",
            &format!("{}/repos/f99-build/1000/$arch", sim.topurl),
        )
        .await
        .unwrap();
    assert_eq!(
        koji.get_external_repo("f99-1000")
            .await
            .unwrap()
            .unwrap()
            .id,
        ext.id
    );
    koji.add_external_repo_to_tag("f99-side-build", "f99-1000", 0)
        .await
        .unwrap();
    let tag_repos = koji.get_tag_external_repos("f99-side-build").await.unwrap();
    assert_eq!(tag_repos[0].external_repo_name, "f99-1000");
    koji.remove_external_repo_from_tag("f99-side-build", "f99-1000")
        .await
        .unwrap();
    assert!(koji
        .get_tag_external_repos("f99-side-build")
        .await
        .unwrap()
        .is_empty());
    let new_repo_task = koji.new_repo("f99-side-build").await.unwrap();
    assert_eq!(
        wait_finished(&koji, new_repo_task).await.state,
        TaskState::Closed
    );
    let createrepo = koji.get_task_children(new_repo_task, true).await.unwrap();
    let side_repo = createrepo[0].request.as_ref().unwrap()[0].as_i64().unwrap();
    assert_eq!(
        koji.repo_info(side_repo).await.unwrap().unwrap().state,
        RepoState::Ready
    );
    let dup = koji.create_tag("f99-side", None, None).await.unwrap_err();
    assert_eq!(dup.fault_kind(), Some(FaultKind::GenericError));
}

#[tokio::test]
async fn builds_fail_exactly_when_buildrequires_do_not_resolve() {
    let sim = SimProcess::start(&["--build-time", "0.1"]);
    let koji = sim.client();
    let (ok_task, ok) = scratch_build(&koji, "foo-app", None).await;
    assert_eq!(ok.state, TaskState::Closed);
    let (bad_task, bad) = scratch_build(&koji, "broken", None).await;
    assert_eq!(bad.state, TaskState::Failed);
    let fault = koji.get_task_result(bad_task).await.unwrap_err();
    assert_eq!(fault.fault_kind(), Some(FaultKind::BuildError));
    // The failed buildArch's root.log names the missing BuildRequire.
    let children = koji.get_task_children(bad_task, false).await.unwrap();
    let arch = children.iter().find(|c| c.method == "buildArch").unwrap();
    let url = format!(
        "{}/work/tasks/{}/{}/root.log",
        sim.topurl,
        arch.id % 10000,
        arch.id
    );
    let log = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(log.contains("nonexistent-devel"), "{log}");
    let ok_children = koji.get_task_children(ok_task, false).await.unwrap();
    assert!(ok_children.iter().all(|c| c.state == TaskState::Closed));
    // File and versioned BuildRequires resolve too.
    assert_eq!(
        scratch_build(&koji, "perl-thing", None).await.1.state,
        TaskState::Closed
    );
    assert_eq!(
        scratch_build(&koji, "py-tool", None).await.1.state,
        TaskState::Closed
    );
}

#[tokio::test]
async fn scenario_new_build_changes_resolution_in_new_repo_only() {
    let sim = SimProcess::start(&["--build-time", "0.1"]);
    let koji = sim.client();
    let old_repo = koji
        .get_repo("f99-build", RepoState::Ready)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        scratch_build(&koji, "needs-new-foo", None).await.1.state,
        TaskState::Failed
    );

    let spec = xstruct! {
        "name" => "libfoo", "version" => "2.0", "release" => "1",
        "buildrequires" => vec!["gcc", "make"],
        "binaries" => vec![
            Value::Struct(xstruct! {"name" => "libfoo", "provides" => vec!["libfoo.so.2()(64bit)"], "requires" => vec!["glibc"], "files" => vec!["/usr/lib64/libfoo.so.2"]}),
            Value::Struct(xstruct! {"name" => "libfoo-devel", "requires" => vec!["libfoo = 2.0-1"], "files" => vec!["/usr/include/foo.h"]}),
        ],
        "tag" => "f99",
    };
    let imported = koji
        .call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
    assert_eq!(imported.get("nvr"), Some(&Value::str("libfoo-2.0-1")));
    let new_repo = koji
        .call("sim.regenRepo", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert!(new_repo > old_repo);
    assert_eq!(
        koji.repo_info(old_repo).await.unwrap().unwrap().state,
        RepoState::Expired
    );
    assert_eq!(
        koji.get_repo("f99-build", RepoState::Ready)
            .await
            .unwrap()
            .unwrap()
            .id,
        new_repo
    );

    // Built against the new repo it resolves; in the old one it still does not.
    assert_eq!(
        scratch_build(&koji, "needs-new-foo", None).await.1.state,
        TaskState::Closed
    );
    assert_eq!(
        scratch_build(&koji, "needs-new-foo", Some(old_repo))
            .await
            .1
            .state,
        TaskState::Failed
    );
    // foo-app's libfoo.so.1 requirement still resolves: libfoo-devel >= 1.0 is now 2.0.
    assert_eq!(
        scratch_build(&koji, "foo-app", Some(new_repo))
            .await
            .1
            .state,
        TaskState::Closed
    );

    // The new build is latest and carries a repo id; untagging brings 1.2 back.
    let latest = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                latest: true,
                package: Some("libfoo".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(latest[0].version, "2.0");
    let children = koji
        .get_task_children(latest[0].task_id.unwrap(), true)
        .await
        .unwrap();
    assert_eq!(children[0].request_repo_id(), Some(old_repo));
    koji.call(
        "sim.untagBuild",
        vec![Value::str("f99"), Value::str("libfoo-2.0-1")],
    )
    .await
    .unwrap();
    let latest = koji
        .list_tagged(
            "f99",
            &ListTaggedOpts {
                latest: true,
                package: Some("libfoo".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(latest[0].version, "1.2");
    let third = koji
        .call("sim.regenRepo", vec![Value::str("f99-build")])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    assert_eq!(
        scratch_build(&koji, "needs-new-foo", Some(third))
            .await
            .1
            .state,
        TaskState::Failed
    );

    // The repodata of the new repo is served and lists the new package.
    let repomd = reqwest::get(format!(
        "{}/repos/f99-build/{new_repo}/x86_64/repodata/repomd.xml",
        sim.topurl
    ))
    .await
    .unwrap();
    assert!(repomd.status().is_success());
    let messages = koji.call("sim.messages", vec![]).await.unwrap();
    let topics: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("topic").and_then(Value::as_str))
        .collect();
    for t in [
        "buildsys.tag",
        "buildsys.untag",
        "buildsys.repo.done",
        "buildsys.task.state.change",
    ] {
        assert!(
            topics.contains(&format!("org.fedoraproject.prod.{t}").as_str()),
            "{t} missing from {topics:?}"
        );
    }
}

#[tokio::test]
async fn failure_rates_are_seeded_and_infra_failures_are_raw_faults() {
    let sim = SimProcess::start(&[
        "--build-time",
        "0",
        "--infra-failure-rate",
        "1",
        "--seed-random",
        "7",
    ]);
    let koji = sim.client();
    let (task, info) = scratch_build(&koji, "foo-app", None).await;
    assert_eq!(info.state, TaskState::Failed);
    let fault = koji.get_task_result(task).await.unwrap_err();
    assert_eq!(
        fault.fault_kind(),
        Some(FaultKind::Other),
        "infra failures are not Koji errors"
    );
    let children = koji.get_task_children(task, true).await.unwrap();
    assert_eq!(children.len(), 1, "only the failed rebuildSRPM");
    assert_eq!(
        children[0].request_repo_id(),
        koji.get_repo("f99-build", RepoState::Ready)
            .await
            .unwrap()
            .map(|r| r.id)
    );

    koji.call("sim.setInfraFailureRate", vec![Value::Double(0.0)])
        .await
        .unwrap();
    koji.call("sim.setFailureRate", vec![Value::Double(1.0)])
        .await
        .unwrap();
    let (task, info) = scratch_build(&koji, "foo-app", None).await;
    assert_eq!(info.state, TaskState::Failed);
    assert_eq!(
        koji.get_task_result(task).await.unwrap_err().fault_kind(),
        Some(FaultKind::BuildError)
    );
    let bad_rate = koji
        .call("sim.setFailureRate", vec![Value::Double(2.0)])
        .await
        .unwrap_err();
    assert_eq!(bad_rate.fault_kind(), Some(FaultKind::ParameterError));
}

#[tokio::test]
async fn authenticated_session_is_accepted() {
    let sim = SimProcess::start(&[]);
    let koji = sim.logged_in_client().await;
    let user = koji.call("getLoggedInUser", vec![]).await.unwrap();
    assert_eq!(user.get("name"), Some(&Value::str("koschei")));
    let anonymous = sim.client().call("getLoggedInUser", vec![]).await.unwrap();
    assert!(anonymous.is_nil());
}

/// Side tags (Koji's sidetag plugin) with a logged-in client: created on the build tag
/// with a first repo whose repodata is served and built in, listed by base tag and user,
/// changed by a build of their own, removed together with their repos.
#[tokio::test]
async fn side_tags_are_created_listed_built_in_and_removed() {
    let sim = SimProcess::start(&["--build-time", "0.1"]);
    let anonymous = sim.client();
    let refused = anonymous
        .call("createSideTag", vec![Value::str("f99-build")])
        .await
        .unwrap_err();
    assert_eq!(refused.fault_kind(), Some(FaultKind::ActionNotAllowed));
    let koji = sim.logged_in_client().await;

    let side = koji
        .call_kw(
            "createSideTag",
            vec![],
            xstruct! {"basetag" => "f99-build", "suffix" => "mass"},
        )
        .await
        .unwrap();
    let id = side.get("id").and_then(Value::as_i64).unwrap();
    let name = side.get("name").and_then(Value::as_str).unwrap().to_owned();
    assert_eq!(name, format!("f99-build-side-{id}-mass"));
    let tag = koji
        .get_tag(name.as_str())
        .await
        .unwrap()
        .expect("side tag");
    assert_eq!(tag.id, id);
    let target = koji.get_build_target(name.as_str()).await.unwrap().unwrap();
    assert_eq!((target.build_tag, target.dest_tag), (Some(id), Some(id)));

    let listed = koji
        .call_kw(
            "listSideTags",
            vec![],
            xstruct! {"basetag" => "f99-build", "user" => "koschei"},
        )
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].get("id").and_then(Value::as_i64), Some(id));
    assert_eq!(listed[0].get("user_name"), Some(&Value::str("koschei")));
    let other_base = koji
        .call("listSideTags", vec![Value::str("f99")])
        .await
        .unwrap();
    assert!(other_base.as_array().unwrap().is_empty());

    // Its first repo is there at once, served, and builds resolve in it.
    let first = koji
        .get_repo(name.as_str(), RepoState::Ready)
        .await
        .unwrap()
        .expect("first side tag repo");
    let repomd = reqwest::get(format!(
        "{}/repos/{name}/{}/x86_64/repodata/repomd.xml",
        sim.topurl, first.id
    ))
    .await
    .unwrap();
    assert!(repomd.status().is_success());
    let (_, built) = scratch_build(&koji, "foo-app", Some(first.id)).await;
    assert_eq!(built.state, TaskState::Closed);

    // libfoo without libfoo-devel in the side tag: foo-app no longer resolves there.
    koji.call(
        "sim.importBuild",
        vec![Value::Struct(xstruct! {
            "name" => "libfoo", "version" => "3.0", "release" => "1", "tag" => name.as_str(),
        })],
    )
    .await
    .unwrap();
    let changed = koji
        .call("sim.regenRepo", vec![Value::str(&name)])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let (_, failed) = scratch_build(&koji, "foo-app", Some(changed)).await;
    assert_eq!(failed.state, TaskState::Failed);
    let (_, base) = scratch_build(&koji, "foo-app", None).await;
    assert_eq!(base.state, TaskState::Closed);

    let not_side = koji
        .call("removeSideTag", vec![Value::str("f99")])
        .await
        .unwrap_err();
    assert_eq!(not_side.fault().unwrap().message, "Not a sidetag: f99");
    let removed = koji
        .call("removeSideTag", vec![Value::Int(id)])
        .await
        .unwrap();
    assert!(removed.is_nil());
    assert!(koji.get_tag(name.as_str()).await.unwrap().is_none());
    assert!(koji
        .get_build_target(name.as_str())
        .await
        .unwrap()
        .is_none());
    for repo in [first.id, changed] {
        let info = koji.repo_info(repo).await.unwrap().unwrap();
        assert_eq!(info.state, RepoState::Deleted);
    }
    let left = koji.call("listSideTags", vec![]).await.unwrap();
    assert!(left.as_array().unwrap().is_empty());
}
