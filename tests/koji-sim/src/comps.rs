//! Comps groups: read from the seed's comps.xml, written into generated repos.

use std::path::Path;

use anyhow::{Context, Result};
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::rpmmd::escape;

/// A comps group as Koji keeps it for a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Koji's group id (assigned when stored in a tag; 0 before).
    pub id: i64,
    /// Group id/name (`build`).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether it is a default group.
    pub is_default: bool,
    /// Whether users see it.
    pub uservisible: bool,
    /// Whether the group is blocked.
    pub blocked: bool,
    /// Package entries.
    pub packages: Vec<GroupPackage>,
}

/// A package of a [`Group`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPackage {
    /// Package name.
    pub name: String,
    /// `mandatory`, `default`, `optional` or `conditional`.
    pub kind: String,
    /// Whether the entry is blocked.
    pub blocked: bool,
}

/// Reads the groups of a comps.xml file.
pub fn read_comps(path: &Path) -> Result<Vec<Group>> {
    let xml = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_comps(&xml).with_context(|| format!("parsing {}", path.display()))
}

/// Parses comps XML.
pub fn parse_comps(xml: &[u8]) -> Result<Vec<Group>> {
    let mut reader = Reader::from_reader(xml);
    let mut groups = Vec::new();
    let mut current: Option<Group> = None;
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut req_type = String::new();
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                let name = e.name().as_ref().to_vec();
                if name == b"group" {
                    current = Some(Group {
                        id: 0,
                        name: String::new(),
                        display_name: String::new(),
                        description: None,
                        is_default: false,
                        uservisible: true,
                        blocked: false,
                        packages: Vec::new(),
                    });
                } else if name == b"packagereq" {
                    req_type = "mandatory".to_owned();
                    for a in e.attributes() {
                        let a = a?;
                        if a.key.as_ref() == b"type" {
                            req_type = a.unescape_value()?.into_owned();
                        }
                    }
                }
                path.push(name);
            }
            Event::End(e) => {
                path.pop();
                if e.name().as_ref() == b"group" {
                    if let Some(g) = current.take() {
                        groups.push(g);
                    }
                }
            }
            Event::Text(t) => {
                let (Some(g), Some(tag)) = (current.as_mut(), path.last()) else {
                    continue;
                };
                // Only the group's own children (not category or env elements).
                let text = t.unescape()?.trim().to_owned();
                let parent_is_group = path.len() >= 2 && path[path.len() - 2] == b"group";
                match tag.as_slice() {
                    b"id" if parent_is_group => g.name = text,
                    b"name" if parent_is_group && g.display_name.is_empty() => {
                        g.display_name = text
                    }
                    b"description" if parent_is_group && g.description.is_none() => {
                        g.description = Some(text)
                    }
                    b"default" if parent_is_group => g.is_default = text == "true",
                    b"uservisible" if parent_is_group => g.uservisible = text == "true",
                    b"packagereq" => g.packages.push(GroupPackage {
                        name: text,
                        kind: req_type.clone(),
                        blocked: false,
                    }),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    for g in &mut groups {
        if g.display_name.is_empty() {
            g.display_name = g.name.clone();
        }
    }
    Ok(groups)
}

/// Writes comps XML for the (unblocked) groups, as Koji exports a tag's groups.
pub fn write_comps(groups: &[Group]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE comps PUBLIC \"-//Red Hat, Inc.//DTD Comps info//EN\" \"comps.dtd\">\n<comps>\n",
    );
    for g in groups.iter().filter(|g| !g.blocked) {
        s.push_str("  <group>\n");
        s.push_str(&format!("    <id>{}</id>\n", escape(&g.name)));
        s.push_str(&format!("    <name>{}</name>\n", escape(&g.display_name)));
        if let Some(d) = &g.description {
            s.push_str(&format!("    <description>{}</description>\n", escape(d)));
        }
        s.push_str(&format!("    <default>{}</default>\n", g.is_default));
        s.push_str(&format!(
            "    <uservisible>{}</uservisible>\n",
            g.uservisible
        ));
        s.push_str("    <packagelist>\n");
        for p in g.packages.iter().filter(|p| !p.blocked) {
            s.push_str(&format!(
                "      <packagereq type=\"{}\">{}</packagereq>\n",
                escape(&p.kind),
                escape(&p.name)
            ));
        }
        s.push_str("    </packagelist>\n  </group>\n");
    }
    s.push_str("</comps>\n");
    s
}
