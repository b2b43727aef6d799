//! Links koschei-depsolve against the **system** libsolv and generates its FFI bindings.
//!
//! Why not the `libsolv-sys` crate: when pkg-config fails it silently falls back to a bundled
//! libsolv built without rpm-md support, and then every rpm-md load fails at run time. Here
//! pkg-config is mandatory (`libsolv` and `libsolvext` >= 0.7), the headers that prove rpm-md
//! and rich-dependency support (`repo_rpmmd.h`, `pool_parserpmrichdep.h`, `solv_xfopen.h`)
//! must exist, and bindgen reads exactly those system headers. Any failure aborts the build
//! with a message naming the Debian packages to install; there is no fallback.

use std::env;
use std::path::{Path, PathBuf};

const MIN_VERSION: &str = "0.7";
const REQUIRED_HEADERS: &[&str] = &[
    "solv/pool.h",
    "solv/repo_rpmmd.h",
    "solv/pool_parserpmrichdep.h",
    "solv/solv_xfopen.h",
    "solv/repo_write.h",
];

fn probe(name: &str) -> pkg_config::Library {
    pkg_config::Config::new()
        .atleast_version(MIN_VERSION)
        .probe(name)
        .unwrap_or_else(|e| {
            panic!(
                "\n\nkoschei-depsolve needs the SYSTEM {name} >= {MIN_VERSION} (found via pkg-config).\n\
                 Install it: apt-get install libsolv-dev libsolvext-dev libclang-dev pkg-config\n\
                 (there is deliberately no bundled fallback).\npkg-config said: {e}\n"
            )
        })
}

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=build.rs");
    let solv = probe("libsolv");
    let solvext = probe("libsolvext");

    let mut include_dirs: Vec<PathBuf> = solv
        .include_paths
        .iter()
        .chain(solvext.include_paths.iter())
        .cloned()
        .collect();
    include_dirs.extend([
        PathBuf::from("/usr/include"),
        PathBuf::from("/usr/local/include"),
    ]);
    for header in REQUIRED_HEADERS {
        if !include_dirs
            .iter()
            .any(|d| Path::new(d).join(header).is_file())
        {
            panic!(
                "\n\nsystem libsolv header {header} not found in {include_dirs:?}: \
                 libsolv must be built with rpm-md and complex-dependency support \
                 (apt-get install libsolv-dev libsolvext-dev)\n"
            );
        }
    }

    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .allowlist_function("pool_.*|repo_.*|repodata_internalize|solver_.*|selection_.*")
        .allowlist_function("queue_.*|solv_xfopen|solv_vercmp_rpm|solvable_.*")
        .allowlist_function("fopen|fclose|fdopen|fflush")
        .allowlist_type(
            "Pool|Repo|Solvable|Solver|Queue|Id|Offset|Reldep|SolverRuleinfo|solv_knownid",
        )
        .allowlist_var(
            "(SOLVER|SELECTION|REPO|REL|DISTTYPE|EVRCMP|SOLVABLE|ID|SYSTEMSOLVABLE|ARCH|RPM)_.*|SOLV_DEBUG_(JOB|ANALYZE)",
        )
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(false);
    for dir in &include_dirs {
        builder = builder.clang_arg(format!("-I{}", dir.display()));
    }
    let bindings = builder
        .generate()
        .expect("bindgen failed on the system libsolv headers (is libclang-dev installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("libsolv_bindings.rs");
    bindings.write_to_file(out).expect("write libsolv bindings");
}
