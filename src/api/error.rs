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
    #[error("Invalid token.")]
    InvalidToken,
    #[error("You do not have permission to perform this action.")]
    PermissionDenied,
    #[error("Not found.")]
    NotFound,
    #[error("Invalid page.")]
    InvalidPage,
    #[error("{0}")]
    BadRequest(String),
    /// 400 with errors per field: `{"name": ["This field is required."]}`.
    #[error("invalid fields")]
    Fields(crate::resource::validate::FieldErrors),
    /// 403 with a specific reason.
    #[error("{0}")]
    Forbidden(String),
    #[error("Method \"{0}\" not allowed.")]
    MethodNotAllowed(String),
    #[error("Unsupported media type \"{0}\" in request.")]
    UnsupportedMediaType(String),
    #[error("A server error occurred.")]
    Internal(String),
}

impl From<crate::store::StoreError> for ApiError {
    /// Constraint violations are the client's doing (a duplicate name, a
    /// vanished reference, a bad regular expression): 400, not 500.
    fn from(err: crate::store::StoreError) -> Self {
        use tokio_postgres::error::SqlState;
        if let crate::store::StoreError::Query(pg) = &err
            && let Some(db) = pg.as_db_error()
        {
            let code = db.code();
            if *code == SqlState::UNIQUE_VIOLATION {
                return duplicate(db.detail().unwrap_or_default());
            }
            if *code == SqlState::FOREIGN_KEY_VIOLATION
                || *code == SqlState::CHECK_VIOLATION
                || *code == SqlState::NOT_NULL_VIOLATION
                || *code == SqlState::INVALID_REGULAR_EXPRESSION
                || *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
                || *code == SqlState::STRING_DATA_RIGHT_TRUNCATION
            {
                return ApiError::BadRequest(db.message().to_string());
            }
        }
        ApiError::Internal(err.to_string())
    }
}

/// "Key (organization_id, name)=(1, Web) already exists." as AWX words it,
/// on the first field of the key.
fn duplicate(detail: &str) -> ApiError {
    let columns = detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")="))
        .map(|(cols, _)| cols)
        .unwrap_or("");
    let fields: Vec<String> = columns
        .split(',')
        .map(|c| {
            c.trim()
                .trim_matches('"')
                .trim_end_matches("_id")
                .to_string()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let named: Vec<String> = fields.iter().map(|f| capitalize(f)).collect();
    let message = format!("Object with this {} already exists.", named.join(" and "));
    let key = fields.last().cloned().unwrap_or_else(|| "__all__".into());
    let mut errors = crate::resource::validate::FieldErrors::new();
    errors.insert(
        if fields.len() > 1 {
            "__all__".into()
        } else {
            key
        },
        vec![message],
    );
    ApiError::Fields(errors)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars)
            .collect::<String>()
            .replace('_', " "),
        None => String::new(),
    }
}

impl ApiError {
    /// Names the resource in duplicate messages ("Team with this Name ...").
    pub fn about(self, display: &str) -> ApiError {
        match self {
            ApiError::Fields(errors) => ApiError::Fields(
                errors
                    .into_iter()
                    .map(|(k, msgs)| {
                        let msgs = msgs
                            .into_iter()
                            .map(|m| {
                                m.replacen("Object with this", &format!("{display} with this"), 1)
                            })
                            .collect();
                        (k, msgs)
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated | ApiError::InvalidCredentials | ApiError::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::PermissionDenied | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Fields(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound | ApiError::InvalidPage => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let detail = match self {
            ApiError::NotAuthenticated | ApiError::InvalidCredentials | ApiError::InvalidToken => {
                // AWX never sends a Basic challenge, so browsers show no dialog.
                response.insert_header((
                    "WWW-Authenticate",
                    "Bearer realm=api authorization_url=/api/o/authorize/",
                ));
                format!("{self} {LOGIN_HINT}")
            }
            ApiError::Fields(errors) => return response.json(errors),
            ApiError::Internal(reason) => {
                tracing::error!(%reason, "request failed");
                self.to_string()
            }
            _ => self.to_string(),
        };
        response.json(json!({ "detail": detail }))
    }
}
