//! Helpers the hub calls share: their result type, generic faults, Python's renderings
//! of argument values (for Koji's messages) and arch-list arguments.

use koschei_koji::xmlrpc::{Fault, Value};

pub(super) type Res = Result<Value, Fault>;

pub(super) fn generic(msg: impl Into<String>) -> Fault {
    Fault::generic(msg)
}

pub(super) fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// Python's `str()` of a tag or repo argument (Koji's `%s` in messages).
pub(super) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

pub(super) fn arch_filter(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(
            s.split([' ', ','])
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}
