//! A restarted simulator must never write into its seed: the first repo is
//! hard-linked from the seed files, so rewriting it in place would truncate
//! the seed (this once emptied a shared corpus).

use std::path::Path;

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for path in walk(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&path, &target).unwrap();
    }
}

#[tokio::test]
async fn restarting_on_the_same_state_leaves_the_seed_intact() {
    let seed = tempfile::tempdir().unwrap();
    copy_dir(&koji_sim::tiny_seed(), seed.path());
    // gzip the binary primary so that the first repo is linked, not rewritten
    let primary = seed.path().join("repodata/primary.xml");
    let xml = std::fs::read(&primary).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &xml).unwrap();
    std::fs::write(
        seed.path().join("repodata/primary.xml.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::remove_file(&primary).unwrap();
    let repomd = std::fs::read_to_string(seed.path().join("repodata/repomd.xml")).unwrap();
    std::fs::write(
        seed.path().join("repodata/repomd.xml"),
        repomd.replace("repodata/primary.xml\"", "repodata/primary.xml.gz\""),
    )
    .unwrap();
    let before = snapshot(seed.path());

    let state = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let mut config = koji_sim::Config {
            seed: seed.path().to_path_buf(),
            ..test_config(state.path())
        };
        config.listen = "127.0.0.1:0".parse().unwrap();
        let running = koji_sim::start(config).await.expect("koji-sim starts");
        running.server.abort();
    }
    assert_eq!(snapshot(seed.path()), before, "the seed changed");
}

fn test_config(state: &Path) -> koji_sim::Config {
    koji_sim::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: koji_sim::tiny_seed(),
        collection: "f99".into(),
        amqp_url: None,
        behaviour: koji_sim::sim::Behaviour {
            build_time: 0.1,
            failure_rate: 0.0,
            infra_failure_rate: 0.0,
            seed_random: 1,
        },
        state_dir: state.to_path_buf(),
        tls: None,
        gssapi_keytab: None,
        disable_url_sessions: false,
    }
}

/// The hub state lives in memory: a restart on the same state directory begins
/// anew, but with ids past the previous run's, so a client never sees a repo or
/// task id again that meant something else before.
#[tokio::test]
async fn a_restart_never_reuses_ids() {
    let state = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let running = koji_sim::start(test_config(state.path()))
            .await
            .expect("koji-sim starts");
        let koji = koschei_koji::client::KojiClient::anonymous(koschei_koji::KojiConfig::new(
            &running.hub_url,
            &running.topurl,
        ))
        .unwrap();
        let repo = koji
            .get_repo("f99-build", koschei_koji::model::RepoState::Ready)
            .await
            .unwrap()
            .expect("a first repo");
        let next_repo = koji
            .call("sim.regenRepo", vec![])
            .await
            .unwrap()
            .as_i64()
            .unwrap();
        let opts = koschei_koji::client::calls::BuildOpts {
            scratch: true,
            ..Default::default()
        };
        let task = koji
            .build(
                "../packages/foo-app/0.9/3/src/foo-app-0.9-3.src.rpm",
                Some("f99"),
                &opts,
                None,
            )
            .await
            .unwrap();
        seen.push((repo.id, next_repo, task));
        running.server.abort();
    }
    let (first, second) = (seen[0], seen[1]);
    assert!(second.0 > first.1, "repo ids reused: {seen:?}");
    assert!(second.2 > first.2, "task ids reused: {seen:?}");
}
