//! `/api/v2/<path>/N/copy/` for every resource that declares `copy`, as
//! AWX's `CopyAPIView`: GET says whether the caller may copy the object,
//! POST `{"name": ...}` makes the copy.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::{body, handlers, hooks, lookup};
use crate::api::State;
use crate::api::auth::Authenticated;
use crate::api::error::ApiError;
use crate::rbac::{self, Caller};
use crate::resource::validate::{self, FieldErrors, Mode};
use crate::resource::{Column, CopyPart, Copying, Field, Kind, Resource};
use crate::store::pool::Queryable;
use crate::store::{StoreError, copy as store_copy};

fn declaration(resource: &'static Resource) -> Result<&'static Copying, ApiError> {
    resource.copy.as_ref().ok_or(ApiError::NotFound)
}

/// What the copy takes from the original, its name aside: every writable
/// stored field the declaration does not discard, and the read-only ones it
/// keeps. Status, timestamps and other read-only state start afresh.
fn values_of(
    resource: &'static Resource,
    decl: &Copying,
    original: &Map<String, Value>,
) -> Vec<(&'static Field, Value)> {
    resource
        .fields
        .iter()
        .filter(|field| {
            let stored = matches!(
                field.column,
                Column::Own(_) | Column::Parent(_) | Column::Base(_)
            );
            let taken = (field.writable() && !decl.discard.contains(&field.name))
                || decl.keep.contains(&field.name);
            stored && taken && !field.internal && !field.write_only && field.name != "name"
        })
        .filter_map(|field| original.get(field.name).map(|v| (field, v.clone())))
        .collect()
}

/// Why the caller may not copy, if they may not: AWX asks whether they
/// could create an object with the copy's values (and, with `uses`, use
/// what it points to), then whether they may use every linked object a
/// part declares a need for.
async fn denial(
    state: &State,
    caller: &Caller,
    resource: &'static Resource,
    decl: &Copying,
    id: i64,
    values: &[(&'static Field, Value)],
    uses: bool,
) -> Result<Option<ApiError>, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let map = handlers::as_map(values);
    if !rbac::can_create(&*conn, caller, resource, &map).await? {
        return Ok(Some(ApiError::PermissionDenied));
    }
    if caller.is_superuser() {
        return Ok(None);
    }
    if uses {
        for (name, role) in decl.uses {
            let (Some(target_id), Some(Kind::Fk(target))) = (
                map.get(*name).and_then(Value::as_i64),
                resource.field(name).map(|f| f.kind),
            ) else {
                continue;
            };
            if !rbac::holds_role(&*conn, caller, target, target_id, role).await? {
                return Ok(Some(ApiError::PermissionDenied));
            }
        }
    }
    for part in decl.parts {
        let CopyPart::Links {
            table,
            owner,
            columns,
            needs: Some((content_type, role)),
        } = part
        else {
            continue;
        };
        let Some(column) = columns.first() else {
            continue;
        };
        let ids = store_copy::linked(&*conn, table, owner, column, id).await?;
        let roles = rbac::roles_of(&*conn, content_type, &ids).await?;
        let usable = ids.iter().all(|linked| {
            roles
                .get(linked)
                .and_then(|held| held.get(*role))
                .is_some_and(|role_id| caller.holds(*role_id))
        });
        if !usable {
            return Ok(Some(ApiError::Forbidden(format!(
                "Insufficient access to {} {content_type}s.",
                resource.display
            ))));
        }
    }
    Ok(None)
}

/// The original, readable by the caller, and the values its copy starts from.
async fn original(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    raw_id: &str,
) -> Result<(i64, Map<String, Value>, Vec<(&'static Field, Value)>), ApiError> {
    let decl = declaration(resource)?;
    let id = lookup::resolve(state, resource, raw_id).await?;
    let original = handlers::readable(state, caller, resource, id).await?;
    let mut values = values_of(resource, decl, &original);
    hooks::prepare_copy(state, resource, &mut values).await?;
    Ok((id, original, values))
}

/// `GET /api/v2/<path>/N/copy/`.
pub async fn describe(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let decl = declaration(resource)?;
    let (id, _, values) = original(resource, &state, &caller, &path).await?;
    // AWX's workflow form asks only about the organization here; what the
    // copy points to is checked when it is made.
    let can_copy = denial(
        &state,
        &caller,
        resource,
        decl,
        id,
        &values,
        !decl.workflow_form,
    )
    .await?
    .is_none();
    let answer = if decl.workflow_form {
        let unable = if can_copy { json!([]) } else { json!(["all"]) };
        json!({
            "can_copy": can_copy,
            "can_copy_without_user_input": can_copy,
            "templates_unable_to_copy": unable,
            "credentials_unable_to_copy": unable,
            "inventories_unable_to_copy": unable,
        })
    } else {
        json!({ "can_copy": can_copy })
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// The copy's name as AWX's `CopySerializer` takes it: a required,
/// non-blank string (numbers become text, whitespace is trimmed), unlike
/// the original's, within the resource's own limits.
fn new_name(
    resource: &'static Resource,
    original: &Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<(&'static Field, Value), ApiError> {
    let mut errors = FieldErrors::new();
    let name = match body.get("name") {
        None => Err("This field is required."),
        Some(Value::Null) => Err("This field may not be null."),
        Some(Value::String(text)) => Ok(text.trim().to_string()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(_) => Err("Not a valid string."),
    }
    .and_then(|name| {
        if name.is_empty() {
            Err("This field may not be blank.")
        } else {
            Ok(name)
        }
    });
    let name = match name {
        Ok(name) => name,
        Err(message) => {
            validate::push(&mut errors, "name", message);
            return Err(ApiError::Fields(errors));
        }
    };
    let mut checked = Map::new();
    checked.insert("name".into(), Value::String(name.clone()));
    let mut values = validate::body(resource, &checked, Mode::Patch).map_err(ApiError::Fields)?;
    let Some(position) = values.iter().position(|(f, _)| f.name == "name") else {
        return Err(ApiError::Internal(format!(
            "{} declares no writable name",
            resource.type_name
        )));
    };
    if original.get("name").and_then(Value::as_str) == Some(name.as_str()) {
        validate::push(
            &mut errors,
            "non_field_errors",
            format!(
                "The original object is already named {name}, a copy from it cannot have the same name."
            ),
        );
        return Err(ApiError::Fields(errors));
    }
    Ok(values.swap_remove(position))
}

/// Whoever copies an object becomes its admin unless they already are,
/// through the roles the copy inherits from (AWX's creator permissions);
/// superusers need nothing.
async fn make_admin(
    client: &impl Queryable,
    resource: &'static Resource,
    caller: &Caller,
    id: i64,
) -> Result<(), StoreError> {
    if caller.is_superuser() || !resource.roles.iter().any(|r| r.field == "admin_role") {
        return Ok(());
    }
    let Some((role, parents)) =
        store_copy::role_parents(client, resource.type_name, id, "admin_role").await?
    else {
        return Ok(());
    };
    if parents.iter().any(|parent| caller.holds(*parent)) {
        return Ok(());
    }
    store_copy::grant(client, role, caller.user.id).await
}

/// `POST /api/v2/<path>/N/copy/`.
pub async fn copy(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let decl = declaration(resource)?;
    let (id, original, mut values) = original(resource, &state, &caller, &path).await?;
    // As AWX: whether the caller may copy comes before what they sent.
    if let Some(denied) = denial(&state, &caller, resource, decl, id, &values, true).await? {
        return Err(denied);
    }
    let body = body::object(&req, &bytes)?;
    values.push(new_name(resource, &original, &body)?);
    let map = handlers::as_map(&values);
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    let new_id = handlers::insert_object(&tx, resource, &caller, &values, &map).await?;
    make_admin(&tx, resource, &caller, new_id).await?;
    store_copy::parts(&tx, decl.parts, id, new_id, caller.user.id).await?;
    handlers::record_create(&tx, &state, resource, &caller, new_id, &map).await?;
    tx.commit().await.map_err(StoreError::from)?;
    handlers::created(resource, &state, &caller, new_id).await
}
