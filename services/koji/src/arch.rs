//! Koji's canonical architecture names (`koji.canonArch`).

/// The canonical form of an arch, exactly as `koji.canonArch` computes it:
/// `i?86`/`athlon` → `i386`, `ia32e` → `x86_64`, `ppc64le` stays, `ppc64*` → `ppc64`,
/// `sparc64*` → `sparc64`, `sparc*` → `sparc`, `alpha*` → `alpha`, `arm*h*` → `armhfp`,
/// `arm*` → `arm`, anything else unchanged.
pub fn canon_arch(arch: &str) -> &str {
    let b = arch.as_bytes();
    if (b.len() == 4 && b[0] == b'i' && &b[2..] == b"86") || arch == "athlon" {
        "i386"
    } else if arch == "ia32e" {
        "x86_64"
    } else if arch == "ppc64le" {
        "ppc64le"
    } else if arch.starts_with("ppc64") {
        "ppc64"
    } else if arch.starts_with("sparc64") {
        "sparc64"
    } else if arch.starts_with("sparc") {
        "sparc"
    } else if arch.starts_with("alpha") {
        "alpha"
    } else if arch.starts_with("arm") && arch[3..].contains('h') {
        "armhfp"
    } else if arch.starts_with("arm") {
        "arm"
    } else {
        arch
    }
}

#[cfg(test)]
mod tests {
    use super::canon_arch;

    #[test]
    fn matches_koji_canon_arch() {
        let cases = [
            ("i386", "i386"),
            ("i686", "i386"),
            ("athlon", "i386"),
            ("ia32e", "x86_64"),
            ("x86_64", "x86_64"),
            ("ppc64le", "ppc64le"),
            ("ppc64", "ppc64"),
            ("ppc64p7", "ppc64"),
            ("sparc64v", "sparc64"),
            ("sparcv9", "sparc"),
            ("alphaev6", "alpha"),
            ("armv7hl", "armhfp"),
            ("armhfp", "armhfp"),
            ("armv7l", "arm"),
            ("aarch64", "aarch64"),
            ("s390x", "s390x"),
            ("noarch", "noarch"),
            ("i86", "i86"),
        ];
        for (arch, canon) in cases {
            assert_eq!(canon_arch(arch), canon, "{arch}");
        }
    }
}
