//! Koji's `multiCall`: many calls in one request, each with its own result or fault.
//!
//! The request is `multiCall([{methodName, params}, …])`; the response holds, per call,
//! either a one-element array with the value or a `{faultCode, faultString}` struct.
//! This is Koji's own method, not `system.multicall`.

use crate::xmlrpc::{encode_args, fault_from_value, Fault, Struct, Value};

/// One call of a multicall.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Method name.
    pub method: String,
    /// Parameters, keyword arguments already encoded (`__starstar`).
    pub params: Vec<Value>,
}

impl Call {
    /// A call with positional arguments only.
    pub fn new(method: impl Into<String>, args: Vec<Value>) -> Self {
        Call {
            method: method.into(),
            params: args,
        }
    }

    /// A call with positional and keyword arguments.
    pub fn with_kwargs(method: impl Into<String>, args: Vec<Value>, kwargs: Struct) -> Self {
        Call {
            method: method.into(),
            params: encode_args(args, kwargs),
        }
    }

    /// The `{methodName, params}` struct sent inside `multiCall`.
    pub fn to_value(&self) -> Value {
        let mut m = Struct::new();
        m.insert("methodName".to_owned(), Value::String(self.method.clone()));
        m.insert("params".to_owned(), Value::Array(self.params.clone()));
        Value::Struct(m)
    }
}

/// The single parameter of a `multiCall` request for `calls`.
pub fn encode_calls(calls: &[Call]) -> Value {
    Value::Array(calls.iter().map(Call::to_value).collect())
}

/// Splits a `multiCall` response into per-call results. Fails only when the response as a
/// whole is not a list of `[value]` / fault entries of the expected length.
pub fn decode_results(
    response: Value,
    expected: usize,
) -> Result<Vec<Result<Value, Fault>>, String> {
    let Value::Array(entries) = response else {
        return Err("multiCall result is not an array".to_owned());
    };
    if entries.len() != expected {
        return Err(format!(
            "multiCall returned {} results for {expected} calls",
            entries.len()
        ));
    }
    entries
        .into_iter()
        .map(|entry| match entry {
            Value::Array(mut one) if one.len() == 1 => Ok(Ok(one.pop().unwrap_or(Value::Nil))),
            v @ Value::Struct(_) => fault_from_value(&v).map(Err).map_err(|e| e.to_string()),
            _ => Err("multiCall entry is neither [value] nor a fault".to_owned()),
        })
        .collect()
}

/// Parses the parameter of a `multiCall` request (server side).
pub fn parse_calls(param: &Value) -> Result<Vec<Call>, Fault> {
    let calls = param
        .as_array()
        .ok_or_else(|| Fault::parameter("multiCall expects a list of calls"))?;
    calls
        .iter()
        .map(|c| {
            let method = c.get("methodName").and_then(Value::as_str);
            let params = c.get("params").and_then(Value::as_array);
            match (method, params) {
                (Some(m), Some(p)) => Ok(Call::new(m, p.to_vec())),
                (Some(m), None) => Ok(Call::new(m, Vec::new())),
                _ => Err(Fault::parameter("multiCall entry without methodName")),
            }
        })
        .collect()
}

/// Encodes one per-call outcome as the hub does (server side).
pub fn encode_result(result: Result<Value, Fault>) -> Value {
    match result {
        Ok(v) => Value::Array(vec![v]),
        Err(f) => {
            let mut v = f.to_value();
            if let Value::Struct(m) = &mut v {
                m.insert("traceback".to_owned(), Value::Array(Vec::new()));
            }
            v
        }
    }
}
