//! The XML-RPC value model and its bridge to serde.
//!
//! Koji's dialect adds `<nil/>` and `<i8>` to plain XML-RPC; both are first-class here.
//! Typed structs are (de)serialized through `serde_json::Value`, which maps one-to-one
//! onto [`Value`] except for `dateTime.iso8601` and `base64`, which become strings.

use std::collections::BTreeMap;

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>` or `<i8>`.
    Int(i64),
    /// `<boolean>` (0 or 1 on the wire).
    Bool(bool),
    /// `<string>` or an untyped `<value>`.
    String(String),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, kept as sent (e.g. `20240102T03:04:05`).
    DateTime(String),
    /// `<base64>`, decoded.
    Base64(Vec<u8>),
    /// `<struct>`; member order is not significant in XML-RPC.
    Struct(BTreeMap<String, Value>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<nil/>` (Python's `None`).
    Nil,
}

/// A struct value under construction or inspection.
pub type Struct = BTreeMap<String, Value>;

/// Error converting between [`Value`] and a typed Rust value.
#[derive(Debug, thiserror::Error)]
#[error("cannot convert XML-RPC value: {0}")]
pub struct ConversionError(String);

impl ConversionError {
    /// An error with the given explanation.
    pub fn new(message: impl Into<String>) -> Self {
        ConversionError(message.into())
    }
}

impl Value {
    /// Builds a string value.
    pub fn str(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// The member `key` of a struct, if this is a struct that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(m) => m.get(key),
            _ => None,
        }
    }

    /// The integer inside, if any.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The string inside (`string` or `dateTime.iso8601`), if any.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean inside, if any.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements of an array, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members of a struct, if this is one.
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is `<nil/>`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Converts into JSON (dates and base64 become strings).
    pub fn into_json(self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Int(i) => J::from(i),
            Value::Bool(b) => J::Bool(b),
            Value::String(s) | Value::DateTime(s) => J::String(s),
            Value::Double(d) => serde_json::Number::from_f64(d).map_or(J::Null, J::Number),
            Value::Base64(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Value::Struct(m) => J::Object(m.into_iter().map(|(k, v)| (k, v.into_json())).collect()),
            Value::Array(a) => J::Array(a.into_iter().map(Value::into_json).collect()),
            Value::Nil => J::Null,
        }
    }

    /// Converts from JSON: integers become `Int`, other numbers `Double`, null `Nil`.
    pub fn from_json(json: serde_json::Value) -> Self {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s),
            J::Array(a) => Value::Array(a.into_iter().map(Value::from_json).collect()),
            J::Object(m) => Value::Struct(
                m.into_iter()
                    .map(|(k, v)| (k, Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Deserializes into a typed value.
    pub fn deserialize<T: DeserializeOwned>(self) -> Result<T, ConversionError> {
        serde_json::from_value(self.into_json()).map_err(|e| ConversionError(e.to_string()))
    }

    /// Serializes a typed value.
    pub fn serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, ConversionError> {
        serde_json::to_value(value)
            .map(Value::from_json)
            .map_err(|e| ConversionError(e.to_string()))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Nil, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl From<Struct> for Value {
    fn from(v: Struct) -> Self {
        Value::Struct(v)
    }
}

/// Name of the struct member that marks Koji keyword arguments.
pub const STARSTAR: &str = "__starstar";

/// Appends keyword arguments to positional ones the way Koji's `encode_args` does: a
/// trailing struct with `"__starstar": true` (nothing when there are no kwargs).
pub fn encode_args(mut args: Vec<Value>, kwargs: Struct) -> Vec<Value> {
    if !kwargs.is_empty() {
        let mut kw = kwargs;
        kw.insert(STARSTAR.to_owned(), Value::Bool(true));
        args.push(Value::Struct(kw));
    }
    args
}

/// Splits Koji-encoded parameters into positional and keyword arguments (`decode_args`).
pub fn decode_args(mut params: Vec<Value>) -> (Vec<Value>, Struct) {
    let is_kwargs = matches!(
        params.last(),
        Some(Value::Struct(m)) if m.get(STARSTAR).is_some_and(is_truthy)
    );
    if is_kwargs {
        if let Some(Value::Struct(mut kw)) = params.pop() {
            kw.remove(STARSTAR);
            return (params, kw);
        }
    }
    (params, Struct::new())
}

/// Python truthiness of a value (used for flags such as `__starstar`).
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Int(i) => *i != 0,
        Value::Bool(b) => *b,
        Value::String(s) | Value::DateTime(s) => !s.is_empty(),
        Value::Double(d) => *d != 0.0,
        Value::Base64(b) => !b.is_empty(),
        Value::Struct(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Nil => false,
    }
}

/// Builds a [`Struct`] from `(key, value)` pairs.
#[macro_export]
macro_rules! xstruct {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = $crate::xmlrpc::Struct::new();
        $( m.insert(::std::string::String::from($k), $crate::xmlrpc::Value::from($v)); )*
        m
    }};
}
