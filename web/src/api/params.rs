//! The parameters of the API's requests: a struct per set of query or path
//! parameters, read with serde and described in the OpenAPI document by
//! the same definition.
//!
//! Query values are read as text, as [`QueryArgs`] splits them (the first
//! value of a key for a single value, every value for a list), and checked
//! by the struct's own method, so a bad value gets the same clear 400 on
//! every endpoint.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::value::{Error as DeError, MapDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;

use super::error::ApiError;
use crate::error::AppError;
use crate::http::query::QueryArgs;

/// A request's query parameters as `T`, with the pairs they were read
/// from (lists link to their neighbouring pages with the same query).
#[derive(Debug)]
pub struct ApiQuery<T> {
    pub params: T,
    pub args: QueryArgs,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let args = QueryArgs::parse(parts.uri.query());
        let params = from_args(&args).map_err(|e| AppError::BadRequest(e.to_string()))?;
        Ok(ApiQuery { params, args })
    }
}

/// Reads `T` from the pairs of a query string, keys in their first order.
fn from_args<T: DeserializeOwned>(args: &QueryArgs) -> Result<T, DeError> {
    let mut keys: Vec<(&str, Values)> = Vec::new();
    for (k, v) in &args.0 {
        match keys.iter_mut().find(|(key, _)| key == k) {
            Some((_, values)) => values.0.push(v),
            None => keys.push((k, Values(vec![v]))),
        }
    }
    T::deserialize(MapDeserializer::new(keys.into_iter()))
}

/// Every value of one query key: a sequence for list fields, else the
/// first value (as [`QueryArgs::get`]).
struct Values<'a>(Vec<&'a str>);

impl<'de> IntoDeserializer<'de, DeError> for Values<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Values<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        StrDeserializer::<DeError>::new(self.0[0]).deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(SeqDeserializer::new(self.0.into_iter()))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct tuple tuple_struct map
        struct enum identifier ignored_any
    }
}

/// `page` and `per_page` of a list; a list asked without either comes
/// whole (see [`super::list`]).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page number from 1. Without `page` and `per_page` the whole list is
    /// answered, up to `frontend.limits.max_unpaginated` elements (a longer
    /// one: 400).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub page: Option<String>,
    /// Elements per page, 1 to `frontend.limits.max_per_page` (default 100).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub per_page: Option<String>,
}

/// Keyset paging of a list: `per_page` elements after a cursor.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct After {
    /// The elements after this cursor, in the list's order: empty for the
    /// first page; each page's `Link` `rel="next"` carries the cursor of
    /// its last element (an opaque text; a text that is not a cursor of
    /// this list gives 400). Deep pages cost as little as the first, and
    /// elements added or removed meanwhile shift nothing (no element is
    /// answered twice). Not with `page`; such pages have no
    /// `X-Total-Count`.
    pub after: Option<String>,
}

/// Filters of `/api/v1/packages`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackagesFilter {
    /// Only these collections (repeatable or comma-separated); an unknown
    /// name gives 404.
    #[serde(default)]
    #[param(style = Form, explode)]
    pub collection: Vec<String>,
    /// Only packages with these exact names (repeatable).
    #[serde(default)]
    #[param(style = Form, explode)]
    pub name: Vec<String>,
}

impl PackagesFilter {
    /// The collection names, commas split, empty names left out.
    pub fn collections(&self) -> Vec<String> {
        self.collection
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Most builds `/builds` answers at once.
const MAX_BUILDS: i64 = 100;

/// Keyset paging of `/api/v1/packages/{collection}/{name}/builds`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BuildsQuery {
    /// Only builds older than this build id.
    #[param(value_type = Option<i32>)]
    pub before: Option<String>,
    /// Number of builds, 1 to 100 (default: `frontend.builds_per_page`).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl BuildsQuery {
    /// `before` and `limit` checked (`default_limit` without `limit`).
    pub fn parse(&self, default_limit: i64) -> Result<(Option<i32>, i64), AppError> {
        let before = match &self.before {
            Some(b) => Some(
                b.parse::<i32>()
                    .map_err(|_| AppError::BadRequest("before must be a build id".into()))?,
            ),
            None => None,
        };
        let limit = match &self.limit {
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_BUILDS).contains(l))
                .ok_or_else(|| {
                    AppError::BadRequest(format!("limit must be between 1 and {MAX_BUILDS}"))
                })?,
            None => default_limit,
        };
        Ok((before, limit))
    }
}

/// A package: `{collection}/{name}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PackagePath {
    /// Collection name, e.g. `f25`.
    pub collection: String,
    /// Package (SRPM) name.
    pub name: String,
}

/// Two collections compared: `{c1}/{c2}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DiffPath {
    /// First collection.
    pub c1: String,
    /// Second collection.
    pub c2: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_as_the_pairs_give_them() {
        let args = QueryArgs::parse(Some("name=a&collection=f25,f26&name=b&collection=f27"));
        let f: PackagesFilter = from_args(&args).unwrap();
        assert_eq!(f.name, ["a", "b"]);
        assert_eq!(f.collections(), ["f25", "f26", "f27"]);
        // One value: the first, as `QueryArgs::get`; unknown keys ignored.
        let p: Paging = from_args(&QueryArgs::parse(Some("page=2&page=3&x=1"))).unwrap();
        assert_eq!(p.page.as_deref(), Some("2"));
        assert_eq!(p.per_page, None);
        let none: PackagesFilter = from_args(&QueryArgs::default()).unwrap();
        assert!(none.name.is_empty() && none.collection.is_empty());
    }

    #[test]
    fn builds_query_checks_its_values() {
        let q = |before: Option<&str>, limit: Option<&str>| BuildsQuery {
            before: before.map(str::to_string),
            limit: limit.map(str::to_string),
        };
        assert_eq!(q(None, None).parse(5).unwrap(), (None, 5));
        assert_eq!(q(Some("7"), Some("100")).parse(5).unwrap(), (Some(7), 100));
        for (before, limit, message) in [
            (Some("x"), None, "before must be a build id"),
            (None, Some("0"), "limit must be between 1 and 100"),
            (None, Some("101"), "limit must be between 1 and 100"),
            (None, Some(""), "limit must be between 1 and 100"),
        ] {
            let err = q(before, limit).parse(5).unwrap_err();
            assert_eq!(err.public_message(), message);
        }
    }
}
