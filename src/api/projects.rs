//! Project endpoints beyond the declaration: `playbooks`, `inventories`
//! and `update`.

use actix_web::HttpResponse;
use actix_web::web::Path;
use serde_json::Value;

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{readable, render_one};
use super::resource::lookup;
use crate::rbac::{self, Caller};
use crate::resources::project_updates::PROJECT_UPDATE;
use crate::resources::projects::PROJECT;
use crate::store::{StoreError, project_updates};

/// `GET /api/v2/projects/N/playbooks/`: a bare array of relative paths, as AWX.
pub async fn playbooks(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    project_files(state, path, caller, crate::scm::playbooks).await
}

/// `GET /api/v2/projects/N/inventories/`: the files that could be inventories.
pub async fn inventories(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    project_files(state, path, caller, crate::scm::inventory_files).await
}

type Finder = fn(&std::path::Path, i64, &str, &str) -> Option<Vec<String>>;

async fn project_files(
    state: State,
    path: Path<String>,
    caller: Caller,
    find: Finder,
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
    let found = find(
        &state.projects_root,
        id,
        &text("scm_type"),
        &text("local_path"),
    )
    .unwrap_or_default();
    Ok(HttpResponse::Ok().json(found))
}

/// Whether `caller` may update the project, and whether it can be updated
/// at all (manual projects cannot).
async fn updatable(state: &State, caller: &Caller, path: &str) -> Result<(i64, bool), ApiError> {
    let id = lookup::resolve(state, &PROJECT, path).await?;
    let project = readable(state, caller, &PROJECT, id).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    if !rbac::holds_role(&*conn, caller, "project", id, "update_role").await? {
        return Err(ApiError::PermissionDenied);
    }
    let scm = project
        .get("scm_type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    Ok((id, scm))
}

/// `GET /api/v2/projects/N/update/`: `{"can_update": bool}`.
pub async fn can_update(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (_, scm) = updatable(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"can_update": scm})))
}

/// `POST /api/v2/projects/N/update/`: 202 with the new update, as AWX.
pub async fn update(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (id, scm) = updatable(&state, &caller, &path).await?;
    if !scm {
        return Err(ApiError::MethodNotAllowed("POST".into()));
    }
    let update = project_updates::launch(&state.db, id, caller.user.id).await?;
    let row = readable(&state, &caller, &PROJECT_UPDATE, update).await?;
    let mut object = render_one(&state, &caller, &PROJECT_UPDATE, row).await?;
    if let Some(map) = object.as_object_mut() {
        map.insert("project_update".into(), Value::from(update));
    }
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", PROJECT_UPDATE.url(update)))
        .json(object))
}
