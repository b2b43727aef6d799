//! rpm-md (repodata) reading and writing: the seed's primary/filelists/comps, dependency
//! entries, filtered copies for regenerated repos, and `repomd.xml` with checksums (new
//! packages' elements are `new_binary`'s).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use sha2::{Digest, Sha256};

/// RPMSENSE comparison bits used in [`Dep::flags`].
pub const SENSE_LESS: i64 = 2;
/// `RPMSENSE_GREATER`.
pub const SENSE_GREATER: i64 = 4;
/// `RPMSENSE_EQUAL`.
pub const SENSE_EQUAL: i64 = 8;
/// `RPMSENSE_PREREQ`-style marker for `pre="1"` entries (`RPMSENSE_SCRIPT_PRE`).
pub const SENSE_SCRIPT_PRE: i64 = 1 << 9;

/// The suffix of a scenario dependency text marking a `pre="1"` requires entry.
pub const PRE_MARKER: &str = " [pre]";

/// A dependency entry (`rpm:entry`), with the version as `[epoch:]version[-release]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// Name (or a rich dependency in parentheses).
    pub name: Box<str>,
    /// RPMSENSE bits: comparison bits plus [`SENSE_SCRIPT_PRE`].
    pub flags: i64,
    /// Version, empty when unversioned.
    pub version: Box<str>,
}

impl Dep {
    /// Parses `name [op version] [[pre]]` (as written in scenario scripts): a trailing
    /// `[pre]` marks an rpm-md `pre="1"` entry ([`SENSE_SCRIPT_PRE`]).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Some(dep) = text.strip_suffix(PRE_MARKER) {
            let mut dep = Dep::parse(dep)?;
            dep.flags |= SENSE_SCRIPT_PRE;
            return Ok(dep);
        }
        if text.starts_with('(') {
            return Ok(Dep {
                name: text.into(),
                flags: 0,
                version: "".into(),
            });
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        match parts.as_slice() {
            [name] => Ok(Dep {
                name: (*name).into(),
                flags: 0,
                version: "".into(),
            }),
            [name, op, version] => {
                let flags = match *op {
                    "<" => SENSE_LESS,
                    "<=" => SENSE_LESS | SENSE_EQUAL,
                    "=" | "==" => SENSE_EQUAL,
                    ">=" => SENSE_GREATER | SENSE_EQUAL,
                    ">" => SENSE_GREATER,
                    _ => bail!("bad operator in dependency {text:?}"),
                };
                Ok(Dep {
                    name: (*name).into(),
                    flags,
                    version: (*version).into(),
                })
            }
            _ => bail!("bad dependency {text:?}"),
        }
    }

    /// Its `<rpm:entry/>` line, as createrepo_c writes it.
    pub fn entry_xml(&self) -> String {
        let pre = if self.flags & SENSE_SCRIPT_PRE != 0 {
            " pre=\"1\""
        } else {
            ""
        };
        match self.md_flags() {
            Some(flags) if !self.version.is_empty() => {
                let (epoch, ver, rel) = split_evr(&self.version);
                let rel = rel
                    .map(|r| format!(" rel=\"{}\"", escape(r)))
                    .unwrap_or_default();
                format!(
                    "      <rpm:entry name=\"{}\" flags=\"{flags}\" epoch=\"{}\" ver=\"{}\"{rel}{pre}/>\n",
                    escape(&self.name),
                    epoch.unwrap_or("0"),
                    escape(ver)
                )
            }
            _ => format!("      <rpm:entry name=\"{}\"{pre}/>\n", escape(&self.name)),
        }
    }

    /// rpm-md's `flags` attribute (`EQ`, `GE`…), if versioned.
    fn md_flags(&self) -> Option<&'static str> {
        match self.flags & (SENSE_LESS | SENSE_GREATER | SENSE_EQUAL) {
            SENSE_LESS => Some("LT"),
            x if x == SENSE_LESS | SENSE_EQUAL => Some("LE"),
            SENSE_EQUAL => Some("EQ"),
            x if x == SENSE_GREATER | SENSE_EQUAL => Some("GE"),
            SENSE_GREATER => Some("GT"),
            _ => None,
        }
    }
}

/// Splits `[epoch:]version[-release]`.
pub fn split_evr(evr: &str) -> (Option<&str>, &str, Option<&str>) {
    let (epoch, rest) = match evr.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), r),
        _ => (None, evr),
    };
    match rest.rsplit_once('-') {
        Some((v, r)) => (epoch, v, Some(r)),
        None => (epoch, rest, None),
    }
}

/// One package of a primary.xml.
#[derive(Debug, Clone, Default)]
pub struct PrimaryPackage {
    /// Name.
    pub name: String,
    /// Arch (`src` for source packages).
    pub arch: String,
    /// Epoch (0 when absent).
    pub epoch: i64,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Package checksum (pkgid).
    pub pkgid: String,
    /// `rpm:sourcerpm` (empty for source packages).
    pub sourcerpm: String,
    /// Requires (only collected when asked for).
    pub requires: Vec<Dep>,
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a?;
        if a.key.as_ref() == name {
            return Ok(Some(a.unescape_value()?.into_owned()));
        }
    }
    Ok(None)
}

fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(match ext {
        "gz" => Box::new(BufReader::with_capacity(1 << 16, GzDecoder::new(file))),
        _ => Box::new(BufReader::with_capacity(1 << 16, file)),
    })
}

/// Streams the packages of a primary.xml(.gz) to `each`; requires are collected only
/// when `with_requires`.
pub fn read_primary(
    path: &Path,
    with_requires: bool,
    mut each: impl FnMut(PrimaryPackage),
) -> Result<()> {
    let mut reader = Reader::from_reader(open_maybe_gz(path)?);
    let mut buf = Vec::new();
    let mut pkg = PrimaryPackage::default();
    let mut text_target: Option<&'static str> = None;
    let mut in_requires = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .with_context(|| format!("parsing {}", path.display()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"package" => pkg = PrimaryPackage::default(),
                b"name" => text_target = Some("name"),
                b"arch" => text_target = Some("arch"),
                b"checksum" => text_target = Some("checksum"),
                b"rpm:sourcerpm" => text_target = Some("sourcerpm"),
                b"version" => {
                    pkg.epoch = attr(&e, b"epoch")?
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    pkg.version = attr(&e, b"ver")?.unwrap_or_default();
                    pkg.release = attr(&e, b"rel")?.unwrap_or_default();
                }
                b"rpm:requires" => in_requires = with_requires,
                b"rpm:entry" if in_requires => pkg.requires.push(entry_dep(&e)?),
                _ => {}
            },
            Event::Text(t) => {
                if let Some(target) = text_target {
                    let s = t.unescape()?.into_owned();
                    match target {
                        "name" => pkg.name = s,
                        "arch" => pkg.arch = s,
                        "checksum" => pkg.pkgid = s,
                        _ => pkg.sourcerpm = s,
                    }
                }
            }
            Event::End(e) => {
                text_target = None;
                match e.name().as_ref() {
                    b"rpm:requires" => in_requires = false,
                    b"package" => each(std::mem::take(&mut pkg)),
                    _ => {}
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

fn entry_dep(e: &BytesStart<'_>) -> Result<Dep> {
    let name = attr(e, b"name")?.unwrap_or_default();
    let mut flags = match attr(e, b"flags")?.as_deref() {
        Some("LT") => SENSE_LESS,
        Some("LE") => SENSE_LESS | SENSE_EQUAL,
        Some("EQ") => SENSE_EQUAL,
        Some("GE") => SENSE_GREATER | SENSE_EQUAL,
        Some("GT") => SENSE_GREATER,
        _ => 0,
    };
    if attr(e, b"pre")?.as_deref() == Some("1") {
        flags |= SENSE_SCRIPT_PRE;
    }
    let mut version = String::new();
    if flags & (SENSE_LESS | SENSE_GREATER | SENSE_EQUAL) != 0 {
        if let Some(ep) = attr(e, b"epoch")?.filter(|e| e != "0") {
            version.push_str(&ep);
            version.push(':');
        }
        version.push_str(&attr(e, b"ver")?.unwrap_or_default());
        if let Some(rel) = attr(e, b"rel")? {
            version.push('-');
            version.push_str(&rel);
        }
    }
    Ok(Dep {
        name: name.into(),
        flags,
        version: version.into(),
    })
}

/// Escapes text for XML attributes and character data.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checksums and sizes of one repodata file, for repomd.xml.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDigest {
    /// sha256 of the file as stored.
    pub sha256: String,
    /// Size as stored.
    pub size: u64,
    /// sha256 of the uncompressed content (gzip files only).
    pub open_sha256: Option<String>,
    /// Uncompressed size (gzip files only).
    pub open_size: Option<u64>,
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Digest of an existing file; `gz` files also get their open checksum.
pub fn digest_file(path: &Path) -> Result<FileDigest> {
    let mut h = Hashing {
        inner: std::io::sink(),
        hasher: Sha256::new(),
        count: 0,
    };
    std::io::copy(&mut File::open(path)?, &mut h)?;
    let (open_sha256, open_size) = if path.extension().is_some_and(|e| e == "gz") {
        let mut o = Hashing {
            inner: std::io::sink(),
            hasher: Sha256::new(),
            count: 0,
        };
        std::io::copy(&mut GzDecoder::new(File::open(path)?), &mut o)?;
        (Some(hex(&o.hasher.finalize())), Some(o.count))
    } else {
        (None, None)
    };
    Ok(FileDigest {
        sha256: hex(&h.hasher.finalize()),
        size: h.count,
        open_sha256,
        open_size,
    })
}

/// Removes `path` when it exists, so that a new file (a new inode) is
/// written instead of one shared through a hard link.
pub fn unlink_existing(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Writes `content` to `path` (gzip-compressed when the name ends in `.gz`).
pub fn write_file(path: &Path, content: &[u8]) -> Result<FileDigest> {
    let mut out = RepodataWriter::create(path)?;
    out.write_all(content)?;
    out.finish()
}

/// Writer of one repodata file, tracking open and stored checksums.
pub struct RepodataWriter {
    inner: Hashing<Box<dyn FinishWrite>>,
}

trait FinishWrite: Write {
    fn finish(self: Box<Self>) -> std::io::Result<(String, u64)>;
}

impl FinishWrite for Hashing<File> {
    fn finish(mut self: Box<Self>) -> std::io::Result<(String, u64)> {
        self.inner.flush()?;
        let h = std::mem::take(&mut self.hasher);
        Ok((hex(&h.finalize()), self.count))
    }
}

impl FinishWrite for GzEncoder<Hashing<File>> {
    fn finish(self: Box<Self>) -> std::io::Result<(String, u64)> {
        let mut file = (*self).finish()?;
        file.flush()?;
        Ok((hex(&file.hasher.finalize()), file.count))
    }
}

impl RepodataWriter {
    /// Creates `path`, gzip-compressing (fast) when it ends in `.gz`.
    pub fn create(path: &Path) -> Result<Self> {
        // Never write through a hard link to the seed (see repos::link_or_copy).
        unlink_existing(path)?;
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let stored = Hashing {
            inner: file,
            hasher: Sha256::new(),
            count: 0,
        };
        let inner: Box<dyn FinishWrite> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(GzEncoder::new(stored, Compression::fast()))
        } else {
            Box::new(stored)
        };
        Ok(RepodataWriter {
            inner: Hashing {
                inner,
                hasher: Sha256::new(),
                count: 0,
            },
        })
    }

    /// Finishes the file and returns its digest.
    pub fn finish(self) -> Result<FileDigest> {
        let open_sha = hex(&self.inner.hasher.finalize());
        let open_size = self.inner.count;
        let (sha256, size) = self.inner.inner.finish()?;
        Ok(FileDigest {
            sha256,
            size,
            open_sha256: Some(open_sha),
            open_size: Some(open_size),
        })
    }
}

impl Write for RepodataWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Copies a primary/filelists file keeping the `<package>` elements for which `keep`
/// returns true (it gets the element's pkgid), writing the `in_place` elements of a
/// dropped pkgid where it was, appending `extra` elements and setting the root's
/// `packages` count to `count`. Works on bytes, without re-parsing kept packages.
pub fn filter_packages(
    src: &Path,
    dst: &Path,
    keep: &dyn Fn(&str) -> bool,
    in_place: &std::collections::HashMap<String, Vec<String>>,
    extra: &[String],
    count: usize,
) -> Result<FileDigest> {
    let mut input = open_maybe_gz(src)?;
    let mut out = RepodataWriter::create(dst)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    let mut header_done = false;
    let mut eof = false;
    loop {
        // Process every complete <package>…</package> in the buffer.
        let mut consumed = 0;
        while let Some(start) = find_package_start(&buf[consumed..]).map(|i| i + consumed) {
            if !header_done {
                let header = String::from_utf8_lossy(&buf[consumed..start]).into_owned();
                out.write_all(set_count(&header, count).as_bytes())?;
                header_done = true;
            } else {
                out.write_all(&buf[consumed..start])?;
            }
            let Some(end) =
                find(&buf[start..], b"</package>").map(|i| start + i + b"</package>".len())
            else {
                consumed = start;
                break;
            };
            let element = &buf[start..end];
            let pkgid = package_pkgid(element);
            let kept = keep(&pkgid);
            if kept {
                out.write_all(element)?;
            } else {
                for e in in_place.get(&pkgid).into_iter().flatten() {
                    out.write_all(e.as_bytes())?;
                }
            }
            consumed = end;
            // The line break after a dropped element goes with it.
            if !kept && buf.get(consumed) == Some(&b'\n') {
                consumed += 1;
            }
        }
        buf.drain(..consumed);
        if eof {
            break;
        }
        let n = input.read(&mut chunk)?;
        if n == 0 {
            eof = true;
        } else {
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    // What remains is the trailer (or the whole document when it has no packages).
    let rest = String::from_utf8_lossy(&buf).into_owned();
    let (body, trailer) = match rest.rfind("</") {
        Some(i) => rest.split_at(i),
        None => bail!("{}: no closing root element", src.display()),
    };
    if !header_done {
        let open_root = body.trim_end();
        if let Some(stripped) = open_root.strip_suffix("/>") {
            // <metadata …/> with no packages: open it explicitly.
            out.write_all(set_count(stripped, count).as_bytes())?;
            out.write_all(b">\n")?;
        } else {
            out.write_all(set_count(body, count).as_bytes())?;
        }
    } else {
        out.write_all(body.as_bytes())?;
    }
    for e in extra {
        out.write_all(e.as_bytes())?;
    }
    out.write_all(trailer.as_bytes())?;
    out.finish()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_package_start(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&hay[from..], b"<package") {
        let at = from + i;
        match hay.get(at + b"<package".len()) {
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'>') => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}

/// The pkgid of a `<package>` element of primary (checksum text) or filelists (attribute).
fn package_pkgid(element: &[u8]) -> String {
    let head_end = element
        .iter()
        .position(|&b| b == b'>')
        .unwrap_or(element.len());
    if let Some(i) = find(&element[..head_end], b"pkgid=\"") {
        let rest = &element[i + 7..head_end];
        let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        return String::from_utf8_lossy(&rest[..end]).into_owned();
    }
    if let Some(i) = find(element, b"<checksum") {
        let rest = &element[i..];
        if let Some(gt) = rest.iter().position(|&b| b == b'>') {
            let text = &rest[gt + 1..];
            let end = text.iter().position(|&b| b == b'<').unwrap_or(text.len());
            return String::from_utf8_lossy(&text[..end]).trim().to_owned();
        }
    }
    String::new()
}

/// Replaces (or adds) the `packages="N"` attribute of the root element in `header`.
fn set_count(header: &str, count: usize) -> String {
    if let Some(i) = header.find("packages=\"") {
        let after = &header[i + 10..];
        if let Some(end) = after.find('"') {
            return format!("{}packages=\"{count}\"{}", &header[..i], &after[end + 1..]);
        }
    }
    header.to_owned()
}

/// One `<data>` entry of repomd.xml.
#[derive(Debug, Clone)]
pub struct RepomdEntry {
    /// Data type (`primary`, `filelists`, `group`, `group_gz`).
    pub kind: String,
    /// Location relative to the repo root (`repodata/primary.xml.gz`).
    pub href: String,
    /// Its digest.
    pub digest: FileDigest,
}

/// Writes `repomd.xml` for the entries.
pub fn write_repomd(path: &Path, entries: &[RepomdEntry], timestamp: i64) -> Result<()> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    s.push_str(&format!("  <revision>{timestamp}</revision>\n"));
    for e in entries {
        s.push_str(&format!("  <data type=\"{}\">\n", e.kind));
        s.push_str(&format!(
            "    <checksum type=\"sha256\">{}</checksum>\n",
            e.digest.sha256
        ));
        if let Some(o) = &e.digest.open_sha256 {
            s.push_str(&format!(
                "    <open-checksum type=\"sha256\">{o}</open-checksum>\n"
            ));
        }
        s.push_str(&format!("    <location href=\"{}\"/>\n", escape(&e.href)));
        s.push_str(&format!("    <timestamp>{timestamp}</timestamp>\n"));
        s.push_str(&format!("    <size>{}</size>\n", e.digest.size));
        if let Some(o) = e.digest.open_size {
            s.push_str(&format!("    <open-size>{o}</open-size>\n"));
        }
        s.push_str("  </data>\n");
    }
    s.push_str("</repomd>\n");
    unlink_existing(path)?;
    std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))
}

/// The data files listed in a seed's repomd.xml, by type.
pub fn repomd_locations(repo_root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let path = repo_root.join("repodata/repomd.xml");
    let xml = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = Reader::from_reader(xml.as_slice());
    let mut kind = None;
    let mut out = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"data" => {
                kind = attr(&e, b"type")?
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"location" => {
                if let (Some(k), Some(href)) = (kind.clone(), attr(&e, b"href")?) {
                    out.push((k, repo_root.join(href)));
                }
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}
