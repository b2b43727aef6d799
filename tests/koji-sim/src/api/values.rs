//! Helpers the hub calls share: their result type, generic faults, Python's renderings
//! of argument values (for Koji's messages), arch-list arguments and `queryOpts`.

use koschei_koji::xmlrpc::{is_truthy, Fault, Value};

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

/// Koji's `queryOpts` of a listing call: `countOnly`, `order` (a field, `-` first for
/// descending), `offset` and `limit`.
#[derive(Debug, Default)]
pub(super) struct QueryOpts {
    /// Answer the number of matches instead of them.
    pub count_only: bool,
    order: Option<String>,
    offset: usize,
    limit: Option<usize>,
}

impl QueryOpts {
    /// Reads a `queryOpts` argument (absent or nil: none).
    pub fn from_arg(v: Option<&Value>) -> Result<QueryOpts, Fault> {
        let m = match v {
            None | Some(Value::Nil) => return Ok(QueryOpts::default()),
            Some(Value::Struct(m)) => m,
            Some(_) => return Err(Fault::parameter("queryOpts must be a struct")),
        };
        let count = |key: &str| {
            m.get(key)
                .and_then(Value::as_i64)
                .map(|n| usize::try_from(n).unwrap_or(0))
        };
        Ok(QueryOpts {
            count_only: m.get("countOnly").is_some_and(is_truthy),
            order: m.get("order").and_then(Value::as_str).map(str::to_owned),
            offset: count("offset").unwrap_or(0),
            limit: count("limit"),
        })
    }

    /// The field to order by and whether descending.
    pub fn order(&self) -> Option<(&str, bool)> {
        self.order
            .as_deref()
            .map(|o| o.strip_prefix('-').map_or((o, false), |f| (f, true)))
    }

    /// The page of `items` that `offset` and `limit` select.
    pub fn page<T>(&self, items: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        items
            .into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
    }
}
