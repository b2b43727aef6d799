//! rpm-md repository metadata: `repomd.xml` and the files it names.

use std::path::{Path, PathBuf};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::DepsolveError;

/// One `<data>` entry of repomd.xml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepomdEntry {
    /// `type` attribute: `primary`, `filelists`, `group`, `group_gz`, …
    pub kind: String,
    /// `location href`, relative to the repository root (e.g. `repodata/primary.xml.gz`).
    pub href: String,
    /// `(algorithm, hex digest)` of the file as stored, when given.
    pub checksum: Option<(String, String)>,
    /// Size in bytes of the file as stored, when given.
    pub size: Option<u64>,
}

/// Parsed repomd.xml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repomd {
    /// All `<data>` entries in document order.
    pub entries: Vec<RepomdEntry>,
}

impl Repomd {
    /// Parse repomd.xml content.
    pub fn parse(xml: &[u8]) -> Result<Self, DepsolveError> {
        let mut reader = Reader::from_reader(xml);
        let mut buf = Vec::new();
        let mut entries = Vec::new();
        let mut current: Option<RepomdEntry> = None;
        let mut in_checksum: Option<String> = None;
        let mut in_size = false;
        let bad = |e: &dyn std::fmt::Display| DepsolveError::Metadata(format!("repomd.xml: {e}"));
        loop {
            match reader.read_event_into(&mut buf).map_err(|e| bad(&e))? {
                Event::Start(e) | Event::Empty(e) => {
                    let name = e.local_name();
                    match name.as_ref() {
                        b"data" => {
                            current = Some(RepomdEntry {
                                kind: attr(&e, b"type").unwrap_or_default(),
                                href: String::new(),
                                checksum: None,
                                size: None,
                            })
                        }
                        b"location" => {
                            if let (Some(cur), Some(href)) = (current.as_mut(), attr(&e, b"href")) {
                                cur.href = href;
                            }
                        }
                        b"checksum" if current.is_some() => {
                            in_checksum = Some(attr(&e, b"type").unwrap_or_else(|| "sha256".into()))
                        }
                        b"size" if current.is_some() => in_size = true,
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    let text = t.unescape().map_err(|e| bad(&e))?.trim().to_string();
                    if let Some(cur) = current.as_mut() {
                        if let Some(algo) = in_checksum.take() {
                            cur.checksum = Some((algo, text));
                        } else if in_size {
                            cur.size = text.parse().ok();
                            in_size = false;
                        }
                    }
                }
                Event::End(e) => match e.local_name().as_ref() {
                    b"data" => {
                        if let Some(cur) = current.take() {
                            if cur.href.is_empty() {
                                return Err(bad(&format!("entry {} without location", cur.kind)));
                            }
                            entries.push(cur);
                        }
                    }
                    b"checksum" => in_checksum = None,
                    b"size" => in_size = false,
                    _ => {}
                },
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        Ok(Repomd { entries })
    }

    /// The first entry of one of `kinds`, in the order of preference given.
    pub fn entry(&self, kinds: &[&str]) -> Option<&RepomdEntry> {
        kinds
            .iter()
            .find_map(|k| self.entries.iter().find(|e| e.kind == *k))
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// An rpm-md repository on local disk: its root directory and parsed repomd.xml.
#[derive(Debug, Clone)]
pub struct RepoDir {
    root: PathBuf,
    repomd: Repomd,
    repomd_raw: Vec<u8>,
}

impl RepoDir {
    /// Open the repository whose `repodata/repomd.xml` lies under `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, DepsolveError> {
        let root = root.into();
        let path = root.join("repodata/repomd.xml");
        let repomd_raw = std::fs::read(&path).map_err(|e| DepsolveError::io(&path, e))?;
        let repomd = Repomd::parse(&repomd_raw)?;
        Ok(RepoDir {
            root,
            repomd,
            repomd_raw,
        })
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The parsed repomd.xml.
    pub fn repomd(&self) -> &Repomd {
        &self.repomd
    }

    /// Path of the primary metadata file.
    pub fn primary(&self) -> Result<PathBuf, DepsolveError> {
        self.file(&["primary"])
            .ok_or_else(|| DepsolveError::Metadata(format!("{}: no primary", self.root.display())))
    }

    /// Path of the filelists metadata file, if the repository has one.
    pub fn filelists(&self) -> Option<PathBuf> {
        self.file(&["filelists"])
    }

    /// Path of the comps (group) file, if any.
    pub fn comps(&self) -> Option<PathBuf> {
        self.file(&["group_gz", "group"])
    }

    fn file(&self, kinds: &[&str]) -> Option<PathBuf> {
        self.repomd.entry(kinds).map(|e| self.root.join(&e.href))
    }

    /// A short stable fingerprint of this repository's content, used to name `.solv` cache
    /// files so that a changed repository never reuses a stale one: the hash of repomd.xml
    /// plus, for files repomd.xml gives no checksum for, their content.
    pub fn fingerprint(&self) -> Result<String, DepsolveError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(&self.repomd_raw);
        for entry in self.repomd.entries.iter().filter(|e| e.checksum.is_none()) {
            if matches!(entry.kind.as_str(), "primary" | "filelists") {
                let path = self.root.join(&entry.href);
                let mut file =
                    std::fs::File::open(&path).map_err(|e| DepsolveError::io(&path, e))?;
                std::io::copy(&mut file, &mut hasher).map_err(|e| DepsolveError::io(&path, e))?;
            }
        }
        Ok(hex::encode(&hasher.finalize()[..12]))
    }
}
