//! Binary packages made up by scenarios (`sim.importBuild`) and their rpm-md elements,
//! written as createrepo_c writes them: every dependency section a solver reads, the
//! files (the primary subset in primary.xml, all in filelists.xml), sizes and location.

use sha2::{Digest, Sha256};

use crate::rpmmd::{escape, hex, split_evr, Dep, SENSE_EQUAL};

/// The dependencies of a binary, by rpm-md section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependencies {
    /// `rpm:provides`; the implicit `name = evr` is added first unless given.
    pub provides: Vec<Dep>,
    /// `rpm:requires` (`pre="1"` entries carry [`crate::rpmmd::SENSE_SCRIPT_PRE`]).
    pub requires: Vec<Dep>,
    /// `rpm:conflicts`.
    pub conflicts: Vec<Dep>,
    /// `rpm:obsoletes`.
    pub obsoletes: Vec<Dep>,
    /// `rpm:suggests`.
    pub suggests: Vec<Dep>,
    /// `rpm:enhances`.
    pub enhances: Vec<Dep>,
    /// `rpm:recommends`.
    pub recommends: Vec<Dep>,
    /// `rpm:supplements`.
    pub supplements: Vec<Dep>,
}

impl Dependencies {
    /// The sections with their element names (`rpm:<name>`), in createrepo_c's order.
    pub fn sections(&self) -> [(&'static str, &[Dep]); 8] {
        [
            ("provides", &self.provides),
            ("requires", &self.requires),
            ("conflicts", &self.conflicts),
            ("obsoletes", &self.obsoletes),
            ("suggests", &self.suggests),
            ("enhances", &self.enhances),
            ("recommends", &self.recommends),
            ("supplements", &self.supplements),
        ]
    }
}

/// A package's `<size>`: of the package file, installed, and of the payload archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackageSize {
    /// `package` attribute.
    pub package: u64,
    /// `installed` attribute.
    pub installed: u64,
    /// `archive` attribute.
    pub archive: u64,
}

/// A binary package made up by a scenario (`sim.importBuild`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewBinary {
    /// Name.
    pub name: String,
    /// Arch (`x86_64` or `noarch`).
    pub arch: String,
    /// Epoch.
    pub epoch: i64,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Source rpm file name.
    pub sourcerpm: String,
    /// Dependencies.
    pub deps: Dependencies,
    /// Files (paths).
    pub files: Vec<String>,
    /// Sizes (zero when not given).
    pub size: PackageSize,
    /// `<location href>`; `Packages/<name>-<version>-<release>.<arch>.rpm` when `None`.
    pub location: Option<String>,
}

/// Whether createrepo_c lists `path` in primary.xml as well as in filelists.xml
/// (`/etc/…`, anything with `bin/`, `/usr/lib/sendmail`): the files dependencies
/// commonly name.
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

impl NewBinary {
    /// A realistic, distinct pkgid (sha256 of the NEVRA and build).
    pub fn pkgid(&self, build_id: i64) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "{}-{}:{}-{}.{}@{build_id}",
            self.name, self.epoch, self.version, self.release, self.arch
        ));
        hex(&h.finalize())
    }

    /// Its rpm file's name, `name-version-release.arch.rpm`.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }

    /// Whether `d` is this binary's own `name = epoch:version-release` provide.
    pub fn is_self_provide(&self, d: &Dep) -> bool {
        let (epoch, version, release) = split_evr(&d.version);
        *d.name == *self.name
            && d.flags == SENSE_EQUAL
            && epoch.map_or(Some(0), |e| e.parse().ok()) == Some(self.epoch)
            && version == self.version
            && release == Some(self.release.as_str())
    }

    /// Its `<package>` element for primary.xml.
    pub fn primary_xml(&self, pkgid: &str) -> String {
        let esc = escape;
        let mut s = String::new();
        s.push_str("<package type=\"rpm\">\n");
        s.push_str(&format!(
            "  <name>{}</name>\n  <arch>{}</arch>\n",
            esc(&self.name),
            esc(&self.arch)
        ));
        s.push_str(&format!(
            "  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n",
            self.epoch,
            esc(&self.version),
            esc(&self.release)
        ));
        s.push_str(&format!(
            "  <checksum type=\"sha256\" pkgid=\"YES\">{pkgid}</checksum>\n"
        ));
        s.push_str(&format!(
            "  <summary>{0}</summary>\n  <description>{0}</description>\n",
            esc(&self.name)
        ));
        s.push_str("  <packager>koji-sim</packager>\n  <url></url>\n");
        s.push_str("  <time file=\"0\" build=\"0\"/>\n");
        let PackageSize {
            package,
            installed,
            archive,
        } = self.size;
        s.push_str(&format!(
            "  <size package=\"{package}\" installed=\"{installed}\" archive=\"{archive}\"/>\n"
        ));
        let location = self
            .location
            .clone()
            .unwrap_or_else(|| format!("Packages/{}", self.file_name()));
        s.push_str(&format!("  <location href=\"{}\"/>\n", esc(&location)));
        s.push_str("  <format>\n");
        s.push_str(&format!(
            "    <rpm:sourcerpm>{}</rpm:sourcerpm>\n",
            esc(&self.sourcerpm)
        ));
        for (section, deps) in self.deps.sections() {
            let implicit = (section == "provides"
                && !deps.iter().any(|d| self.is_self_provide(d)))
            .then(|| {
                format!(
                    "      <rpm:entry name=\"{}\" flags=\"EQ\" epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n",
                    esc(&self.name),
                    self.epoch,
                    esc(&self.version),
                    esc(&self.release)
                )
            });
            if deps.is_empty() && implicit.is_none() {
                continue;
            }
            s.push_str(&format!("    <rpm:{section}>\n"));
            s.push_str(&implicit.unwrap_or_default());
            for d in deps {
                s.push_str(&d.entry_xml());
            }
            s.push_str(&format!("    </rpm:{section}>\n"));
        }
        for f in self.files.iter().filter(|f| is_primary_file(f)) {
            s.push_str(&format!("    <file>{}</file>\n", esc(f)));
        }
        s.push_str("  </format>\n</package>\n");
        s
    }

    /// Its `<package>` element for filelists.xml.
    pub fn filelists_xml(&self, pkgid: &str) -> String {
        let mut s = format!(
            "<package pkgid=\"{pkgid}\" name=\"{}\" arch=\"{}\">\n  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n",
            escape(&self.name),
            escape(&self.arch),
            self.epoch,
            escape(&self.version),
            escape(&self.release)
        );
        for f in &self.files {
            s.push_str(&format!("  <file>{}</file>\n", escape(f)));
        }
        s.push_str("</package>\n");
        s
    }
}
