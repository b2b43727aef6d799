//! RPM version comparison: `rpmvercmp` and the `(epoch, version, release)`
//! triple. Gives exactly the answers of the SQL functions `rpmvercmp` and
//! `rpmvercmp_evr` (migrations), which are tested against the same vectors.

use std::cmp::Ordering;
use std::fmt;

/// Compares two version (or release) strings with RPM's algorithm.
///
/// ASCII alphanumerics form segments (digit runs or letter runs) and
/// everything else separates them; `~` sorts before anything, even the end
/// of the string; `^` sorts after the end but before any other segment;
/// numeric segments compare by value and beat alphabetic ones.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let is_sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        let (ci, cj) = (a.get(i).copied(), b.get(j).copied());
        if ci == Some(b'~') || cj == Some(b'~') {
            if ci != Some(b'~') {
                return Ordering::Greater;
            }
            if cj != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ci == Some(b'^') || cj == Some(b'^') {
            if ci.is_none() {
                return Ordering::Less;
            }
            if cj.is_none() {
                return Ordering::Greater;
            }
            if ci != Some(b'^') {
                return Ordering::Greater;
            }
            if cj != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first), Some(_)) = (ci, cj) else {
            break;
        };
        let numeric = first.is_ascii_digit();
        let in_segment = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let seg1_len = a[i..].iter().take_while(|c| in_segment(c)).count();
        let seg2_len = b[j..].iter().take_while(|c| in_segment(c)).count();
        let mut seg1 = &a[i..i + seg1_len];
        let mut seg2 = &b[j..j + seg2_len];
        i += seg1_len;
        j += seg2_len;
        if seg2.is_empty() {
            // Segments of different kinds: the numeric one is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if numeric {
            seg1 = strip_leading_zeros(seg1);
            seg2 = strip_leading_zeros(seg2);
            match seg1.len().cmp(&seg2.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match seg1.cmp(seg2) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn strip_leading_zeros(s: &[u8]) -> &[u8] {
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    &s[zeros..]
}

/// An RPM `(epoch, version, release)`. A missing epoch compares as 0, so
/// builds registered from Koji (NULL epoch) and resolved dependencies (epoch
/// 0) agree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Evr {
    pub epoch: Option<i32>,
    pub version: String,
    pub release: String,
}

impl Evr {
    pub fn new(epoch: Option<i32>, version: impl Into<String>, release: impl Into<String>) -> Self {
        Evr {
            epoch,
            version: version.into(),
            release: release.into(),
        }
    }

    /// Compares with RPM semantics (`rpmvercmp_evr` in SQL).
    pub fn rpm_cmp(&self, other: &Evr) -> Ordering {
        self.epoch
            .unwrap_or(0)
            .cmp(&other.epoch.unwrap_or(0))
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

impl fmt::Display for Evr {
    /// `[E:]V-R`, the epoch only when non-zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.epoch {
            Some(e) if e != 0 => write!(f, "{}:{}-{}", e, self.version, self.release),
            _ => write!(f, "{}-{}", self.version, self.release),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(s: &str) -> Ordering {
        match s {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("bad expectation {other:?}"),
        }
    }

    #[test]
    fn agrees_with_every_rpm_vector() {
        let path = crate::testdata::shared_path("fixtures/rpmvercmp.tsv");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut count = 0;
        for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "bad line {line:?}");
            assert_eq!(
                rpmvercmp(cols[0], cols[1]),
                expected(cols[2]),
                "rpmvercmp({:?}, {:?})",
                cols[0],
                cols[1]
            );
            count += 1;
        }
        assert!(count >= 90, "only {count} vectors read");
    }

    #[test]
    fn evr_treats_missing_epoch_as_zero() {
        let a = Evr::new(None, "1.0", "1");
        let b = Evr::new(Some(0), "1.0", "1");
        assert_eq!(a.rpm_cmp(&b), Ordering::Equal);
        assert_eq!(
            Evr::new(Some(1), "0.1", "1").rpm_cmp(&Evr::new(None, "9", "9")),
            Ordering::Greater
        );
        assert_eq!(
            Evr::new(None, "1.0", "2").rpm_cmp(&Evr::new(None, "1.0", "10")),
            Ordering::Less
        );
        assert_eq!(Evr::new(Some(2), "8.b", "1").to_string(), "2:8.b-1");
        assert_eq!(Evr::new(Some(0), "3", "1.fc22").to_string(), "3-1.fc22");
    }
}
