//! Starting inventory syncs (`/inventory_sources/N/update/`,
//! `/inventories/N/update_inventory_sources/`) and what they and the fact
//! cache leave on hosts (`/hosts/N/ansible_facts/`).

use actix_web::HttpResponse;
use actix_web::web::Path;
use serde_json::{Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{readable, render_one};
use super::resource::lookup;
use crate::rbac::{self, Caller};
use crate::resources::inventories::INVENTORY;
use crate::resources::inventory_sources::INVENTORY_SOURCE;
use crate::resources::inventory_updates::INVENTORY_UPDATE;
use crate::store::{StoreError, inventory_updates};

/// Sources AWX can sync (a file source is imported by its command line).
fn can_update(source: &Value) -> bool {
    !matches!(
        source.get("source").and_then(Value::as_str),
        None | Some("" | "file" | "constructed")
    )
}

/// Whether the caller holds the inventory's update role.
async fn may_update(state: &State, caller: &Caller, inventory: i64) -> Result<(), ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    if rbac::holds_role(&*conn, caller, "inventory", inventory, "update_role").await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

async fn source_of(state: &State, caller: &Caller, path: &str) -> Result<(i64, Value), ApiError> {
    let id = lookup::resolve(state, &INVENTORY_SOURCE, path).await?;
    let source = Value::Object(readable(state, caller, &INVENTORY_SOURCE, id).await?);
    let inventory = source
        .get("inventory")
        .and_then(Value::as_i64)
        .ok_or(ApiError::NotFound)?;
    may_update(state, caller, inventory).await?;
    Ok((id, source))
}

/// `GET /api/v2/inventory_sources/N/update/`: `{"can_update": bool}`.
pub async fn describe_update(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (_, source) = source_of(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok().json(json!({"can_update": can_update(&source)})))
}

/// `POST /api/v2/inventory_sources/N/update/`: 202 with the new update.
pub async fn update(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let (id, source) = source_of(&state, &caller, &path).await?;
    if !can_update(&source) {
        return Err(ApiError::BadRequest(
            "This inventory source cannot be updated.".into(),
        ));
    }
    let ids = inventory_updates::launch(&state.db, &[id], caller.user.id).await?;
    let update = ids.first().copied().ok_or(ApiError::NotFound)?;
    let row = readable(&state, &caller, &INVENTORY_UPDATE, update).await?;
    let mut object = render_one(&state, &caller, &INVENTORY_UPDATE, row).await?;
    if let Some(map) = object.as_object_mut() {
        map.insert("inventory_update".into(), Value::from(update));
    }
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", INVENTORY_UPDATE.url(update)))
        .json(object))
}

/// The inventory's sources, with whether each can be updated.
async fn sources_of(
    state: &State,
    caller: &Caller,
    path: &str,
) -> Result<Vec<(i64, bool)>, ApiError> {
    let id = lookup::resolve(state, &INVENTORY, path).await?;
    readable(state, caller, &INVENTORY, id).await?;
    may_update(state, caller, id).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    Ok(conn
        .query(
            "SELECT id, source NOT IN ('file', 'constructed') FROM inventory_sources
              WHERE inventory_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// `GET /api/v2/inventories/N/update_inventory_sources/`.
pub async fn describe_update_all(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sources = sources_of(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok().json(
        sources
            .iter()
            .map(|(id, can)| json!({"inventory_source": id, "can_update": can}))
            .collect::<Vec<_>>(),
    ))
}

/// `POST /api/v2/inventories/N/update_inventory_sources/`: starts every
/// source that can be updated; 202 with what started, as AWX answers.
pub async fn update_all(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sources = sources_of(&state, &caller, &path).await?;
    let updatable: Vec<i64> = sources
        .iter()
        .filter(|(_, can)| *can)
        .map(|(id, _)| *id)
        .collect();
    if updatable.is_empty() {
        return Err(ApiError::BadRequest(
            "No inventory sources to update.".into(),
        ));
    }
    let started = inventory_updates::launch(&state.db, &updatable, caller.user.id).await?;
    Ok(HttpResponse::Accepted().json(
        updatable
            .iter()
            .zip(&started)
            .map(|(source, update)| {
                json!({"inventory_source": source, "inventory_update": update, "status": "started"})
            })
            .collect::<Vec<_>>(),
    ))
}

/// `GET /api/v2/hosts/N/ansible_facts/`: the facts the fact cache saved.
pub async fn host_facts(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &crate::resources::hosts::HOST, &path).await?;
    readable(&state, &caller, &crate::resources::hosts::HOST, id).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let facts: Value = conn
        .query_one("SELECT ansible_facts FROM hosts WHERE id = $1", &[&id])
        .await
        .map_err(StoreError::from)?
        .get(0);
    Ok(HttpResponse::Ok().json(facts))
}
