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
    /// Whether events carry their `data` (else it is left empty, which
    /// spares copying it).
    keep_data: bool,
    /// The unfinished line.
    line: Vec<u8>,
    last_id: String,
    event: String,
    data: String,
    /// Whether the event has a `data:` line.
    has_data: bool,
}

impl Parser {
    /// A parser whose events carry their `data` if `keep_data`.
    pub fn new(keep_data: bool) -> Parser {
        Parser {
            keep_data,
            ..Parser::default()
        }
    }

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
            if self.has_data {
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
            self.has_data = false;
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return, // a comment
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                self.last_id.push_str(&String::from_utf8_lossy(value));
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"data" => {
                self.has_data = true;
                if self.keep_data {
                    self.data.push_str(&String::from_utf8_lossy(value));
                    self.data.push('\n');
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&str]) -> Vec<(String, String, String)> {
        let mut parser = Parser::new(true);
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
    fn without_data_kept_events_are_dispatched_with_empty_data() {
        let mut parser = Parser::new(false);
        let mut events = Vec::new();
        parser.feed(b"id: 3\ndata: x\n\nid: 4\n\n", |e| {
            events.push((e.id.to_string(), e.data.to_string()))
        });
        assert_eq!(events, vec![("3".to_string(), String::new())]);
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert_eq!(parse(&["id: 1\ndata: x\n"]), vec![]);
    }
}
