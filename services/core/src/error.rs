//! Errors of data operations, worded for the people who caused them: the
//! admin CLI prints them as one line and the web flashes them.

/// A refused data operation. Nothing was changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("Collection not found: {0}")]
    CollectionNotFound(String),
    #[error("Collection already exists: {0}")]
    CollectionExists(String),
    #[error(
        "Collection {name} has {packages} packages; use --force to delete it with all its data"
    )]
    CollectionNotEmpty { name: String, packages: i64 },
    #[error("Collection group not found: {0}")]
    CollectionGroupNotFound(String),
    #[error("Collection group already exists: {0}")]
    CollectionGroupExists(String),
    #[error("Packages don't exist: {}", .0.join(","))]
    PackagesDontExist(Vec<String>),
    #[error("Packages not found in collection {collection}: {}", names.join(","))]
    PackagesNotFound {
        collection: String,
        names: Vec<String>,
    },
    #[error("Group not found: {0}")]
    GroupNotFound(String),
    #[error("Group already exists: {0}")]
    GroupExists(String),
    #[error("Group content empty")]
    GroupContentEmpty,
    #[error("Invalid group name: {0:?} (expected [namespace/]name of letters, digits and .+_-)")]
    InvalidGroupName(String),
    #[error("Invalid package name: {0:?}")]
    InvalidPackageName(String),
    #[error("Invalid arch override {value:?}: {arch} is not one of {allowed}")]
    InvalidArchOverride {
        value: String,
        arch: String,
        allowed: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// Result of data operations.
pub type DataResult<T> = Result<T, DataError>;

/// Whether `name` is an acceptable user (and so group maintainer) name: at
/// most 255 characters, no whitespace, control characters or any of
/// `/ ? # \ , %`, which would break the links and lists that show it.
pub fn is_valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 255
        && !name.chars().any(|c| {
            c.is_control() || c.is_whitespace() || matches!(c, '/' | '?' | '#' | '\\' | ',' | '%')
        })
}

/// Whether `name` is a valid package or group name component
/// (`[a-zA-Z0-9.+_-]+`, as in Koschei's forms).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-'))
}
