//! Fuzz targets of the repodata readers: the fixture repository's repomd.xml, comps.xml
//! and primary.xml (plain and gzip), and the `.solv` cache written from it, mutated by
//! truncation, byte flips and inserted markup, then read as the resolver reads them.
//! Property: a value or an error, never a panic or a crash of libsolv.

mod common;

use std::io::Write;
use std::path::Path;

use koschei_depsolve::comps::parse_group;
use koschei_depsolve::{read_source_packages, LoadOptions, RepoDir, Repomd, Sack, SolvFile};
use proptest::prelude::*;

fn fixture(file: &str) -> Vec<u8> {
    let path = common::fixture_repo("primary-f25-build-123")
        .join("repodata")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Markup inserted into the documents.
const INSERTS: [&str; 14] = [
    "<data type=\"primary\">",
    "</data>",
    "<location href=\"\"/>",
    "<size>99999999999999999999999</size>",
    "<package type=\"rpm\">",
    "</package>",
    "<rpm:entry name=\"x\" flags=\"GE\" epoch=\"-1\" ver=\"\" rel=\"\"/>",
    "<group>",
    "<packagereq type=\"mandatory\">",
    "<id>build</id>",
    "&bogus;",
    "<![CDATA[",
    "\u{0}",
    "<!DOCTYPE x [<!ENTITY a \"b\">]>",
];

/// One mutation of a document.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, usize),
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), 0..INSERTS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
    ];
    prop::collection::vec(one, 1..6)
}

fn mutate(mut doc: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Truncate(at) => doc.truncate(at.index(doc.len() + 1)),
            Mutation::Flip(at, byte) if !doc.is_empty() => {
                let i = at.index(doc.len());
                doc[i] ^= byte | 1;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(at, tag) => {
                let i = at.index(doc.len() + 1);
                doc.splice(i..i, INSERTS[*tag].bytes());
            }
        }
    }
    doc
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Writes a repository with the given primary (named `primary_name`) under `root`.
fn write_repo(root: &Path, primary_name: &str, primary: &[u8]) {
    let repodata = root.join("repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    let repomd = format!(
        "<repomd><data type=\"primary\"><location href=\"repodata/{primary_name}\"/></data>\
         <data type=\"filelists\"><location href=\"repodata/filelists.xml\"/></data></repomd>"
    );
    std::fs::write(repodata.join("repomd.xml"), repomd).unwrap();
    std::fs::write(repodata.join("filelists.xml"), fixture("filelists.xml")).unwrap();
    std::fs::write(repodata.join(primary_name), primary).unwrap();
}

/// Everything the resolver reads from a repository directory.
fn load_everything(root: &Path) {
    if let Ok(sack) = Sack::load_dir(root) {
        let _ = sack.package_table();
    }
    let _ = read_source_packages(root);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_repomd_never_panics(mutations in arb_mutations()) {
        let doc = mutate(fixture("repomd.xml"), &mutations);
        if let Ok(repomd) = Repomd::parse(&doc) {
            let _ = repomd.entry(&["primary", "group_gz", "group"]);
        }
    }

    #[test]
    fn mutated_comps_never_panics(mutations in arb_mutations(), group in prop_oneof![
        Just("build"), Just("srpm-build"), Just(""), Just("missing")
    ]) {
        let doc = mutate(fixture("comps.xml"), &mutations);
        let _ = parse_group(&doc, group);
    }
}

proptest! {
    // Each case writes and loads a repository through libsolv: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_primary_never_crashes(mutations in arb_mutations(), gz in any::<bool>(),
                                     corrupt_gz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let xml = mutate(fixture("primary.xml"), &mutations);
        if gz {
            // a valid gzip of mutated XML, or a mutated gzip of the valid XML
            let data = if corrupt_gz { mutate(gzip(&fixture("primary.xml")), &mutations) } else { gzip(&xml) };
            write_repo(dir.path(), "primary.xml.gz", &data);
        } else {
            write_repo(dir.path(), "primary.xml", &xml);
        }
        load_everything(dir.path());
    }

    #[test]
    fn corrupted_solv_cache_never_crashes(mutations in arb_mutations()) {
        let dir = tempfile::tempdir().unwrap();
        write_repo(dir.path(), "primary.xml", &fixture("primary.xml"));
        let repo = RepoDir::open(dir.path()).unwrap();
        let cache = dir.path().join("cache");
        let solv = SolvFile::ensure(&repo, &cache, &LoadOptions::default()).unwrap();
        let data = mutate(std::fs::read(&solv.path).unwrap(), &mutations);
        std::fs::write(&solv.path, data).unwrap();
        if let Ok(sack) = solv.load() {
            let _ = sack.package_table();
        }
    }
}

/// A compressed comps.xml that inflates beyond any real one (a gzip bomb in a
/// repository) is an error, not unbounded memory.
#[test]
fn a_comps_gzip_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("comps.xml.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(b"<comps><group><id>build</id></group>")
        .unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..300 {
        gz.write_all(&zeros).unwrap();
    }
    gz.write_all(b"</comps>").unwrap();
    gz.finish().unwrap();
    let err = koschei_depsolve::comps::read_group(&path, "build").unwrap_err();
    assert!(
        err.to_string().contains("decompresses to more than"),
        "{err}"
    );
}
