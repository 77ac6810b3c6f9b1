//! Creating personal access tokens: the only time the secret is shown.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use serde_json::Value;

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{create_from, list_page, readable, render_one};
use super::resource::{body, lookup};
use crate::crypto::random;
use crate::rbac::Caller;
use crate::resources::tokens::TOKEN;
use crate::resources::users::USER;
use crate::store::auth::digest;
use crate::store::resource::Condition;

/// AWX's default lifetime of a personal token (OAUTH2 ACCESS_TOKEN_EXPIRE_SECONDS).
const TOKEN_LIFETIME_SECONDS: i64 = 31_536_000_000;

async fn issue(
    state: &State,
    caller: &Caller,
    owner: i64,
    req: &HttpRequest,
    bytes: &Bytes,
) -> Result<HttpResponse, ApiError> {
    if owner != caller.user.id {
        // Nobody, not even a superuser, mints tokens for someone else.
        return Err(ApiError::PermissionDenied);
    }
    let body = body::object(req, bytes)?;
    let secret = random::alphanumeric(30).map_err(|err| ApiError::Internal(err.to_string()))?;
    let expires =
        Utc::now() + Duration::seconds(TOKEN_LIFETIME_SECONDS).min(Duration::days(365 * 900));
    let field = |name: &str| {
        TOKEN
            .own_field(name)
            .ok_or_else(|| ApiError::Internal(format!("token field {name} missing")))
    };
    let extra = vec![
        (field("user")?, Value::from(owner)),
        (field("token_hash")?, Value::String(digest(&secret))),
        (field("expires")?, Value::String(expires.to_rfc3339())),
    ];
    let id = create_from(&TOKEN, state, caller, &body, extra).await?;
    let row = readable(state, caller, &TOKEN, id).await?;
    let mut object = render_one(state, caller, &TOKEN, row).await?;
    if let Some(map) = object.as_object_mut() {
        map.insert("token".into(), Value::String(secret));
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", TOKEN.url(id)))
        .json(object))
}

/// `POST /api/v2/tokens/`: a token for the caller.
pub async fn create(
    state: State,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let owner = caller.user.id;
    issue(&state, &caller, owner, &req, &bytes).await
}

/// `POST /api/v2/users/{id}/personal_tokens/` (`awx login` names the user).
pub async fn create_personal(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let owner = lookup::resolve(&state, &USER, &path).await?;
    issue(&state, &caller, owner, &req, &bytes).await
}

/// `GET /api/v2/users/{id}/personal_tokens/` and `/tokens/`.
pub async fn list_for_user(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let owner = lookup::resolve(&state, &USER, &path).await?;
    readable(&state, &caller, &USER, owner).await?;
    let scope = vec![Condition::new("{o}.user_id = ?", vec![Box::new(owner)])];
    list_page(&TOKEN, &state, &req, &caller, scope).await
}
