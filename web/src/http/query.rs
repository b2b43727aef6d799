//! Query strings and form bodies as ordered lists of pairs (keys may repeat,
//! as in `?collection=a&collection=b`), and URL building helpers.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters left unescaped in URL components (RFC 3986 unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one URL component (path segment or query value).
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Decoded `key=value` pairs in their original order.
#[derive(Debug, Clone, Default)]
pub struct QueryArgs(pub Vec<(String, String)>);

impl QueryArgs {
    /// Parses a query string or form body (invalid input gives no pairs).
    pub fn parse(raw: Option<&str>) -> Self {
        QueryArgs(
            raw.and_then(|q| serde_urlencoded::from_str(q).ok())
                .unwrap_or_default(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`.
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `key`.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `key` was given at all.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The query string with `key` set to `value` (removed when `None`).
    pub fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(v) = value {
            pairs.push((key, v));
        }
        to_query(&pairs)
    }
}

/// Highest page number a list accepts: larger numbers are clamped, so
/// `page × per_page` never overflows.
pub const MAX_PAGE: i64 = 1_000_000;

/// A 1-based page number from a query value: missing or invalid → 1,
/// clamped to [`MAX_PAGE`].
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.trim().parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
        .min(MAX_PAGE)
}

/// Builds `?k=v&…` (empty string without pairs).
pub fn to_query(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("?{}", body.join("&"))
}

/// Splits a list of names separated by commas and/or whitespace.
pub fn split_names(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_rebuild() {
        let q = QueryArgs::parse(Some("collection=f25&name=a%20b&name=c&page=2"));
        assert_eq!(q.get("collection"), Some("f25"));
        assert_eq!(q.get_all("name").collect::<Vec<_>>(), ["a b", "c"]);
        assert_eq!(
            q.with("page", Some("3")),
            "?collection=f25&name=a%20b&name=c&page=3"
        );
        assert_eq!(q.with("name", None), "?collection=f25&page=2");
        assert_eq!(QueryArgs::default().with("x", None), "");
        assert_eq!(split_names(" a,b\n c ,, "), ["a", "b", "c"]);
        assert_eq!(page_number(Some("92233720368547759")), MAX_PAGE);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(page_number(Some("0")), 1);
    }
}
