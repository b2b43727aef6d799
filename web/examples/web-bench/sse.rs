//! A Server-Sent Events parser fed with the body's chunks as they arrive
//! (the WHATWG event-stream format; lines end with LF or CRLF).

/// One dispatched event.
#[derive(Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// The last event id seen on the stream.
    pub id: &'a str,
    /// `message` unless an `event:` field named it.
    pub event: &'a str,
    /// The `data:` lines joined with LF.
    pub data: &'a str,
}

/// The parser's state between chunks.
#[derive(Default)]
pub struct Parser {
    /// The unfinished line.
    line: Vec<u8>,
    last_id: String,
    event: String,
    data: String,
}

impl Parser {
    /// Parses `chunk`, calling `on_event` for each event it completes.
    pub fn feed(&mut self, chunk: &[u8], mut on_event: impl FnMut(Event<'_>)) {
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let Some(rest) = piece.strip_suffix(b"\n") else {
                self.line.extend_from_slice(piece);
                continue;
            };
            if self.line.is_empty() {
                self.field_line(rest, &mut on_event);
            } else {
                // The line began in an earlier chunk.
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(rest);
                self.field_line(&line, &mut on_event);
                line.clear();
                self.line = line;
            }
        }
    }

    /// Handles one complete line (without its LF).
    fn field_line(&mut self, line: &[u8], on_event: &mut impl FnMut(Event<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if !self.data.is_empty() {
                self.data.pop();
                on_event(Event {
                    id: &self.last_id,
                    event: if self.event.is_empty() {
                        "message"
                    } else {
                        &self.event
                    },
                    data: &self.data,
                });
            }
            self.event.clear();
            self.data.clear();
            return;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some(("", _)) => return, // a comment
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "id" if !value.contains('\0') => {
                self.last_id.clear();
                self.last_id.push_str(value);
            }
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> Vec<(String, String, String)> {
        let mut parser = Parser::default();
        let mut events = Vec::new();
        for c in chunks {
            parser.feed(c.as_bytes(), |e| {
                events.push((e.id.to_string(), e.event.to_string(), e.data.to_string()))
            });
        }
        events
    }

    #[test]
    fn events_split_anywhere_are_parsed_whole() {
        let stream = ": keep-alive\n\nid: 7\nevent: build.started\ndata: {\"a\":1}\n\n\
                      id: 8\r\ndata: x\r\ndata: y\r\n\r\ndata:z\n\n";
        let expected = vec![
            ("7".into(), "build.started".into(), "{\"a\":1}".into()),
            ("8".into(), "message".into(), "x\ny".into()),
            ("8".into(), "message".into(), "z".into()),
        ];
        assert_eq!(parse(&[stream]), expected);
        for cut in 1..stream.len() {
            assert_eq!(
                parse(&[&stream[..cut], &stream[cut..]]),
                expected,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert_eq!(parse(&["id: 1\ndata: x\n"]), vec![]);
    }
}
