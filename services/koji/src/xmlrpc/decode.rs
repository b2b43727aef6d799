//! Parsing of XML-RPC documents (`methodCall` and `methodResponse`) with quick-xml.
//!
//! The parser is a small recursive descent over quick-xml events. Every malformed input
//! yields a [`DecodeError`]: nesting is bounded by [`MAX_DEPTH`] so hostile input cannot
//! exhaust the stack, entities other than XML's predefined ones are rejected (no entity
//! expansion), and nothing here can panic.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::events::Event;
use quick_xml::Reader;

use super::value::{Struct, Value};
use super::Fault;

/// Deepest nesting of arrays and structs accepted.
pub const MAX_DEPTH: usize = 128;

/// Error decoding an XML-RPC document.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The XML itself is not well-formed (or uses undefined entities).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Well-formed XML that is not valid XML-RPC.
    #[error("invalid XML-RPC: {0}")]
    Structure(String),
    /// A scalar whose text does not parse as its declared type.
    #[error("invalid <{kind}> value {text:?}")]
    Scalar {
        /// The element name, e.g. `int`.
        kind: String,
        /// The offending text (truncated).
        text: String,
    },
    /// Arrays/structs nested deeper than [`MAX_DEPTH`].
    #[error("values nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// A parsed `methodCall`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// The method name.
    pub name: String,
    /// The positional parameters as sent (Koji kwargs are still encoded in them).
    pub params: Vec<Value>,
}

/// A parsed `methodResponse`.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodResponse {
    /// A successful response with its single value (`Nil` when no param was sent).
    Success(Value),
    /// A fault.
    Fault(Fault),
}

/// Parses a `methodCall` document.
pub fn parse_call(xml: &[u8]) -> Result<MethodCall, DecodeError> {
    let mut p = Parser::new(xml);
    p.expect_start("methodCall")?;
    p.expect_start("methodName")?;
    let name = p.text_until_end("methodName")?.trim().to_owned();
    if name.is_empty() {
        return Err(structure("empty methodName"));
    }
    let mut params = Vec::new();
    match p.next_tag()? {
        Tag::End(n) if n == "methodCall" => {}
        Tag::Empty(n) if n == "params" => p.expect_end("methodCall")?,
        Tag::Start(n) if n == "params" => {
            params = p.params()?;
            p.expect_end("methodCall")?;
        }
        other => return Err(unexpected(&other, "<params> or </methodCall>")),
    }
    p.expect_eof()?;
    Ok(MethodCall { name, params })
}

/// Parses a `methodResponse` document.
pub fn parse_response(xml: &[u8]) -> Result<MethodResponse, DecodeError> {
    let mut p = Parser::new(xml);
    p.expect_start("methodResponse")?;
    let response = match p.next_tag()? {
        Tag::Start(n) if n == "params" => {
            let mut params = p.params()?;
            match params.len() {
                0 => MethodResponse::Success(Value::Nil),
                1 => MethodResponse::Success(params.pop().unwrap_or(Value::Nil)),
                n => return Err(structure(&format!("response with {n} params"))),
            }
        }
        Tag::Empty(n) if n == "params" => MethodResponse::Success(Value::Nil),
        Tag::Start(n) if n == "fault" => {
            p.expect_start("value")?;
            let value = p.value_body(0)?;
            p.expect_end("fault")?;
            MethodResponse::Fault(fault_from_value(&value)?)
        }
        other => return Err(unexpected(&other, "<params> or <fault>")),
    };
    p.expect_end("methodResponse")?;
    p.expect_eof()?;
    Ok(response)
}

/// Reads `{faultCode, faultString}` from a fault struct (also used for multicall entries).
pub fn fault_from_value(value: &Value) -> Result<Fault, DecodeError> {
    let code = value
        .get("faultCode")
        .and_then(Value::as_i64)
        .ok_or_else(|| structure("fault without integer faultCode"))?;
    let message = value
        .get("faultString")
        .and_then(Value::as_str)
        .ok_or_else(|| structure("fault without string faultString"))?;
    Ok(Fault::new(code, message))
}

/// One structural token: element start/end/empty, or character data.
#[derive(Debug)]
enum Tag {
    Start(String),
    End(String),
    Empty(String),
    Text(String),
    Eof,
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
}

fn structure(msg: &str) -> DecodeError {
    DecodeError::Structure(msg.to_owned())
}

fn unexpected(tag: &Tag, wanted: &str) -> DecodeError {
    let found = match tag {
        Tag::Start(n) => format!("<{n}>"),
        Tag::End(n) => format!("</{n}>"),
        Tag::Empty(n) => format!("<{n}/>"),
        Tag::Text(t) => format!("text {:?}", truncate(t)),
        Tag::Eof => "end of document".to_owned(),
    };
    DecodeError::Structure(format!("expected {wanted}, found {found}"))
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn xml_err(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Xml(e.to_string())
}

fn local_name(raw: &[u8]) -> Result<String, DecodeError> {
    let local = match raw.iter().rposition(|&b| b == b':') {
        Some(i) => &raw[i + 1..],
        None => raw,
    };
    std::str::from_utf8(local)
        .map(str::to_owned)
        .map_err(|_| DecodeError::Xml("element name is not UTF-8".to_owned()))
}

impl<'a> Parser<'a> {
    fn new(xml: &'a [u8]) -> Self {
        let mut reader = Reader::from_reader(xml);
        reader.config_mut().check_end_names = true;
        Parser { reader }
    }

    /// Next token, with comments, processing instructions and the declaration skipped.
    fn raw_tag(&mut self) -> Result<Tag, DecodeError> {
        loop {
            let tag = match self.reader.read_event().map_err(xml_err)? {
                Event::Start(e) => Tag::Start(local_name(e.name().as_ref())?),
                Event::End(e) => Tag::End(local_name(e.name().as_ref())?),
                Event::Empty(e) => Tag::Empty(local_name(e.name().as_ref())?),
                Event::Text(t) => Tag::Text(t.unescape().map_err(xml_err)?.into_owned()),
                Event::CData(c) => Tag::Text(
                    String::from_utf8(c.into_inner().into_owned())
                        .map_err(|_| DecodeError::Xml("CDATA is not UTF-8".to_owned()))?,
                ),
                Event::DocType(_) => return Err(DecodeError::Xml("DOCTYPE is not allowed".into())),
                Event::Eof => Tag::Eof,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
            };
            return Ok(tag);
        }
    }

    /// Next token that is not whitespace-only text; other text is an error.
    fn next_tag(&mut self) -> Result<Tag, DecodeError> {
        loop {
            match self.raw_tag()? {
                Tag::Text(t) if t.trim().is_empty() => continue,
                t @ Tag::Text(_) => return Err(unexpected(&t, "an element")),
                t => return Ok(t),
            }
        }
    }

    fn expect_start(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.next_tag()? {
            Tag::Start(n) if n == name => Ok(()),
            other => Err(unexpected(&other, &format!("<{name}>"))),
        }
    }

    fn expect_end(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.next_tag()? {
            Tag::End(n) if n == name => Ok(()),
            other => Err(unexpected(&other, &format!("</{name}>"))),
        }
    }

    fn expect_eof(&mut self) -> Result<(), DecodeError> {
        match self.next_tag()? {
            Tag::Eof => Ok(()),
            other => Err(unexpected(&other, "end of document")),
        }
    }

    /// Character data up to `</name>`; no child elements allowed.
    fn text_until_end(&mut self, name: &str) -> Result<String, DecodeError> {
        let mut text = String::new();
        loop {
            match self.raw_tag()? {
                Tag::Text(t) => text.push_str(&t),
                Tag::End(n) if n == name => return Ok(text),
                other => return Err(unexpected(&other, &format!("text or </{name}>"))),
            }
        }
    }

    /// `<param><value>…</value></param>…</params>` (after `<params>`).
    fn params(&mut self) -> Result<Vec<Value>, DecodeError> {
        let mut params = Vec::new();
        loop {
            match self.next_tag()? {
                Tag::Start(n) if n == "param" => {
                    self.expect_start("value")?;
                    params.push(self.value_body(0)?);
                    self.expect_end("param")?;
                }
                Tag::End(n) if n == "params" => return Ok(params),
                other => return Err(unexpected(&other, "<param> or </params>")),
            }
        }
    }

    /// The inside of `<value>` up to and including `</value>`.
    fn value_body(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut text = String::new();
        loop {
            match self.raw_tag()? {
                Tag::Text(t) => text.push_str(&t),
                Tag::End(n) if n == "value" => return Ok(Value::String(text)),
                Tag::Start(kind) if text.trim().is_empty() => {
                    let v = self.typed(&kind, depth)?;
                    self.expect_end("value")?;
                    return Ok(v);
                }
                Tag::Empty(kind) if text.trim().is_empty() => {
                    let v = empty_typed(&kind)?;
                    self.expect_end("value")?;
                    return Ok(v);
                }
                other => return Err(unexpected(&other, "a typed value or </value>")),
            }
        }
    }

    /// The content of `<kind>` up to and including `</kind>`.
    fn typed(&mut self, kind: &str, depth: usize) -> Result<Value, DecodeError> {
        match kind {
            "struct" => self.struct_body(depth + 1),
            "array" => self.array_body(depth + 1),
            "nil" => {
                self.expect_end("nil")?;
                Ok(Value::Nil)
            }
            _ => {
                let text = self.text_until_end(kind)?;
                scalar(kind, text)
            }
        }
    }

    fn struct_body(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut members = Struct::new();
        loop {
            match self.next_tag()? {
                Tag::End(n) if n == "struct" => return Ok(Value::Struct(members)),
                Tag::Start(n) if n == "member" => {
                    let (name, value) = self.member(depth)?;
                    members.insert(name, value);
                }
                other => return Err(unexpected(&other, "<member> or </struct>")),
            }
        }
    }

    /// `<name>…</name><value>…</value></member>` in either order.
    fn member(&mut self, depth: usize) -> Result<(String, Value), DecodeError> {
        let mut name = None;
        let mut value = None;
        loop {
            match self.next_tag()? {
                Tag::Start(n) if n == "name" && name.is_none() => {
                    name = Some(self.text_until_end("name")?);
                }
                Tag::Empty(n) if n == "name" && name.is_none() => name = Some(String::new()),
                Tag::Start(n) if n == "value" && value.is_none() => {
                    value = Some(self.value_body(depth)?);
                }
                Tag::End(n) if n == "member" => {
                    return match (name, value) {
                        (Some(n), Some(v)) => Ok((n, v)),
                        _ => Err(structure("struct member without name or value")),
                    };
                }
                other => return Err(unexpected(&other, "<name>, <value> or </member>")),
            }
        }
    }

    fn array_body(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let mut items = Vec::new();
        match self.next_tag()? {
            Tag::Empty(n) if n == "data" => {}
            Tag::Start(n) if n == "data" => loop {
                match self.next_tag()? {
                    Tag::Start(n) if n == "value" => items.push(self.value_body(depth)?),
                    Tag::End(n) if n == "data" => break,
                    other => return Err(unexpected(&other, "<value> or </data>")),
                }
            },
            other => return Err(unexpected(&other, "<data>")),
        }
        self.expect_end("array")?;
        Ok(Value::Array(items))
    }
}

/// A typed value written as an empty element (`<nil/>`, `<string/>`, `<array/>`…).
fn empty_typed(kind: &str) -> Result<Value, DecodeError> {
    match kind {
        "nil" => Ok(Value::Nil),
        "struct" => Ok(Value::Struct(Struct::new())),
        "array" => Ok(Value::Array(Vec::new())),
        _ => scalar(kind, String::new()),
    }
}

fn scalar(kind: &str, text: String) -> Result<Value, DecodeError> {
    let bad = |text: &str| DecodeError::Scalar {
        kind: kind.to_owned(),
        text: truncate(text),
    };
    match kind {
        "string" => Ok(Value::String(text)),
        "int" | "i4" | "i8" => text.trim().parse().map(Value::Int).map_err(|_| bad(&text)),
        "boolean" => match text.trim() {
            "1" | "true" => Ok(Value::Bool(true)),
            "0" | "false" => Ok(Value::Bool(false)),
            _ => Err(bad(&text)),
        },
        "double" => text
            .trim()
            .parse()
            .map(Value::Double)
            .map_err(|_| bad(&text)),
        "dateTime.iso8601" => {
            let t = text.trim();
            if t.is_empty() {
                Err(bad(&text))
            } else {
                Ok(Value::DateTime(t.to_owned()))
            }
        }
        "base64" => {
            let compact: Cow<str> = if text.chars().any(char::is_whitespace) {
                Cow::Owned(text.chars().filter(|c| !c.is_whitespace()).collect())
            } else {
                Cow::Borrowed(&text)
            };
            base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map(Value::Base64)
                .map_err(|_| bad(&text))
        }
        _ => Err(DecodeError::Structure(format!(
            "unknown value type <{}>",
            truncate(kind)
        ))),
    }
}
