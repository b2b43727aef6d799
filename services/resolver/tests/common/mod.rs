//! Test harness: a koji-sim hub seeded with Koschei's fixture repo `primary-f25-build-123`
//! (binaries A, B, C, D, E, F, R, bar, qt-x11, sni-qt, plasma-workspace, copr-test*) plus
//! hand-written source packages, and a resolver [`Context`] on the test database.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use koji_sim::sim::Behaviour;
use koschei_core::fixtures;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::Config;
use koschei_depsolve::Nevra;
use koschei_koji::{KojiClient, KojiConfig, Value};
use koschei_resolver::context::Context;
use sqlx::PgPool;

pub const MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A BuildRequire as an rpm-md entry: (name, flags, version).
pub type Entry = (&'static str, &'static str, &'static str);

/// Source packages of the seed: (name, BuildRequires).
pub const SOURCES: &[(&str, &[Entry])] = &[
    ("foo", &[("A", "", ""), ("F", "", "")]),
    ("broken", &[("nonexistent", "", "")]),
    ("csh-user", &[("/bin/csh", "", "")]),
    (
        "rich-br",
        &[
            ("(sni-qt(x86-64) if plasma-workspace)", "", ""),
            ("plasma-workspace", "", ""),
        ],
    ),
    ("rich-req", &[("qt-x11", "", "")]),
    (
        "rich-only",
        &[("(sni-qt(x86-64) if plasma-workspace)", "", "")],
    ),
    ("versioned-ok", &[("A", "GE", "1")]),
    ("versioned-bad", &[("A", "GT", "1-1.fc22")]),
    ("needs-libx", &[("libx", "GE", "2"), ("liby", "", "")]),
    ("mylib-user", &[("mylib", "", "")]),
    // one BuildRequire nothing provides, one whose provider (bar) requires `nonexistent`
    ("half-broken", &[("libnone.so.1", "", ""), ("bar", "", "")]),
    // incremental passes with traces (tests/incremental_traced.rs): `uses-cap` requires
    // `cap`, which `capA` provides (asked for directly by grown-user only)
    ("grown-user", &[("uses-cap", "", ""), ("capA", "", "")]),
    ("grown-forced", &[("uses-cap", "", "")]),
    ("gone-user", &[("libgone", "", "")]),
    // impact checks (tests/impact_check.rs): libwidget-devel and widget-tool come from
    // builds the tests import
    ("widget-a", &[("libwidget-devel", "", "")]),
    ("widget-b", &[("libwidget-devel", "", "")]),
    ("widget-tool-user", &[("widget-tool", "", "")]),
    ("gadget-user", &[("gadget", "", "")]),
];

/// The problems of half-broken in the fixture repo: the missing BuildRequire, then the
/// solver's problem with the rest (Koschei's `koschei/backend/depsolve.py` wording).
pub const HALF_BROKEN_PROBLEMS: [&str; 2] = [
    "No package found for: libnone.so.1",
    "Problem: conflicting requests\n - nothing provides nonexistent needed by bar-1-1.fc22.x86_64",
];

/// Every source is version 1, release 1.
pub const VERSION: &str = "1";
pub const RELEASE: &str = "1";

/// The resolution of foo (BuildRequires A, F; build group R) in the fixture repo.
pub fn foo_deps() -> Vec<Nevra> {
    [
        ("A", 0, "1", "1.fc22", "x86_64"),
        ("B", 0, "4.1", "2.fc22", "noarch"),
        ("C", 1, "3", "1.fc22", "x86_64"),
        ("D", 2, "8.b", "1.rc1.fc22", "x86_64"),
        ("E", 0, "0.1", "1.fc22.1", "noarch"),
        ("F", 0, "1", "1.fc22", "noarch"),
        ("R", 0, "3.3", "2.fc22", "x86_64"),
    ]
    .into_iter()
    .map(|(n, e, v, r, a)| nevra(n, e, v, r, a))
    .collect()
}

pub fn nevra(name: &str, epoch: u32, version: &str, release: &str, arch: &str) -> Nevra {
    Nevra {
        name: name.into(),
        epoch,
        version: version.into(),
        release: release.into(),
        arch: arch.into(),
    }
}

fn shared() -> PathBuf {
    koschei_core::testdata::shared_path("fixtures/koschei/repos/primary-f25-build-123/repodata")
}

const COMPS: &str = r#"<?xml version="1.0"?>
<comps>
  <group>
    <id>build</id>
    <name>build</name>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">R</packagereq>
    </packagelist>
  </group>
</comps>
"#;

/// Writes the seed's binary repository (with comps) under `dir` and its sources under
/// `dir/source`.
pub fn write_seed(dir: &Path) {
    let repodata = dir.join("repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    for f in ["primary.xml", "filelists.xml"] {
        std::fs::copy(shared().join(f), repodata.join(f)).unwrap();
    }
    std::fs::write(repodata.join("comps.xml"), COMPS).unwrap();
    std::fs::write(
        repodata.join("repomd.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><location href="repodata/primary.xml"/></data>
  <data type="filelists"><location href="repodata/filelists.xml"/></data>
  <data type="group"><location href="repodata/comps.xml"/></data>
</repomd>
"#,
    )
    .unwrap();
    let src = dir.join("source/repodata");
    std::fs::create_dir_all(&src).unwrap();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    for (i, (name, brs)) in SOURCES.iter().enumerate() {
        xml.push_str(&format!(
            "<package type=\"rpm\"><name>{name}</name><arch>src</arch>\
             <version epoch=\"0\" ver=\"{VERSION}\" rel=\"{RELEASE}\"/>\
             <checksum type=\"sha256\" pkgid=\"YES\">{i:064}</checksum>\
             <location href=\"Packages/{name}-1-1.src.rpm\"/><format><rpm:sourcerpm></rpm:sourcerpm><rpm:requires>"
        ));
        for (n, flags, ver) in brs.iter() {
            let n = n
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            if flags.is_empty() {
                xml.push_str(&format!("<rpm:entry name=\"{n}\"/>"));
            } else {
                let (v, r) = ver.split_once('-').unwrap_or((ver, ""));
                let rel = if r.is_empty() {
                    String::new()
                } else {
                    format!(" rel=\"{r}\"")
                };
                xml.push_str(&format!(
                    "<rpm:entry name=\"{n}\" flags=\"{flags}\" epoch=\"0\" ver=\"{v}\"{rel}/>"
                ));
            }
        }
        xml.push_str("</rpm:requires></format></package>\n");
    }
    xml.push_str("</metadata>\n");
    std::fs::write(src.join("primary.xml"), xml).unwrap();
    std::fs::write(
        src.join("repomd.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="primary"><location href="repodata/primary.xml"/></data>
</repomd>
"#,
    )
    .unwrap();
}

/// A test environment.
pub struct Env {
    pub pool: PgPool,
    pub sim: koji_sim::Running,
    pub koji: KojiClient,
    pub ctx: Context,
    pub collection_id: i32,
    pub dir: tempfile::TempDir,
}

/// Starts koji-sim and creates collection `f99` (build tag `f99-build`) with no repo yet.
pub async fn env(pool: PgPool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    write_seed(&dir.path().join("seed"));
    let sim = koji_sim::start(koji_sim::Config {
        listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        seed: dir.path().join("seed"),
        collection: "f99".into(),
        amqp_url: None,
        behaviour: Behaviour {
            build_time: 1.0,
            failure_rate: 0.0,
            infra_failure_rate: 0.0,
            seed_random: 0,
        },
        state_dir: dir.path().join("sim"),
        tls: None,
        gssapi_keytab: None,
        disable_url_sessions: false,
    })
    .await
    .unwrap();
    let koji = KojiClient::anonymous(KojiConfig {
        max_retries: 1,
        retry_interval: std::time::Duration::from_millis(20),
        ..KojiConfig::new(&sim.hub_url, &sim.topurl)
    })
    .unwrap();
    let collection_id = fixtures::collection(&pool, "f99").await;
    sqlx::query("UPDATE collection SET latest_repo_id = NULL, latest_repo_resolved = NULL")
        .execute(&pool)
        .await
        .unwrap();
    let ctx = context(&pool, &koji, dir.path(), 2);
    Env {
        pool,
        sim,
        koji,
        ctx,
        collection_id,
        dir,
    }
}

/// A resolver context (an "instance") with its own caches.
pub fn context(pool: &PgPool, koji: &KojiClient, dir: &Path, chunk: usize) -> Context {
    let mut config = Config::default();
    config.directories.cachedir = dir.join("cache");
    config.fedmsg_publisher.enabled = true;
    config.priorities.package_update = 20.0;
    config.dependency.persist_chunk_size = chunk;
    config.dependency.resolver_threads = 2;
    Context::new(pool.clone(), config, KojiSessions::new(koji.clone(), None)).unwrap()
}

impl Env {
    /// Adds tracked package `name` with a complete real build of version 1-1 built in
    /// `repo_id`. Returns (package id, build id).
    pub async fn package(&self, name: &str, repo_id: Option<i32>) -> (i32, i32) {
        let pkg = fixtures::package(&self.pool, self.collection_id, name).await;
        sqlx::query("UPDATE package SET resolved = NULL WHERE id = $1")
            .bind(pkg)
            .execute(&self.pool)
            .await
            .unwrap();
        let build = self.build(pkg, 3, repo_id, 10.0).await;
        (pkg, build)
    }

    /// Adds a build (state 2, 3 or 5) of version 1-1 started `hours` ago.
    pub async fn build(&self, pkg: i32, state: i32, repo_id: Option<i32>, hours: f64) -> i32 {
        use koschei_core::model::BuildState;
        let kind = match state {
            2 => BuildState::Running,
            5 => BuildState::Failed,
            _ => BuildState::Complete,
        };
        let mut b = fixtures::NewBuild::new(kind, hours);
        b.version = VERSION.into();
        b.release = RELEASE.into();
        b.repo_id = repo_id;
        b.real = state != 2;
        let id = fixtures::build(&self.pool, pkg, b).await;
        sqlx::query("UPDATE build SET state = $2, finished = CASE WHEN $2 = 2 THEN NULL ELSE finished END WHERE id = $1")
            .bind(id)
            .bind(state)
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    /// A new READY repo of f99-build with the current content.
    pub async fn regen_repo(&self) -> i32 {
        let v = self.koji.call("sim.regenRepo", vec![]).await.unwrap();
        match v {
            Value::Int(i) => i as i32,
            other => panic!("regenRepo returned {other:?}"),
        }
    }

    /// Imports and tags into f99 a build with binaries `(name, [provides], [requires])`.
    pub async fn import(&self, name: &str, version: &str, binaries: &[(&str, &[&str], &[&str])]) {
        self.import_into("f99", name, version, binaries).await
    }

    /// Imports a build with binaries `(name, [provides], [requires])` and tags it into
    /// `tag`.
    pub async fn import_into(
        &self,
        tag: &str,
        name: &str,
        version: &str,
        binaries: &[(&str, &[&str], &[&str])],
    ) {
        let bins: Vec<Value> = binaries
            .iter()
            .map(|(n, prov, req)| {
                let mut s = koschei_koji::xmlrpc::Struct::new();
                s.insert("name".into(), Value::str(*n));
                s.insert("arch".into(), Value::str("x86_64"));
                s.insert(
                    "provides".into(),
                    Value::Array(prov.iter().map(|p| Value::str(*p)).collect()),
                );
                s.insert(
                    "requires".into(),
                    Value::Array(req.iter().map(|p| Value::str(*p)).collect()),
                );
                Value::Struct(s)
            })
            .collect();
        let mut spec = koschei_koji::xmlrpc::Struct::new();
        spec.insert("name".into(), Value::str(name));
        spec.insert("version".into(), Value::str(version));
        spec.insert("release".into(), Value::str("1"));
        spec.insert("tag".into(), Value::str(tag));
        spec.insert("binaries".into(), Value::Array(bins));
        self.koji
            .call("sim.importBuild", vec![Value::Struct(spec)])
            .await
            .unwrap();
    }

    /// A client logged in to koji-sim (with a client certificate it takes on trust).
    pub async fn logged_in_koji(&self) -> KojiClient {
        let cert = self.dir.path().join("client.pem");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../koji/tests/data/client.pem"),
            &cert,
        )
        .expect("test client certificate");
        KojiClient::logged_in(KojiConfig {
            cert: Some(cert),
            login: koschei_koji::LoginMethod::Certificate,
            ..KojiConfig::new(&self.sim.hub_url, &self.sim.topurl)
        })
        .await
        .expect("certificate login")
    }

    /// Replaces the build group of f99-build (a new event; repos made later see it).
    pub fn set_build_group(&self, members: &[&str], group_name: &str) {
        let mut st = self.sim.sim.lock();
        let tag = st.tag_by_name("f99-build").unwrap().id;
        let group = koji_sim::comps::Group {
            id: 0,
            name: group_name.into(),
            display_name: group_name.into(),
            description: None,
            is_default: false,
            uservisible: true,
            blocked: false,
            packages: members
                .iter()
                .map(|m| koji_sim::comps::GroupPackage {
                    name: m.to_string(),
                    kind: "mandatory".into(),
                    blocked: false,
                })
                .collect(),
        };
        st.set_groups(tag, vec![group]);
    }

    /// One service iteration.
    pub async fn iterate(&self) {
        koschei_resolver::service::iteration(&self.ctx)
            .await
            .unwrap();
    }

    pub async fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        sqlx::query_as("SELECT topic, body FROM message_outbox WHERE publish ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    pub async fn clear_outbox(&self) {
        sqlx::query("DELETE FROM message_outbox")
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// The dependency set stored on a build, as NEVRAs.
    pub async fn build_deps(&self, build_id: i32) -> Vec<Nevra> {
        let (keys, resolved): (Option<Vec<u8>>, Option<bool>) =
            sqlx::query_as("SELECT dependency_keys, deps_resolved FROM build WHERE id = $1")
                .bind(build_id)
                .fetch_one(&self.pool)
                .await
                .unwrap();
        let Some(keys) = keys else {
            panic!("build {build_id} has no dependency set (deps_resolved = {resolved:?})");
        };
        let ids = koschei_resolver::dependency_keys::decode(&keys).unwrap();
        let mut conn = self.pool.acquire().await.unwrap();
        let mut deps = self.ctx.deps.get_by_ids(&mut conn, &ids).await.unwrap();
        deps.sort();
        deps
    }

    /// Stores a dependency set as a build's resolved set (deps_resolved TRUE).
    pub async fn store_build_deps(&self, build_id: i32, deps: &[Nevra]) {
        let mut conn = self.pool.acquire().await.unwrap();
        let refs: Vec<&Nevra> = deps.iter().collect();
        let ids = self.ctx.deps.get_or_create(&mut conn, &refs).await.unwrap();
        sqlx::query("UPDATE build SET deps_resolved = true, dependency_keys = $2 WHERE id = $1")
            .bind(build_id)
            .bind(koschei_resolver::dependency_keys::encode(&ids))
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// (prev, curr, distance) of a package's unapplied changes, as `name-evr` strings.
    pub async fn unapplied(&self, pkg: i32) -> Vec<(Option<String>, Option<String>, Option<i32>)> {
        self.changes("unapplied_change", "package_id", pkg).await
    }

    pub async fn applied(&self, build: i32) -> Vec<(Option<String>, Option<String>, Option<i32>)> {
        self.changes("applied_change", "build_id", build).await
    }

    async fn changes(
        &self,
        table: &str,
        key: &str,
        id: i32,
    ) -> Vec<(Option<String>, Option<String>, Option<i32>)> {
        sqlx::query_as(&format!(
            "SELECT p.name || '-' || p.epoch || ':' || p.version || '-' || p.release,
                    c.name || '-' || c.epoch || ':' || c.version || '-' || c.release, ch.distance
             FROM {table} ch LEFT JOIN dependency p ON p.id = ch.prev_dep_id
             LEFT JOIN dependency c ON c.id = ch.curr_dep_id
             WHERE ch.{key} = $1 ORDER BY 1, 2"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// (resolved, problems) of a package's resolution changes, oldest first.
    pub async fn history(&self, pkg: i32) -> Vec<(bool, Vec<String>)> {
        sqlx::query_as(
            "SELECT rc.resolved, ARRAY(SELECT problem FROM resolution_problem WHERE resolution_id = rc.id ORDER BY 1)
             FROM resolution_change rc WHERE package_id = $1 ORDER BY rc.id",
        )
        .bind(pkg)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    pub async fn package_row(&self, pkg: i32) -> (Option<bool>, i32, i32) {
        sqlx::query_as(
            "SELECT resolved, dependency_priority, build_priority FROM package WHERE id = $1",
        )
        .bind(pkg)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

impl Env {
    /// Id of the package named `name`.
    pub async fn package_row_id(&self, name: &str) -> i32 {
        sqlx::query_scalar("SELECT id FROM package WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}
