//! Writing a repo's rpm-md tree (`repos/<tag>/<id>/<arch>/repodata/`).
//!
//! Unchanged seed data is reused: when a repo holds exactly the seed's binaries, the
//! seed files are hard-linked (or copied); otherwise the seed's primary and filelists are
//! streamed through a byte-level filter that drops replaced packages, writes a rebuilt
//! package where its predecessor was (createrepo_c's file-name order keeps it there) and
//! appends the other new ones.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::comps::{write_comps, Group};
use crate::new_binary::NewBinary;
use crate::rpmmd::{
    filter_packages, unlink_existing, write_file, write_repomd, FileDigest, RepomdEntry,
};
use crate::seed::Seed;

/// What goes into a repo.
pub struct RepoContent {
    /// pkgids of seed binaries left out.
    pub dropped: HashSet<String>,
    /// Number of seed binaries kept.
    pub kept: usize,
    /// New binaries with their pkgids, in file-name order.
    pub new: Vec<(Arc<NewBinary>, String)>,
    /// pkgid of a dropped seed binary → the new binaries (indices into `new`) of its name
    /// and arch, written in its place; the other new binaries are appended.
    pub in_place: HashMap<String, Vec<usize>>,
    /// Comps groups.
    pub groups: Vec<Group>,
}

/// Puts `src` at `dst` as a hard link (a copy across file systems). An
/// existing `dst` is unlinked first: it may be a hard link to `src` itself
/// (a restarted simulator), and writing through it would truncate the seed.
fn link_or_copy(src: &Path, dst: &Path) -> Result<FileDigest> {
    unlink_existing(dst)?;
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)
            .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
    }
    let mut d = digest_file_stored(dst)?;
    d.open_sha256 = None;
    d.open_size = None;
    Ok(d)
}

/// Checksum of the stored file only (no decompression).
fn digest_file_stored(path: &Path) -> Result<FileDigest> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut f = std::fs::File::open(path)?;
    let size = std::io::copy(&mut f, &mut h)?;
    Ok(FileDigest {
        sha256: crate::rpmmd::hex(&h.finalize()),
        size,
        open_sha256: None,
        open_size: None,
    })
}

/// Writes the repodata of one arch directory.
pub fn write_repo(
    seed: &Seed,
    arch_dir: &Path,
    content: &RepoContent,
    timestamp: i64,
) -> Result<()> {
    let repodata = arch_dir.join("repodata");
    std::fs::create_dir_all(&repodata)
        .with_context(|| format!("creating {}", repodata.display()))?;
    let unchanged = content.dropped.is_empty() && content.new.is_empty();
    let count = content.kept + content.new.len();
    let keep = |pkgid: &str| !content.dropped.contains(pkgid);
    let placed: HashSet<usize> = content.in_place.values().flatten().copied().collect();
    // (elements written in place of dropped ones, elements appended)
    let layout = |xml: &dyn Fn(&NewBinary, &str) -> String| {
        let in_place: HashMap<String, Vec<String>> = content
            .in_place
            .iter()
            .map(|(pkgid, news)| {
                let elements = news
                    .iter()
                    .map(|&i| xml(&content.new[i].0, &content.new[i].1))
                    .collect();
                (pkgid.clone(), elements)
            })
            .collect();
        let appended: Vec<String> = content
            .new
            .iter()
            .enumerate()
            .filter(|(i, _)| !placed.contains(i))
            .map(|(_, (b, id))| xml(b, id))
            .collect();
        (in_place, appended)
    };
    let mut entries = Vec::new();

    let primary_dst = repodata.join("primary.xml.gz");
    let primary = if unchanged && is_gz(&seed.primary) {
        link_or_copy(&seed.primary, &primary_dst)?
    } else {
        let (in_place, extra) = layout(&|b, id| b.primary_xml(id));
        filter_packages(&seed.primary, &primary_dst, &keep, &in_place, &extra, count)?
    };
    entries.push(RepomdEntry {
        kind: "primary".into(),
        href: "repodata/primary.xml.gz".into(),
        digest: primary,
    });

    let filelists_dst = repodata.join("filelists.xml.gz");
    let filelists = match &seed.filelists {
        Some(src) if unchanged && is_gz(src) => link_or_copy(src, &filelists_dst)?,
        Some(src) => {
            let (in_place, extra) = layout(&|b, id| b.filelists_xml(id));
            filter_packages(src, &filelists_dst, &keep, &in_place, &extra, count)?
        }
        None => {
            let mut xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{}\">\n",
                content.new.len()
            );
            for (b, id) in &content.new {
                xml.push_str(&b.filelists_xml(id));
            }
            xml.push_str("</filelists>\n");
            write_file(&filelists_dst, xml.as_bytes())?
        }
    };
    entries.push(RepomdEntry {
        kind: "filelists".into(),
        href: "repodata/filelists.xml.gz".into(),
        digest: filelists,
    });

    let comps = write_comps(&content.groups);
    let mut group = write_file(&repodata.join("comps.xml"), comps.as_bytes())?;
    group.open_sha256 = None;
    group.open_size = None;
    entries.push(RepomdEntry {
        kind: "group".into(),
        href: "repodata/comps.xml".into(),
        digest: group,
    });
    let group_gz = write_file(&repodata.join("comps.xml.gz"), comps.as_bytes())?;
    entries.push(RepomdEntry {
        kind: "group_gz".into(),
        href: "repodata/comps.xml.gz".into(),
        digest: group_gz,
    });

    write_repomd(&repodata.join("repomd.xml"), &entries, timestamp)
}

fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}
