//! List, detail, create, update and delete for any declared resource.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::{body, hooks, lookup, serialize};
use crate::api::State;
use crate::api::auth::Authenticated;
use crate::api::error::ApiError;
use crate::api::pagination::Paging;
use crate::rbac::{self, Caller};
use crate::resource::filter::{self, FilterError};
use crate::resource::validate::{self, FieldErrors, Mode};
use crate::resource::{Deletion, Field, Kind, Resource};
use crate::resources;
use crate::store::resource::{self as store, Condition};
use crate::store::{StoreError, activity};

/// The query string as decoded pairs.
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn filter_error(err: FilterError) -> ApiError {
    match err {
        FilterError::Invalid(message) => ApiError::BadRequest(message),
        FilterError::Forbidden(_) => ApiError::Forbidden(err.to_string()),
    }
}

/// A page of `resource` for `caller`, limited by `scope` (a sub-list's parent).
pub async fn list_page(
    resource: &'static Resource,
    state: &State,
    req: &HttpRequest,
    caller: &Caller,
    scope: Vec<Condition>,
) -> Result<HttpResponse, ApiError> {
    let query =
        filter::parse(resource, &query_pairs(req), resources::by_type).map_err(filter_error)?;
    let paging = Paging::from_request(req)?;
    let mut conditions = scope;
    conditions.extend(rbac::read_condition(caller, resource));
    let (count, rows) = store::list(
        &state.db,
        resource,
        &query,
        conditions,
        paging.offset(),
        paging.limit(),
    )
    .await?;
    let results = serialize::render(state, caller, resource, rows).await?;
    Ok(HttpResponse::Ok().json(paging.envelope(req, count, results)?))
}

/// `GET /api/v2/<path>/`.
pub async fn list(
    resource: &'static Resource,
    state: State,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    list_page(resource, &state, &req, &caller, Vec::new()).await
}

/// One readable object, or 404.
pub async fn readable(
    state: &State,
    caller: &Caller,
    resource: &'static Resource,
    id: i64,
) -> Result<Map<String, Value>, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let conditions = rbac::read_condition(caller, resource).into_iter().collect();
    store::get(&*conn, resource, id, conditions)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Renders one object.
pub async fn render_one(
    state: &State,
    caller: &Caller,
    resource: &'static Resource,
    row: Map<String, Value>,
) -> Result<Value, ApiError> {
    let id = row.get("id").and_then(Value::as_i64).unwrap_or_default();
    // Two connections, so the named URL's read overlaps the rendering's.
    let (mut rendered, slug) = tokio::try_join!(
        serialize::render(state, caller, resource, vec![row]),
        lookup::slug(state, resource, id),
    )?;
    let mut object = rendered.pop().ok_or(ApiError::NotFound)?;
    link_named_url(&mut object, resource, slug);
    Ok(object)
}

/// Adds the object's named URL to its `related` links, if it has one.
fn link_named_url(object: &mut Value, resource: &Resource, slug: Option<String>) {
    if let Some(slug) = slug
        && let Some(related) = object.get_mut("related").and_then(Value::as_object_mut)
    {
        related.insert(
            "named_url".into(),
            Value::String(format!("/api/v2/{}/{slug}/", resource.path)),
        );
    }
}

/// `GET /api/v2/<path>/{id}/`.
pub async fn detail(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    let row = readable(&state, &caller, resource, id).await?;
    Ok(HttpResponse::Ok().json(render_one(&state, &caller, resource, row).await?))
}

/// Every foreign key in `values` must name an object the caller can see.
async fn check_references(
    state: &State,
    caller: &Caller,
    values: &[(&'static Field, Value)],
) -> Result<(), ApiError> {
    references_error(missing_references(state, caller, values).await?)
}

/// The references among `values` that name no object the caller may see.
async fn missing_references(
    state: &State,
    caller: &Caller,
    values: &[(&'static Field, Value)],
) -> Result<Vec<(&'static str, i64)>, ApiError> {
    let references: Vec<(&'static str, Option<&'static Resource>, i64)> = values
        .iter()
        .filter_map(|(field, value)| match (field.kind, value.as_i64()) {
            (Kind::Fk(target), Some(id)) => Some((field.name, resources::by_type(target), id)),
            _ => None,
        })
        .collect();
    if references.is_empty() {
        return Ok(Vec::new());
    }
    let conn = state.db.get().await.map_err(StoreError::from)?;
    // All checked at once: the queries travel pipelined on the connection.
    let found =
        futures_util::future::try_join_all(references.iter().map(|(_, target, id)| async {
            // A reference to a kind rawx does not serve (applications) can name nothing.
            let Some(target) = target else {
                return Ok(false);
            };
            let conditions = rbac::read_condition(caller, target).into_iter().collect();
            store::exists(&*conn, target, *id, conditions).await
        }))
        .await?;
    Ok(references
        .into_iter()
        .zip(found)
        .filter(|(_, exists)| !exists)
        .map(|((name, _, id), _)| (name, id))
        .collect())
}

/// 400 naming each missing reference, if there is one.
fn references_error(missing: Vec<(&'static str, i64)>) -> Result<(), ApiError> {
    if missing.is_empty() {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    for (name, id) in missing {
        validate::push(&mut errors, name, validate::no_such_pk(id));
    }
    Err(ApiError::Fields(errors))
}

/// A new object's `prepare` hook and its reference checks, run side by
/// side (each a round trip): references the hook sets are checked after
/// it, and a reference it replaces no longer counts.
async fn prepare_and_check(
    state: &State,
    resource: &'static Resource,
    caller: &Caller,
    values: &mut Vec<(&'static Field, Value)>,
) -> Result<(), ApiError> {
    let sent = values.clone();
    let (prepared, missing) = tokio::join!(
        hooks::prepare(state, resource, caller, values, None),
        missing_references(state, caller, &sent),
    );
    prepared?;
    let unchanged = |name: &str, value: &Value| {
        sent.iter()
            .any(|(field, sent_value)| field.name == name && sent_value == value)
    };
    let mut missing: Vec<(&'static str, i64)> = missing?
        .into_iter()
        .filter(|(name, _)| {
            values
                .iter()
                .any(|(f, v)| f.name == *name && unchanged(name, v))
        })
        .collect();
    let set_by_hook: Vec<(&'static Field, Value)> = values
        .iter()
        .filter(|(field, value)| !unchanged(field.name, value))
        .cloned()
        .collect();
    missing.extend(missing_references(state, caller, &set_by_hook).await?);
    references_error(missing)
}

pub(super) fn as_map(values: &[(&'static Field, Value)]) -> Map<String, Value> {
    values
        .iter()
        .map(|(f, v)| (f.name.to_string(), v.clone()))
        .collect()
}

/// The values to log for an object: secrets masked.
pub(super) fn masked(resource: &Resource, values: &Map<String, Value>) -> Map<String, Value> {
    values
        .iter()
        .filter_map(|(key, value)| {
            let field = resource.field(key)?;
            let shown = if field.secret {
                Value::String("$encrypted$".into())
            } else {
                crate::crypto::fields::mask(value)
            };
            Some((key.clone(), shown))
        })
        .collect()
}

/// Creates an object of `resource` from a checked body; returns its id.
pub async fn create_from(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    body: &Map<String, Value>,
    extra: Vec<(&'static Field, Value)>,
) -> Result<i64, ApiError> {
    Ok(create_reading(resource, state, caller, body, extra, false)
        .await?
        .0)
}

/// A new object as its write read it back, with what rendering it needs,
/// read beside the write.
struct NewView {
    row: Map<String, Value>,
    fetched: serialize::Fetched,
    parents: Option<lookup::ParentNames>,
}

/// `create_from`; with `view`, also the new object as read while writing
/// it, when the write could read it and the caller may see it all.
async fn create_reading(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    body: &Map<String, Value>,
    extra: Vec<(&'static Field, Value)>,
    view: bool,
) -> Result<(i64, Option<NewView>), ApiError> {
    if matches!(resource.access.create, crate::resource::Create::Never) {
        return Err(ApiError::MethodNotAllowed("POST".into()));
    }
    // An ad hoc command is a run, not a stored object: its own checks.
    if resource.type_name == crate::resources::ad_hoc_commands::AD_HOC_COMMAND.type_name {
        let mut body = body.clone();
        for (field, value) in extra {
            body.insert(field.name.to_string(), value);
        }
        return Ok((
            crate::api::ad_hoc::create_from(state, caller, &body).await?,
            None,
        ));
    }
    let mut values = validate::body(resource, body, Mode::Create).map_err(ApiError::Fields)?;
    for (field, value) in extra {
        values.retain(|(f, _)| f.name != field.name);
        values.push((field, value));
    }
    prepare_and_check(state, resource, caller, &mut values).await?;
    let map = as_map(&values);
    {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        if !rbac::can_create(&*conn, caller, resource, &map).await? {
            return Err(ApiError::PermissionDenied);
        }
    }
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    if resource.roles.is_empty() && !hooks::acts_after_create(resource) {
        // Nothing else to write: the row and its activity entry go in one
        // statement, committed on its own, one round trip instead of four.
        let entry = create_entry(state, resource, caller, 0, &map);
        let logged = store::LoggedInsert::new(resource, &values, Some(caller.user.id), &entry);
        let insert = async {
            logged
                .run(&*conn, resource)
                .await
                .map_err(|err| ApiError::from(err).about(resource.display))
        };
        if !(view && caller.sees_all()) {
            return Ok((insert.await?.0, None));
        }
        // Sent behind the insert on the same connection, what rendering
        // the new object reads costs no round trip of its own, and reads
        // what the insert committed. The insert's statement is prepared
        // first (once per connection) so that nothing overtakes it.
        conn.prepared(logged.sql())
            .await
            .map_err(StoreError::from)?;
        let (inserted, fetched, parents) = tokio::join!(
            insert,
            serialize::fetch_new(&*conn, caller, resource, &map),
            lookup::parent_names(&*conn, resource, &map),
        );
        let (id, row) = inserted?;
        let view = match row {
            Some(row) => Some(NewView {
                row,
                fetched: fetched?,
                parents: parents?,
            }),
            None => None,
        };
        return Ok((id, view));
    }
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    let id = insert_object(&tx, resource, caller, &values, &map).await?;
    record_create(&tx, state, resource, caller, id, &map).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok((id, None))
}

/// Writes a new object in `tx`: its row, its object roles and what its
/// resource's hooks add on create. Returns its id.
pub(super) async fn insert_object(
    tx: &tokio_postgres::Transaction<'_>,
    resource: &'static Resource,
    caller: &Caller,
    values: &[(&'static Field, Value)],
    map: &Map<String, Value>,
) -> Result<i64, ApiError> {
    let id = store::insert(tx, resource, values, Some(caller.user.id))
        .await
        .map_err(|err| ApiError::from(err).about(resource.display))?;
    rbac::create_object_roles(tx, resource, id, map).await?;
    hooks::after_create(tx, resource, caller, id, map).await?;
    Ok(id)
}

/// The activity stream's entry for a created object, secrets masked.
pub(super) async fn record_create(
    tx: &tokio_postgres::Transaction<'_>,
    state: &State,
    resource: &'static Resource,
    caller: &Caller,
    id: i64,
    map: &Map<String, Value>,
) -> Result<(), ApiError> {
    activity::record(tx, create_entry(state, resource, caller, id, map)).await?;
    Ok(())
}

/// The activity entry for object `id` of `resource` created from `map`.
fn create_entry<'a>(
    state: &'a State,
    resource: &'static Resource,
    caller: &Caller,
    id: i64,
    map: &Map<String, Value>,
) -> activity::Entry<'a> {
    activity::Entry {
        actor: Some(caller.user.id),
        operation: "create",
        object1: resource.type_name,
        object2: "",
        relationship: "",
        changes: Value::Object(masked(resource, map)),
        node: &state.node.name,
        objects: vec![(resource.type_name.to_string(), id)],
    }
}

/// `POST /api/v2/<path>/`.
pub async fn create(
    resource: &'static Resource,
    state: State,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    if resource.type_name == crate::resources::tokens::TOKEN.type_name {
        return crate::api::tokens::create(state, req, Authenticated(caller), bytes).await;
    }
    let body = body::object(&req, &bytes)?;
    let (id, view) = create_reading(resource, &state, &caller, &body, Vec::new(), true).await?;
    created_with(resource, &state, &caller, id, view).await
}

/// 201 with the new object and its `Location`.
pub async fn created(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    created_with(resource, state, caller, id, None).await
}

/// `created`, with the object as its write read it back, if it did.
async fn created_with(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    id: i64,
    view: Option<NewView>,
) -> Result<HttpResponse, ApiError> {
    let object = match view {
        // What the write read back is what a caller who sees all may read.
        Some(view) if caller.sees_all() => {
            let slug = match view.parents {
                Some(parents) => parents.slug(resource, &view.row),
                None => lookup::slug(state, resource, id).await?,
            };
            let mut object = serialize::assemble(caller, resource, vec![view.row], view.fetched)
                .pop()
                .ok_or(ApiError::NotFound)?;
            link_named_url(&mut object, resource, slug);
            object
        }
        _ => {
            let mut caller = caller.clone();
            // The caller's roles were read before the object existed; read
            // them again so the roles it just gained (as its admin, say) count.
            if !caller.is_superuser() {
                caller.held =
                    std::sync::Arc::new(rbac::held_roles(&state.db, caller.user.id).await?);
            }
            let row = readable(state, &caller, resource, id).await?;
            render_one(state, &caller, resource, row).await?
        }
    };
    Ok(HttpResponse::Created()
        .insert_header(("Location", resource.url(id)))
        .json(object))
}

async fn update(
    resource: &'static Resource,
    state: State,
    raw_id: &str,
    req: HttpRequest,
    caller: Caller,
    bytes: Bytes,
    mode: Mode,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, raw_id).await?;
    let existing = readable(&state, &caller, resource, id).await?;
    {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        let allowed =
            rbac::can_change_each(&*conn, &caller, resource, std::slice::from_ref(&existing))
                .await?;
        if !allowed.first().copied().unwrap_or(false) {
            return Err(ApiError::PermissionDenied);
        }
    }
    let body = body::object(&req, &bytes)?;
    let mut values = validate::body(resource, &body, mode).map_err(ApiError::Fields)?;
    hooks::prepare(&state, resource, &caller, &mut values, Some(&existing)).await?;
    // Only what differs is written and logged.
    values.retain(|(field, value)| field.write_only || existing.get(field.name) != Some(value));
    check_references(&state, &caller, &values).await?;
    if !values.is_empty() {
        let mut changes = Map::new();
        for (field, value) in &values {
            let old = existing.get(field.name).cloned().unwrap_or(Value::Null);
            let pair = if field.secret {
                json!(["$encrypted$", "$encrypted$"])
            } else {
                json!([
                    crate::crypto::fields::mask(&old),
                    crate::crypto::fields::mask(value)
                ])
            };
            changes.insert(field.name.to_string(), pair);
        }
        let relink = values.iter().any(|(field, _)| {
            resource.roles.iter().any(|role| {
                role.parents
                    .iter()
                    .any(|p| matches!(p, crate::resource::RoleRef::Fk(fk, _) if *fk == field.name))
            })
        });
        let mut merged = existing.clone();
        merged.extend(as_map(&values));
        let mut conn = state.db.get().await.map_err(StoreError::from)?;
        let tx = conn.transaction().await.map_err(StoreError::from)?;
        store::update(&tx, resource, id, &values, Some(caller.user.id))
            .await
            .map_err(|err| ApiError::from(err).about(resource.display))?;
        if relink {
            rbac::relink_object_roles(&tx, resource, id, &merged).await?;
        }
        activity::record(
            &tx,
            activity::Entry {
                actor: Some(caller.user.id),
                operation: "update",
                object1: resource.type_name,
                object2: "",
                relationship: "",
                changes: Value::Object(changes),
                node: &state.node.name,
                objects: vec![(resource.type_name.to_string(), id)],
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        hooks::after_write(&state, resource);
    }
    let row = readable(&state, &caller, resource, id).await?;
    Ok(HttpResponse::Ok().json(render_one(&state, &caller, resource, row).await?))
}

/// `PUT /api/v2/<path>/{id}/`.
pub async fn replace(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    update(resource, state, &path, req, caller, bytes, Mode::Replace).await
}

/// `PATCH /api/v2/<path>/{id}/`.
pub async fn patch(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    update(resource, state, &path, req, caller, bytes, Mode::Patch).await
}

/// `DELETE /api/v2/<path>/{id}/`.
pub async fn delete(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    if resource.deletion == Deletion::Forbidden {
        return Err(ApiError::MethodNotAllowed("DELETE".into()));
    }
    let id = lookup::resolve(&state, resource, &path).await?;
    let existing = readable(&state, &caller, resource, id).await?;
    hooks::before_delete(&state, resource, &existing).await?;
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    let allowed =
        rbac::can_change_each(&*conn, &caller, resource, std::slice::from_ref(&existing)).await?;
    if !allowed.first().copied().unwrap_or(false) {
        return Err(ApiError::PermissionDenied);
    }
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    store::delete(&tx, resource, id).await?;
    activity::record(
        &tx,
        activity::Entry {
            actor: Some(caller.user.id),
            operation: "delete",
            object1: resource.type_name,
            object2: "",
            relationship: "",
            changes: Value::Object(masked(resource, &existing)),
            node: &state.node.name,
            objects: vec![(resource.type_name.to_string(), id)],
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    hooks::after_write(&state, resource);
    if resource.deletion == Deletion::Accepted {
        return Ok(HttpResponse::Accepted().finish());
    }
    Ok(HttpResponse::NoContent().finish())
}
