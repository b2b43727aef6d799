//! The API's error answer: an [`AppError`] as a JSON object `{"error": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::types;
use crate::error::AppError;

/// An [`AppError`] answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.status() {
            StatusCode::FOUND => StatusCode::UNAUTHORIZED,
            s => s,
        };
        let body = types::Error {
            error: self.0.public_message(),
        };
        (status, Json(body)).into_response()
    }
}

/// What a handler answers.
pub type ApiResult<T> = Result<T, ApiError>;
