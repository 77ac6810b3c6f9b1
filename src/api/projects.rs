//! Project endpoints beyond the declaration: `playbooks`.

use actix_web::HttpResponse;
use actix_web::web::Path;
use serde_json::Value;

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::readable;
use super::resource::lookup;
use crate::resources::projects::PROJECT;

/// `GET /api/v2/projects/N/playbooks/`: a bare array of relative paths, as AWX.
pub async fn playbooks(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &PROJECT, &path).await?;
    let project = readable(&state, &caller, &PROJECT, id).await?;
    let text = |key: &str| {
        project
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let found = crate::scm::playbooks(
        &state.projects_root,
        id,
        &text("scm_type"),
        &text("local_path"),
    )
    .unwrap_or_default();
    Ok(HttpResponse::Ok().json(found))
}
