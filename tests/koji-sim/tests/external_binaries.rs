//! Seed binaries whose source package is not in the seed (a sampled seed, as the demo
//! cuts from the corpus) belong to that package: a new build of it replaces them in later
//! repos, binary by binary versioned as the build says.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{tiny_seed, SimProcess};
use koschei_koji::{xstruct, BuildOpts, KojiClient, TaskState, Value};

/// The tiny seed without the source package `libfoo` (its binaries stay in the repo).
fn seed_without_libfoo_source(dir: &Path) {
    let tiny = tiny_seed();
    std::fs::create_dir_all(dir.join("repodata")).unwrap();
    for f in std::fs::read_dir(tiny.join("repodata")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join("repodata").join(f.file_name())).unwrap();
    }
    let src = tiny.join("source/repodata");
    let out = dir.join("source/repodata");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(src.join("repomd.xml"), out.join("repomd.xml")).unwrap();
    let primary = std::fs::read_to_string(src.join("primary.xml")).unwrap();
    let start = primary.find("<name>libfoo</name>").unwrap();
    let start = primary[..start].rfind("<package ").unwrap();
    let end = start + primary[start..].find("</package>").unwrap() + "</package>".len();
    let without = format!("{}{}", &primary[..start], &primary[end..]);
    std::fs::write(out.join("primary.xml"), without).unwrap();
}

async fn scratch_build(koji: &KojiClient, name: &str, nvr: &str) -> TaskState {
    let (version, release) = nvr.rsplit_once('-').unwrap();
    let url = format!("../packages/{name}/{version}/{release}/src/{name}-{nvr}.src.rpm");
    let opts = BuildOpts {
        scratch: true,
        ..BuildOpts::default()
    };
    let task = koji
        .build(&url, Some("f99"), &opts, Some(30))
        .await
        .unwrap();
    for _ in 0..200 {
        let info = koji.get_task_info(task, false).await.unwrap().unwrap();
        if info.state.is_finished() {
            return info.state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {task} did not finish");
}

#[tokio::test]
async fn new_build_replaces_seed_binaries_of_a_package_outside_the_seed() {
    let seed = tempfile::tempdir().unwrap();
    seed_without_libfoo_source(seed.path());
    let sim = SimProcess::start_on(seed.path(), &["--build-time", "0.1"]);
    let koji = sim.client();
    // foo-app build-requires libfoo-devel >= 1.0: the seed's 1.2, built from libfoo.
    assert_eq!(
        scratch_build(&koji, "foo-app", "0.9-3").await,
        TaskState::Closed
    );

    // libfoo 3.0 no longer builds libfoo-devel; its library is versioned apart.
    let spec = xstruct! {
        "name" => "libfoo", "version" => "3.0", "release" => "1", "tag" => "f99",
        "binaries" => vec![Value::Struct(xstruct! {
            "name" => "libfoo", "version" => "3.0.1", "release" => "2",
            "provides" => vec!["libfoo.so.3()(64bit)"],
        })],
    };
    let build = koji
        .call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
    koji.call("sim.regenRepo", vec![]).await.unwrap();

    assert_eq!(
        scratch_build(&koji, "foo-app", "0.9-3").await,
        TaskState::Failed
    );
    let build_id = build.get("build_id").and_then(Value::as_i64).unwrap();
    let rpms = koji.list_rpms(build_id, None).await.unwrap();
    let lib = rpms
        .iter()
        .find(|r| r.name == "libfoo" && r.arch != "src")
        .unwrap();
    assert_eq!((lib.version.as_str(), lib.release.as_str()), ("3.0.1", "2"));
}
