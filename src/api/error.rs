//! Errors as AWX shapes them: a status and a JSON body.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// Where AWX says to log in, appended to every 401.
const LOGIN_HINT: &str = "To establish a login session, visit /api/login/.";

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    #[error("Invalid username/password.")]
    InvalidCredentials,
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    #[error("Not found.")]
    NotFound,
    #[error("Invalid page.")]
    InvalidPage,
    #[error("{0}")]
    BadRequest(String),
    #[error("A server error occurred.")]
    Internal(String),
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::Internal(err.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::PermissionDenied => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::InvalidPage => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let detail = match self {
            ApiError::NotAuthenticated | ApiError::InvalidCredentials => {
                // AWX never sends a Basic challenge, so browsers show no dialog.
                response.insert_header((
                    "WWW-Authenticate",
                    "Bearer realm=api authorization_url=/api/o/authorize/",
                ));
                format!("{self} {LOGIN_HINT}")
            }
            ApiError::Internal(reason) => {
                tracing::error!(%reason, "request failed");
                self.to_string()
            }
            _ => self.to_string(),
        };
        response.json(json!({ "detail": detail }))
    }
}
