//! Build groups from comps.xml (`<group><id>build</id><packagelist>…`).

use std::io::Read;
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::DepsolveError;

/// Largest decompressed comps.xml accepted (Fedora's is a few MB): a gzip bomb in a
/// repository is an error, not unbounded memory.
const MAX_COMPS_SIZE: u64 = 256 << 20;

/// Package names of group `group_id` whose `type` is `mandatory` or `default` (a missing
/// type counts as mandatory), in document order; `None` when the group does not exist.
pub fn read_group(path: &Path, group_id: &str) -> Result<Option<Vec<String>>, DepsolveError> {
    let raw = std::fs::read(path).map_err(|e| DepsolveError::io(path, e))?;
    let xml = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(MAX_COMPS_SIZE + 1)
            .read_to_end(&mut out)
            .map_err(|e| DepsolveError::io(path, e))?;
        if out.len() as u64 > MAX_COMPS_SIZE {
            return Err(DepsolveError::Metadata(format!(
                "comps: {} decompresses to more than {MAX_COMPS_SIZE} bytes",
                path.display()
            )));
        }
        out
    } else {
        raw
    };
    parse_group(&xml, group_id)
}

/// [`read_group`] on comps.xml content.
pub fn parse_group(xml: &[u8], group_id: &str) -> Result<Option<Vec<String>>, DepsolveError> {
    let bad = |e: &dyn std::fmt::Display| DepsolveError::Metadata(format!("comps: {e}"));
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut group_matches = false;
    let mut members: Vec<String> = Vec::new();
    let mut req_included = false;
    loop {
        match reader.read_event_into(&mut buf).map_err(|e| bad(&e))? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                // A <group> directly under the root element starts a new group.
                if name == b"group" && stack.len() <= 1 {
                    group_matches = false;
                    members.clear();
                }
                if name == b"packagereq" {
                    let ty = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"type")
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                    req_included =
                        matches!(ty.as_deref(), None | Some("mandatory") | Some("default"));
                }
                stack.push(name);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| bad(&e))?.trim().to_string();
                let path: Vec<&[u8]> = stack.iter().map(|s| s.as_slice()).collect();
                match path.as_slice() {
                    [.., b"group", b"id"] => group_matches = text == group_id,
                    [.., b"packagelist", b"packagereq"] if req_included && !text.is_empty() => {
                        members.push(text)
                    }
                    _ => {}
                }
            }
            Event::End(e) => {
                stack.pop();
                if e.local_name().as_ref() == b"group" && group_matches {
                    return Ok(Some(members));
                }
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
        buf.clear();
    }
}
