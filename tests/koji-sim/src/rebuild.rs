//! The binary packages a scratch build produces. A rebuild makes the build's own binaries
//! again, linked against the buildroot it ran in: a library require (`libfoo.so.1…`) the
//! build repo no longer provides becomes the soname it does provide under the same library
//! name (`libfoo.so.2…`), as a real rebuild links against what it finds. Only binaries
//! made by scenarios (`sim.importBuild`) are rebuilt: the seed's binaries keep their
//! dependencies in the seed's XML, so their scratch builds produce logs only.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::new_binary::NewBinary;
use crate::rpmmd::Dep;
use crate::state::{Build, RpmContent, State};

/// The binaries the arch task `task_arch` of a scratch build of `build` in repo `repo_id`
/// produces: those of its arch, and the noarch ones in the first arch task.
pub fn rebuilt_binaries(
    st: &State,
    build: &Build,
    repo_id: i64,
    task_arch: &str,
    first_task: bool,
) -> Vec<Arc<NewBinary>> {
    let provided = repo_provides(st, repo_id);
    let by_library = libraries(&provided);
    build
        .rpms
        .iter()
        .filter_map(|id| st.rpm(*id))
        .filter_map(|rpm| match &rpm.content {
            RpmContent::NewBinary(binary, _) => Some(binary),
            _ => None,
        })
        .filter(|b| b.arch == task_arch || (first_task && b.arch == "noarch"))
        .map(|b| {
            let mut rebuilt = NewBinary::clone(b);
            for dep in &mut rebuilt.deps.requires {
                if provided.contains(dep.name.as_ref()) {
                    continue;
                }
                let newer = soname_parts(&dep.name)
                    .and_then(|(library, _, suffix)| by_library.get(&(library, suffix)).cloned());
                if let Some(name) = newer {
                    *dep = Dep {
                        name: name.into(),
                        ..dep.clone()
                    };
                }
            }
            Arc::new(rebuilt)
        })
        .collect()
}

/// Names every scenario binary of the repo's builds provides.
fn repo_provides(st: &State, repo_id: i64) -> HashSet<String> {
    let Some(repo) = st.repo(repo_id) else {
        return HashSet::new();
    };
    st.repo_builds(repo.tag_id, repo.create_event)
        .into_iter()
        .filter_map(|id| st.build(id))
        .flat_map(|b| b.rpms.iter().filter_map(|id| st.rpm(*id)))
        .filter_map(|rpm| match &rpm.content {
            RpmContent::NewBinary(binary, _) => Some(binary.deps.provides.iter()),
            _ => None,
        })
        .flatten()
        .map(|d| d.name.to_string())
        .collect()
}

/// Provided sonames by (library, suffix): the highest soname version of each.
fn libraries(provided: &HashSet<String>) -> HashMap<(&str, &str), String> {
    let mut out: HashMap<(&str, &str), (&str, String)> = HashMap::new();
    for name in provided {
        let Some((library, version, suffix)) = soname_parts(name) else {
            continue;
        };
        let entry = out
            .entry((library, suffix))
            .or_insert((version, name.clone()));
        if koschei_depsolve::rpmvercmp(version, entry.0).is_gt() {
            *entry = (version, name.clone());
        }
    }
    out.into_iter().map(|(k, (_, name))| (k, name)).collect()
}

/// `libfoo.so.1.2()(64bit)` as (`libfoo.so.`, `1.2`, `()(64bit)`); `None` for anything
/// that is no versioned soname.
fn soname_parts(name: &str) -> Option<(&str, &str, &str)> {
    let at = name.find(".so.")? + ".so.".len();
    let (library, rest) = name.split_at(at);
    let end = rest.find('(').unwrap_or(rest.len());
    let (version, suffix) = rest.split_at(end);
    (!version.is_empty()).then_some((library, version, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sonames_split_into_library_version_and_suffix() {
        assert_eq!(
            soname_parts("libfoo.so.1.2()(64bit)"),
            Some(("libfoo.so.", "1.2", "()(64bit)"))
        );
        assert_eq!(
            soname_parts("libmylib.so.2"),
            Some(("libmylib.so.", "2", ""))
        );
        assert_eq!(soname_parts("libfoo.so()(64bit)"), None);
        assert_eq!(soname_parts("python3dist(foo)"), None);
    }

    #[test]
    fn the_highest_provided_soname_of_a_library_is_chosen() {
        let provided: HashSet<String> = ["libfoo.so.2", "libfoo.so.10", "libfoo.so.3()(64bit)"]
            .into_iter()
            .map(String::from)
            .collect();
        let by_library = libraries(&provided);
        assert_eq!(by_library[&("libfoo.so.", "")], "libfoo.so.10");
        assert_eq!(
            by_library[&("libfoo.so.", "()(64bit)")],
            "libfoo.so.3()(64bit)"
        );
    }
}
