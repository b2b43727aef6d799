//! The HTML answer of an [`AppError`]: a bare error page with the status
//! and the public message, or for [`AppError::LoginRequired`] a redirect to
//! the login page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::error::AppError;
use crate::http::redirect::{found, login_url};
use crate::render::layout::head;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::LoginRequired { next } = &self {
            return found(&login_url(next));
        }
        let status = self.status();
        let message = self.public_message();
        (status, error_page(status, &message)).into_response()
    }
}

/// A bare page for errors (no database access needed).
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&title))
            body {
                header.topbar { a.logo href="/" { span.logo-mark { "K" } "Koschei" } }
                main {
                    h1 { (title) }
                    div.alert.alert-danger.error-message { (message) }
                    p { a href="/" { "Back to the front page" } }
                }
            }
        }
    }
}
