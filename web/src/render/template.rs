//! `{placeholder}` interpolation for configured URL and text templates
//! (package links, bug report fields). `{{` and `}}` stand for braces.

/// Replaces each `{key}` by `lookup(key)`; `None` when a key has no value
/// (callers then hide the link). `encode` URL-encodes the values.
pub fn interpolate(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
    encode: bool,
) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            out.push('}');
            rest = after;
            continue;
        }
        let end = tail.find('}')?;
        let value = lookup(&tail[1..end])?;
        if encode {
            out.push_str(&crate::http::query::encode(&value));
        } else {
            out.push_str(&value);
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Removes the common leading whitespace of all non-blank lines (Python's
/// `textwrap.dedent`).
pub fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let lookup = |k: &str| match k {
            "package.name" => Some("a b".to_string()),
            "x" => Some("1".to_string()),
            _ => None,
        };
        assert_eq!(
            interpolate("https://x/{package.name}?n={x}", lookup, true).as_deref(),
            Some("https://x/a%20b?n=1")
        );
        assert_eq!(interpolate("{missing}", lookup, true), None);
        assert_eq!(
            interpolate("{{x}} {x}", lookup, false).as_deref(),
            Some("{x} 1")
        );
        assert_eq!(dedent("  a\n    b\n\n  c"), "a\n  b\n\nc");
    }
}
