//! The bindgen output for the system libsolv headers (see `build.rs`), plus the one libsolv
//! export its public headers leave undeclared.

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all,
    missing_docs
)]

include!(concat!(env!("OUT_DIR"), "/libsolv_bindings.rs"));

extern "C" {
    /// rpmvercmp of two version segments (`[s1, q1)` vs `[s2, q2)`), exported by libsolv
    /// but not declared in its public headers.
    pub fn solv_vercmp_rpm(
        s1: *const std::os::raw::c_char,
        q1: *const std::os::raw::c_char,
        s2: *const std::os::raw::c_char,
        q2: *const std::os::raw::c_char,
    ) -> std::os::raw::c_int;
}
