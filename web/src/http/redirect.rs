//! Redirects as the original answers them: Flask's `redirect()` (used by
//! every view of `koschei/frontend/views.py` and `auth.py`, after forms
//! too) sends `302 Found`, where axum's `Redirect::to` would send 303.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::query::encode;

/// A `302 Found` to `location` (a path or an absolute URL).
pub fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => {
            tracing::error!("refusing to redirect to a malformed location {location:?}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// URL of the login page returning to `next` afterwards.
pub fn login_url(next: &str) -> String {
    format!("/login?next={}", encode(next))
}
