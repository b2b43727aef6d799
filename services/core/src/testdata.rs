//! Locating the project's shared test data (`../shared` beside the
//! repository, or `$KOSCHEI_SHARED`).

use std::path::PathBuf;

/// Path of `rel` inside the shared data directory: `$KOSCHEI_SHARED` when
/// set, otherwise `shared/` next to the workspace root.
pub fn shared_path(rel: &str) -> PathBuf {
    let base = std::env::var_os("KOSCHEI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    base.join(rel)
}
