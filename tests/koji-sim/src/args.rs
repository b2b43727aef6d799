//! Python-style binding of XML-RPC parameters: positional arguments, then Koji's
//! `__starstar` keyword arguments.

use koschei_koji::xmlrpc::{decode_args, is_truthy, Fault, Struct, Value};

/// The arguments of one call.
#[derive(Debug, Clone)]
pub struct Args {
    positional: Vec<Value>,
    keywords: Struct,
}

impl Args {
    /// Splits raw parameters.
    pub fn new(params: Vec<Value>) -> Self {
        let (positional, keywords) = decode_args(params);
        Args {
            positional,
            keywords,
        }
    }

    /// Parameter `name` at position `index` (or as keyword); `None` when absent or nil.
    pub fn get(&self, index: usize, name: &str) -> Option<&Value> {
        self.positional
            .get(index)
            .or_else(|| self.keywords.get(name))
            .filter(|v| !v.is_nil())
    }

    /// A required parameter.
    pub fn req(&self, index: usize, name: &str) -> Result<&Value, Fault> {
        self.get(index, name)
            .ok_or_else(|| Fault::parameter(format!("missing required argument: {name}")))
    }

    /// An optional flag (Python truthiness).
    pub fn flag(&self, index: usize, name: &str, default: bool) -> bool {
        match self
            .positional
            .get(index)
            .or_else(|| self.keywords.get(name))
        {
            Some(v) => is_truthy(v),
            None => default,
        }
    }

    /// An optional integer.
    pub fn int(&self, index: usize, name: &str) -> Result<Option<i64>, Fault> {
        match self.get(index, name) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| Fault::parameter(format!("{name}: invalid integer {s:?}"))),
            Some(other) => Err(Fault::parameter(format!(
                "{name}: expected an integer, got {other:?}"
            ))),
        }
    }

    /// An optional string.
    pub fn str(&self, index: usize, name: &str) -> Result<Option<&str>, Fault> {
        match self.get(index, name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| Fault::parameter(format!("{name}: expected a string"))),
        }
    }

    /// An optional float.
    pub fn float(&self, index: usize, name: &str) -> Result<Option<f64>, Fault> {
        match self.get(index, name) {
            None => Ok(None),
            Some(Value::Double(d)) => Ok(Some(*d)),
            Some(Value::Int(i)) => Ok(Some(*i as f64)),
            Some(_) => Err(Fault::parameter(format!("{name}: expected a number"))),
        }
    }

    /// A keyword-only string argument.
    pub fn kw_str(&self, name: &str) -> Result<Option<&str>, Fault> {
        match self.keywords.get(name).filter(|v| !v.is_nil()) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| Fault::parameter(format!("{name}: expected a string"))),
        }
    }
}
