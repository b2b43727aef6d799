//! BuildRequires from Koji's `getRPMDeps` of an SRPM, as dependency strings
//! (`get_rpm_requires` in the original's `koschei/backend/koji_util.py`).

use crate::client::KojiClient;
use crate::error::KojiResult;
use crate::model::{Nvra, RpmDep};

/// `RPMSENSE_LESS`.
pub const RPMSENSE_LESS: i64 = 1 << 1;
/// `RPMSENSE_GREATER`.
pub const RPMSENSE_GREATER: i64 = 1 << 2;
/// `RPMSENSE_EQUAL`.
pub const RPMSENSE_EQUAL: i64 = 1 << 3;
/// `RPMSENSE_FIND_REQUIRES` (generated dependency; ignored).
pub const RPMSENSE_FIND_REQUIRES: i64 = 1 << 14;
/// `RPMSENSE_RPMLIB` (`rpmlib(…)` requirements).
pub const RPMSENSE_RPMLIB: i64 = 1 << 24;

const SENSE_MASK: i64 = RPMSENSE_LESS | RPMSENSE_GREATER | RPMSENSE_EQUAL;

/// Converts one dependency: `None` when it carries flag bits other than LESS, GREATER and
/// EQUAL once FIND_REQUIRES is dropped (rpmlib, pre/post…); else `name`, or
/// `name op version` with `op` the set bits rendered `<`, `>`, `=` in that order.
pub fn dep_to_string(dep: &RpmDep) -> Option<String> {
    let flags = dep.flags & !RPMSENSE_FIND_REQUIRES;
    if flags & !SENSE_MASK != 0 {
        return None;
    }
    let mut op = String::new();
    for (bit, c) in [
        (RPMSENSE_LESS, '<'),
        (RPMSENSE_GREATER, '>'),
        (RPMSENSE_EQUAL, '='),
    ] {
        if flags & bit != 0 {
            op.push(c);
        }
    }
    if op.is_empty() || dep.version.is_empty() {
        Some(dep.name.clone())
    } else {
        Some(format!("{} {} {}", dep.name, op, dep.version))
    }
}

/// The BuildRequires strings of an SRPM's requires, in Koji's order.
pub fn build_requires(deps: &[RpmDep]) -> Vec<String> {
    deps.iter().filter_map(dep_to_string).collect()
}

/// BuildRequires of many SRPMs, fetched with one chunked `getRPMDeps` multicall; each
/// SRPM gets its own result.
pub async fn get_build_requires(
    client: &KojiClient,
    srpms: &[Nvra],
) -> KojiResult<Vec<KojiResult<Vec<String>>>> {
    let results = client.get_rpm_requires_multi(srpms).await?;
    Ok(results
        .into_iter()
        .map(|r| r.map(|deps| build_requires(&deps)))
        .collect())
}
