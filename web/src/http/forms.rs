//! Submitted form fields as ordered pairs (names like `group-<id>` are
//! dynamic, so forms are read as lists rather than structs).

use serde::{Deserialize, Deserializer};

/// A decoded `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl<'de> Deserialize<'de> for FormData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(FormData)
    }
}

impl FormData {
    /// The first value of a field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A field's trimmed value, empty when missing.
    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().trim().to_string()
    }

    /// Whether a field was submitted.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Whether a checkbox was ticked (submitted with a truthy value).
    pub fn checked(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| !matches!(v, "" | "0" | "false" | "False" | "n"))
    }

    /// All fields in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
