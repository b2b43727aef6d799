//! Which arches to build an SRPM for, with Koschei's arch override (`get_srpm_arches` in
//! the original's `koschei/backend/koji_util.py`).

use std::collections::BTreeSet;

use crate::arch::canon_arch;
use crate::client::KojiClient;
use crate::error::KojiResult;
use crate::model::{ArchHeaders, Nvra};

/// Computes the build arches of an SRPM.
///
/// * `tag_arches`: the build tag's arches (`getBuildConfig(tag)['arches']`);
/// * `headers`: the SRPM's BuildArch/ExcludeArch/ExclusiveArch;
/// * `arch_override`: the package's override (space separated; a leading `^` excludes);
/// * `build_arches`: `koji_config.build_arches` (canonical names allowed for builds).
///
/// Returns the arches kept with their original (non-canonical) names.
pub fn compute_srpm_arches(
    tag_arches: &[String],
    headers: &ArchHeaders,
    arch_override: Option<&str>,
    build_arches: &[String],
) -> BTreeSet<String> {
    let mut archlist: Vec<String> = if headers.build_archs.is_empty() {
        tag_arches.to_vec()
    } else {
        headers.build_archs.clone()
    };
    if !headers.exclusive_arch.is_empty() {
        archlist.retain(|a| headers.exclusive_arch.contains(a));
    }
    if !headers.exclude_arch.is_empty() {
        archlist.retain(|a| !headers.exclude_arch.contains(a));
    }
    let noarch = "noarch".to_owned();
    if !headers.exclude_arch.contains(&noarch)
        && (headers.build_archs.contains(&noarch) || headers.exclusive_arch.contains(&noarch))
    {
        archlist.push(noarch);
    }
    match arch_override.map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) if o.starts_with('^') => {
            let excluded: BTreeSet<&str> = o[1..].split_whitespace().map(canon_arch).collect();
            archlist.retain(|a| !excluded.contains(canon_arch(a)));
        }
        Some(o) => archlist = o.split_whitespace().map(str::to_owned).collect(),
        None => {}
    }
    let tag_canon: BTreeSet<&str> = tag_arches.iter().map(|a| canon_arch(a)).collect();
    let allowed: BTreeSet<&str> = build_arches
        .iter()
        .map(|a| canon_arch(a))
        .filter(|a| tag_canon.contains(a))
        .collect();
    archlist
        .into_iter()
        .filter(|a| a == "noarch" || allowed.contains(canon_arch(a)))
        .collect()
}

/// `get_srpm_arches`: reads the SRPM's arch headers from Koji (`getRPMHeaders`) and
/// computes its arches; `None` when Koji has no such SRPM.
pub async fn get_srpm_arches(
    client: &KojiClient,
    tag_arches: &[String],
    srpm: &Nvra,
    arch_override: Option<&str>,
    build_arches: &[String],
) -> KojiResult<Option<BTreeSet<String>>> {
    let Some(headers) = client.get_arch_headers(srpm).await? else {
        return Ok(None);
    };
    Ok(Some(compute_srpm_arches(
        tag_arches,
        &headers,
        arch_override,
        build_arches,
    )))
}
