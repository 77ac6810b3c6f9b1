//! `GET /api/v2/me/`: a one-item page holding the caller.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{readable, render_one};
use crate::resources::users::USER;

/// The caller, paginated as AWX does it.
pub async fn me(
    state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let row = readable(&state, &caller, &USER, caller.user.id).await?;
    let user = render_one(&state, &caller, &USER, row).await?;
    Ok(HttpResponse::Ok().json(json!({
        "count": 1,
        "next": Value::Null,
        "previous": Value::Null,
        "results": [user],
    })))
}
