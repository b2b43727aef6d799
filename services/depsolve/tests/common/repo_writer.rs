//! Small rpm-md repositories for tests, shared by the integration tests' `common` module
//! and the crate's unit tests (which include this file by path).
#![allow(dead_code)]

use std::path::Path;

/// One package of a generated repository: `name-version-1.x86_64`, providing itself and
/// `provides`, with dependencies of every kind (`"name"` or `"name op version"`).
#[derive(Debug, Default, Clone, Copy)]
pub struct RepoPkg<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub requires: &'a [&'a str],
    pub provides: &'a [&'a str],
    pub conflicts: &'a [&'a str],
    pub recommends: &'a [&'a str],
    pub suggests: &'a [&'a str],
    pub supplements: &'a [&'a str],
    pub enhances: &'a [&'a str],
    /// `<size package= installed=>` in bytes; no `<size>` element when both are 0.
    pub sizes: (u64, u64),
}

/// An rpm-md `<rpm:entry>` of a dependency (release 1 for versioned ones).
fn entry(dep: &str) -> String {
    if dep.starts_with('(') {
        return format!(r#"<rpm:entry name="{dep}"/>"#);
    }
    let mut parts = dep.split_whitespace();
    let name = parts.next().expect("empty dependency");
    match (parts.next(), parts.next()) {
        (Some(op), Some(ver)) => {
            let flags = match op {
                "<" => "LT",
                "<=" => "LE",
                "=" => "EQ",
                ">=" => "GE",
                _ => "GT",
            };
            format!(r#"<rpm:entry name="{name}" flags="{flags}" epoch="0" ver="{ver}" rel="1"/>"#)
        }
        _ => format!(r#"<rpm:entry name="{name}"/>"#),
    }
}

/// Write an rpm-md repository (primary only) of `pkgs` under `dir`.
pub fn write_repo_files(dir: &Path, pkgs: &[RepoPkg<'_>]) {
    let mut xml = format!(
        r#"<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{}">"#,
        pkgs.len()
    );
    for (i, p) in pkgs.iter().enumerate() {
        let (name, ver) = (p.name, p.version);
        let mut format = format!(
            r#"<rpm:provides><rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="1"/>"#
        );
        format.extend(p.provides.iter().map(|d| entry(d)));
        format.push_str("</rpm:provides>");
        for (tag, deps) in [
            ("requires", p.requires),
            ("conflicts", p.conflicts),
            ("recommends", p.recommends),
            ("suggests", p.suggests),
            ("supplements", p.supplements),
            ("enhances", p.enhances),
        ] {
            if !deps.is_empty() || tag == "requires" {
                let entries: String = deps.iter().map(|d| entry(d)).collect();
                format.push_str(&format!("<rpm:{tag}>{entries}</rpm:{tag}>"));
            }
        }
        let size = match p.sizes {
            (0, 0) => String::new(),
            (package, installed) => {
                format!(r#"<size package="{package}" installed="{installed}" archive="0"/>"#)
            }
        };
        xml.push_str(&format!(
            r#"<package type="rpm"><name>{name}</name><arch>x86_64</arch><version epoch="0" ver="{ver}" rel="1"/><checksum type="sha256" pkgid="YES">{:064x}</checksum>{size}<location href="{name}.rpm"/><format>{format}</format></package>"#,
            i + 1 + ver.len() * 1000
        ));
    }
    xml.push_str("</metadata>");
    std::fs::create_dir_all(dir.join("repodata")).expect("create repodata");
    std::fs::write(dir.join("repodata/primary.xml"), xml).expect("write primary.xml");
    std::fs::write(
        dir.join("repodata/repomd.xml"),
        r#"<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary"><location href="repodata/primary.xml"/></data></repomd>"#,
    )
    .expect("write repomd.xml");
}
