//! The one error type of the HTTP layer and its mapping to status codes.
//! It holds data only: HTML handlers answer it as a page rendered by
//! [`crate::render::error_page`], the JSON API as JSON.

use axum::http::StatusCode;
use koschei_core::error::DataError;

/// Why a request failed. HTML handlers return it directly; the JSON API
/// wraps it in [`crate::api::ApiError`] to answer in JSON.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotImplemented(String),
    /// The database has no collection at all (the original's
    /// `koschei/frontend/base.py` aborts with "No collections setup").
    #[error("No collections setup")]
    NoCollections,
    /// An anonymous user asked for a page that needs a login.
    #[error("Login required")]
    LoginRequired { next: String },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl AppError {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            AppError::LoginRequired { .. } => StatusCode::FOUND,
            AppError::Db(e) if is_timeout(e) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::NoCollections | AppError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the user (internal details are logged instead).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Db(e) if is_timeout(e) => {
                tracing::warn!("database too slow: {e}");
                "The database took too long to answer; try again later or ask for less.".to_string()
            }
            AppError::Db(e) => {
                tracing::error!("database error: {e}");
                "Internal error".to_string()
            }
            other => other.to_string(),
        }
    }
}

/// A statement canceled by `statement_timeout`, or no free connection.
fn is_timeout(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db.code().as_deref() == Some("57014"),
        _ => false,
    }
}

impl From<DataError> for AppError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Db(e) => AppError::Db(e),
            DataError::CollectionNotFound(_)
            | DataError::CollectionGroupNotFound(_)
            | DataError::GroupNotFound(_)
            | DataError::PackagesNotFound { .. } => AppError::NotFound(e.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// Answer for unknown routes.
pub async fn not_found_fallback() -> AppError {
    AppError::NotFound("Page not found".into())
}

/// Result type of handlers.
pub type AppResult<T> = Result<T, AppError>;
