//! Package order in generated repos. Koji's repos are written by createrepo_c, which
//! orders packages by file name (`task_cmp` in its `src/createrepo_c.c`), so a rebuilt
//! package keeps its place among the others; solvers see the same relative order (and
//! the resolver's incremental planner, which needs it, can reuse results). The simulator
//! keeps the seed's order: a rebuilt binary takes its predecessor's place, and binaries
//! of new names follow the seed in file-name order.

mod common;

use std::io::Read;
use std::path::Path;

use common::{repodata_file, SimProcess};
use koschei_koji::{xstruct, Value};

/// The `<name>`s of a primary file, in order.
fn names(primary: &Path) -> Vec<String> {
    let mut text = String::new();
    let file = std::fs::File::open(primary).unwrap();
    if primary.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    text.split("<package ")
        .skip(1)
        .map(|p| {
            let start = p.find("<name>").unwrap() + "<name>".len();
            p[start..start + p[start..].find("</name>").unwrap()].to_owned()
        })
        .collect()
}

async fn import(koji: &koschei_koji::KojiClient, name: &str, version: &str) {
    let spec = xstruct! {
        "name" => name, "version" => version, "release" => "1", "tag" => "f99",
        "binaries" => vec![Value::Struct(xstruct! { "name" => name })],
    };
    koji.call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
}

async fn regen(koji: &koschei_koji::KojiClient) -> i64 {
    match koji.call("sim.regenRepo", vec![]).await.unwrap() {
        Value::Int(id) => id,
        other => panic!("regenRepo returned {other:?}"),
    }
}

#[tokio::test]
async fn a_rebuilt_package_keeps_its_place_and_new_ones_follow_in_file_name_order() {
    let sim = SimProcess::start(&[]);
    let koji = sim.client();
    let seed = names(&common::tiny_seed().join("repodata/primary.xml"));
    assert!(seed.iter().any(|n| n == "glibc"), "{seed:?}");

    // glibc is rebuilt without glibc-devel (the old build's binaries are dropped), two
    // new names appear
    import(&koji, "zzz-new", "1").await;
    import(&koji, "glibc", "99").await;
    import(&koji, "aaa-new", "1").await;
    let first = regen(&koji).await;
    let mut expected: Vec<String> = seed.into_iter().filter(|n| n != "glibc-devel").collect();
    expected.extend(["aaa-new".to_string(), "zzz-new".to_string()]);
    let in_repo = names(&repodata_file(
        sim.state_dir.path(),
        first,
        "primary.xml.gz",
    ));
    assert_eq!(in_repo, expected);

    // rebuilding a binary that was new before keeps it in its place as well
    import(&koji, "aaa-new", "2").await;
    let second = regen(&koji).await;
    assert_eq!(
        names(&repodata_file(
            sim.state_dir.path(),
            second,
            "primary.xml.gz"
        )),
        expected
    );
}
