//! `sim.importBuild` binaries reach the regenerated repo whole: every dependency section
//! (with `pre="1"` requires), files, sizes and location, in createrepo_c's order. The
//! resolver's repo-delta analysis pairs an updated binary with its predecessor by
//! dependency structure, so a section lost on the way makes a plain version bump look
//! like a structural change. The second test takes real binaries of the corpus's next
//! repo through `scripts/demo-churn.py` and compares them with the originals.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repodata_file, SimProcess};
use koschei_core::testdata::shared_path;
use koschei_koji::{xstruct, Value};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// rpm-md's dependency sections.
const SECTIONS: [&str; 8] = [
    "provides",
    "requires",
    "conflicts",
    "obsoletes",
    "suggests",
    "enhances",
    "recommends",
    "supplements",
];

/// An element's attributes, unescaped.
type Attrs = BTreeMap<String, String>;

/// What a solver reads of one primary `<package>` (plus its size and location).
#[derive(Debug, Clone, Default, PartialEq)]
struct Package {
    name: String,
    arch: String,
    version: Attrs,
    /// Dependency sections in document order, each with its entries in order.
    sections: Vec<(String, Vec<Attrs>)>,
    files: Vec<String>,
    size: Attrs,
    location: String,
}

fn attrs(e: &BytesStart<'_>) -> Attrs {
    e.attributes()
        .map(|a| {
            let a = a.unwrap();
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            (key, a.unescape_value().unwrap().into_owned())
        })
        .collect()
}

/// The packages of a primary document (or of `<package>` blocks), in order.
fn parse_primary(xml: &str) -> Vec<Package> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut pkg = Package::default();
    let mut text_of: Option<&'static str> = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => {
                let tag = e.name().as_ref().to_vec();
                match tag.as_slice() {
                    b"package" => pkg = Package::default(),
                    b"name" => text_of = Some("name"),
                    b"arch" => text_of = Some("arch"),
                    b"file" => text_of = Some("file"),
                    b"version" => pkg.version = attrs(&e),
                    b"size" => pkg.size = attrs(&e),
                    b"location" => pkg.location = attrs(&e).remove("href").unwrap_or_default(),
                    b"rpm:entry" => pkg.sections.last_mut().unwrap().1.push(attrs(&e)),
                    t if SECTIONS.iter().any(|s| t == format!("rpm:{s}").as_bytes()) => {
                        let section = String::from_utf8(t[4..].to_vec()).unwrap();
                        pkg.sections.push((section, Vec::new()));
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let s = t.unescape().unwrap().into_owned();
                match text_of.take() {
                    Some("name") => pkg.name = s,
                    Some("arch") => pkg.arch = s,
                    Some("file") => pkg.files.push(s),
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == b"package" => out.push(std::mem::take(&mut pkg)),
            Event::End(_) => text_of = None,
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// The packages of a filelists document: name → files.
fn parse_filelists(xml: &str) -> HashMap<String, Vec<String>> {
    let mut reader = Reader::from_str(xml);
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut name = String::new();
    let mut in_file = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"package" => {
                name = attrs(&e).remove("name").unwrap();
                out.entry(name.clone()).or_default();
            }
            Event::Start(e) => in_file = e.name().as_ref() == b"file",
            Event::Text(t) if in_file => out
                .get_mut(&name)
                .unwrap()
                .push(t.unescape().unwrap().into_owned()),
            Event::End(_) => in_file = false,
            Event::Eof => return out,
            _ => {}
        }
    }
}

fn gunzip(path: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// An entry's attributes from `(key, value)` pairs.
fn entry(pairs: &[(&str, &str)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn strings(v: &[&str]) -> Value {
    Value::Array(v.iter().map(|s| Value::str(*s)).collect())
}

#[tokio::test]
async fn import_build_keeps_every_section_files_sizes_and_location() {
    let sim = SimProcess::start(&[]);
    let koji = sim.client();
    let every = xstruct! {
        "name" => "every",
        "provides" => strings(&["libevery.so.1()(64bit)", "every-virtual = 2:3.4-5"]),
        "requires" => strings(&[
            "glibc",
            "dpkg >= 0:1.15.6~-0 [pre]",
            "(gpgv or gpgv2)",
            "/bin/sh [pre]",
            "libc6 >= 2.34",
        ]),
        "conflicts" => strings(&["every-old < 1.0-1"]),
        "obsoletes" => strings(&["every-old <= 1:0.9"]),
        "suggests" => strings(&["every-doc"]),
        "enhances" => strings(&["bash"]),
        "recommends" => strings(&["(every-extra >= 2 or bash)"]),
        "supplements" => strings(&["(every-plugin and bash)"]),
        "files" => strings(&["/etc/every.conf", "/usr/bin/every", "/usr/share/doc/every/a & b"]),
        "size" => Value::Struct(xstruct! {
            "package" => 3_295_985_664_i64, "installed" => 7_i64, "archive" => 8_i64,
        }),
        "location" => "pool/main/e/every/every_1.0-1_amd64.deb",
    };
    // its own provide given (second): no implicit one added
    let two = xstruct! {
        "name" => "every-two", "arch" => "noarch",
        "provides" => strings(&["every-alias", "every-two = 0:1.0-1"]),
    };
    let spec = xstruct! {
        "name" => "every", "version" => "1.0", "release" => "1", "tag" => "f99",
        "binaries" => vec![Value::Struct(every), Value::Struct(two)],
    };
    koji.call("sim.importBuild", vec![Value::Struct(spec)])
        .await
        .unwrap();
    let repo = koji
        .call("sim.regenRepo", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();

    let root = sim.state_dir.path();
    let primary = parse_primary(&gunzip(&repodata_file(root, repo, "primary.xml.gz")));
    let find = |name: &str| primary.iter().find(|p| p.name == name).unwrap();
    let versioned = |name: &str, flags: &str, epoch: &str, ver: &str, rel: Option<&str>| {
        let mut e = entry(&[
            ("name", name),
            ("flags", flags),
            ("epoch", epoch),
            ("ver", ver),
        ]);
        if let Some(rel) = rel {
            e.insert("rel".into(), rel.into());
        }
        e
    };
    let with_pre = |mut e: Attrs| {
        e.insert("pre".into(), "1".into());
        e
    };
    let expected_sections = vec![
        (
            "provides",
            vec![
                versioned("every", "EQ", "0", "1.0", Some("1")),
                entry(&[("name", "libevery.so.1()(64bit)")]),
                versioned("every-virtual", "EQ", "2", "3.4", Some("5")),
            ],
        ),
        (
            "requires",
            vec![
                entry(&[("name", "glibc")]),
                with_pre(versioned("dpkg", "GE", "0", "1.15.6~", Some("0"))),
                entry(&[("name", "(gpgv or gpgv2)")]),
                with_pre(entry(&[("name", "/bin/sh")])),
                versioned("libc6", "GE", "0", "2.34", None),
            ],
        ),
        (
            "conflicts",
            vec![versioned("every-old", "LT", "0", "1.0", Some("1"))],
        ),
        (
            "obsoletes",
            vec![versioned("every-old", "LE", "1", "0.9", None)],
        ),
        ("suggests", vec![entry(&[("name", "every-doc")])]),
        ("enhances", vec![entry(&[("name", "bash")])]),
        (
            "recommends",
            vec![entry(&[("name", "(every-extra >= 2 or bash)")])],
        ),
        (
            "supplements",
            vec![entry(&[("name", "(every-plugin and bash)")])],
        ),
    ];
    let expected = Package {
        name: "every".into(),
        arch: "x86_64".into(),
        version: entry(&[("epoch", "0"), ("ver", "1.0"), ("rel", "1")]),
        sections: expected_sections
            .into_iter()
            .map(|(s, e)| (s.to_owned(), e))
            .collect(),
        // createrepo_c's primary files; all of them go to filelists
        files: vec!["/etc/every.conf".into(), "/usr/bin/every".into()],
        size: entry(&[
            ("package", "3295985664"),
            ("installed", "7"),
            ("archive", "8"),
        ]),
        location: "pool/main/e/every/every_1.0-1_amd64.deb".into(),
    };
    assert_eq!(find("every"), &expected);
    let two = find("every-two");
    assert_eq!(
        two.sections,
        vec![(
            "provides".to_owned(),
            vec![
                entry(&[("name", "every-alias")]),
                versioned("every-two", "EQ", "0", "1.0", Some("1")),
            ]
        )]
    );
    assert_eq!(two.location, "Packages/every-two-1.0-1.noarch.rpm");
    assert_eq!(
        two.size,
        entry(&[("package", "0"), ("installed", "0"), ("archive", "0")])
    );

    let filelists = parse_filelists(&gunzip(&repodata_file(root, repo, "filelists.xml.gz")));
    assert_eq!(
        filelists["every"],
        [
            "/etc/every.conf",
            "/usr/bin/every",
            "/usr/share/doc/every/a & b"
        ]
    );
    assert!(filelists["every-two"].is_empty());

    // getRPMDeps reports every section with Koji's DEP_* types
    let rpm = Value::Struct(xstruct! {
        "name" => "every", "version" => "1.0", "release" => "1", "arch" => "x86_64",
    });
    let deps = koji.call("getRPMDeps", vec![rpm]).await.unwrap();
    let mut by_type: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for d in deps.as_array().unwrap() {
        by_type
            .entry(d.get("type").and_then(Value::as_i64).unwrap())
            .or_default()
            .push(d.get("name").and_then(Value::as_str).unwrap().to_owned());
    }
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(by_type[&2], names(&["every-old"]));
    assert_eq!(by_type[&3], names(&["every-old"]));
    assert_eq!(by_type[&4], names(&["every-doc"]));
    assert_eq!(by_type[&5], names(&["bash"]));
    assert_eq!(by_type[&6], names(&["(every-plugin and bash)"]));
    assert_eq!(by_type[&7], names(&["(every-extra >= 2 or bash)"]));
    assert_eq!(by_type[&0].len(), 5);
}

/// Updated sources of the next repo whose binaries carry conflicts, obsoletes, suggests,
/// recommends, enhances and `pre="1"` requires.
const NEXT_SOURCES: [&str; 4] = ["apt", "bind9", "ca-certificates", "imagemagick"];

#[test]
fn demo_churn_imports_next_repo_binaries_unchanged() {
    let python = std::env::var("KOSCHEI_PYTHON").unwrap_or_else(|_| {
        panic!("KOSCHEI_PYTHON is not set: this test needs the Python venv with the real koji client (source /tmp/koschei-dev-env.sh or run scripts/test)")
    });
    let next = shared_path("corpus/debian-bookworm-next");
    assert!(
        next.join("changes.json").exists(),
        "missing corpus {} (set KOSCHEI_SHARED)",
        next.display()
    );
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sim = SimProcess::start(&[]);
    let output = Command::new(&python)
        .arg(here.join("tests/python/demo_churn_import.py"))
        .arg(here.join("../../scripts/demo-churn.py"))
        .arg(&sim.hub)
        .arg(common::tiny_seed())
        .arg(&next)
        .args(NEXT_SOURCES)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let repo = reply["repo"].as_i64().unwrap();
    let blocks: String = reply["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    let originals = parse_primary(&format!(
        "<metadata xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">{blocks}</metadata>"
    ));
    let primary = gunzip(&repodata_file(sim.state_dir.path(), repo, "primary.xml.gz"));
    let regenerated: HashMap<(String, String), Package> = parse_primary(&primary)
        .into_iter()
        .map(|p| ((p.name.clone(), p.arch.clone()), p))
        .collect();

    assert!(originals.len() >= 15, "only {} binaries", originals.len());
    let kinds: std::collections::BTreeSet<&str> = originals
        .iter()
        .flat_map(|p| p.sections.iter().map(|(s, _)| s.as_str()))
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "conflicts",
            "enhances",
            "obsoletes",
            "provides",
            "recommends",
            "requires",
            "suggests"
        ]
    );
    assert!(originals
        .iter()
        .flat_map(|p| &p.sections)
        .flat_map(|(_, e)| e)
        .any(|e| e.get("pre").is_some_and(|p| p == "1")));
    // The corpus writes recommends before enhances, koji-sim createrepo_c's order
    // (enhances first); solvers read each section apart, so only their order differs.
    let by_section = |p: &Package| {
        let mut sorted = p.sections.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted
    };
    for original in &originals {
        let key = (original.name.clone(), original.arch.clone());
        let Some(new) = regenerated.get(&key) else {
            panic!("{key:?} is not in the regenerated repo");
        };
        assert_eq!(
            Package {
                sections: by_section(new),
                ..new.clone()
            },
            Package {
                sections: by_section(original),
                ..original.clone()
            },
            "{key:?} changed on its way through koji-sim"
        );
    }
}
