//! Relation flags of a libsolv reldep (`<`, `=`, `>`, and the rich-dependency operators).

/// `>`
pub const GT: i32 = super::sys::REL_GT as i32;
/// `=`
pub const EQ: i32 = super::sys::REL_EQ as i32;
/// `<`
pub const LT: i32 = super::sys::REL_LT as i32;
/// `or` (rich dependency)
pub const OR: i32 = super::sys::REL_OR as i32;
/// Boolean/rich operators (`and`, `or`, `if`, …) are all >= this value except the
/// leaf-like ones listed in [`is_boolean`].
pub fn is_boolean(flags: i32) -> bool {
    use super::sys::*;
    [
        REL_AND,
        REL_OR,
        REL_WITH,
        REL_WITHOUT,
        REL_COND,
        REL_UNLESS,
        REL_ELSE,
    ]
    .iter()
    .any(|&f| f as i32 == flags)
}
