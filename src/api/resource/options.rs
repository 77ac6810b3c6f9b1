//! OPTIONS: the metadata awxkit builds its CLI from.

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

use crate::api::State;
use crate::api::auth::Authenticated;
use crate::api::error::ApiError;
use crate::api::pagination::MAX_PAGE_SIZE;
use crate::rbac::Caller;
use crate::resource::field::{CREATED, ID, MODIFIED};
use crate::resource::{Create, Default as FieldDefault, Deletion, Field, Kind, Resource};

fn choices(kind: &Kind) -> Option<Value> {
    match kind {
        Kind::Choice(list) => Some(Value::Array(
            list.iter().map(|(v, l)| json!([v, l])).collect(),
        )),
        Kind::IntChoice(list) => Some(Value::Array(
            list.iter().map(|(v, l)| json!([v, l])).collect(),
        )),
        _ => None,
    }
}

fn default_json(field: &Field) -> Option<Value> {
    match field.default {
        FieldDefault::None => None,
        FieldDefault::Null => Some(Value::Null),
        FieldDefault::Str(s) => Some(Value::String(s.into())),
        FieldDefault::Int(i) => Some(Value::from(i)),
        FieldDefault::Bool(b) => Some(Value::Bool(b)),
        FieldDefault::EmptyObject => Some(json!({})),
    }
}

/// One field's metadata for a read (`GET`) or a write (`POST`/`PUT`).
pub fn field_meta(field: &Field, write: bool) -> Value {
    let mut meta = Map::new();
    meta.insert("type".into(), Value::String(field.kind.api_type().into()));
    if write {
        meta.insert("required".into(), Value::Bool(field.required));
    }
    meta.insert("hidden".into(), Value::Bool(false));
    meta.insert("label".into(), Value::String(field.label.into()));
    if !field.help.is_empty() {
        meta.insert("help_text".into(), Value::String(field.help.into()));
    }
    if let Kind::Int(min, max) = field.kind {
        if let Some(min) = min {
            meta.insert("min_value".into(), Value::from(min));
        }
        if let Some(max) = max {
            meta.insert("max_value".into(), Value::from(max));
        }
    }
    if write {
        if let Kind::Str(Some(max)) = field.kind {
            meta.insert("max_length".into(), Value::from(max));
        }
        if !field.required
            && let Some(default) = default_json(field)
        {
            meta.insert("default".into(), default);
        }
    }
    if let Some(choices) = choices(&field.kind) {
        meta.insert("choices".into(), choices);
    }
    meta.insert("filterable".into(), Value::Bool(field.filterable));
    Value::Object(meta)
}

fn read_actions(resource: &Resource) -> Value {
    let mut get = Map::new();
    get.insert("id".into(), field_meta(&ID, false));
    get.insert("type".into(), json!({"type": "choice", "label": "Type", "hidden": false, "filterable": false, "choices": [[resource.type_name, resource.display]]}));
    get.insert(
        "url".into(),
        json!({"type": "string", "label": "Url", "hidden": false, "filterable": false}),
    );
    get.insert(
        "related".into(),
        json!({"type": "object", "label": "Related", "hidden": false, "filterable": false}),
    );
    get.insert(
        "summary_fields".into(),
        json!({"type": "object", "label": "Summary fields", "hidden": false, "filterable": false}),
    );
    get.insert("created".into(), field_meta(&CREATED, false));
    get.insert("modified".into(), field_meta(&MODIFIED, false));
    for field in resource
        .fields
        .iter()
        .filter(|f| !f.write_only && !f.internal)
    {
        get.insert(field.name.into(), field_meta(field, false));
    }
    Value::Object(get)
}

fn write_actions(resource: &Resource, create: bool) -> Value {
    let fields: Map<String, Value> = resource
        .fields
        .iter()
        .filter(|f| f.writable() && (create || !f.create_only))
        .map(|f| (f.name.to_string(), field_meta(f, true)))
        .collect();
    Value::Object(fields)
}

fn envelope(resource: &Resource, name: String, actions: Map<String, Value>, list: bool) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), Value::String(name));
    body.insert("description".into(), Value::String(String::new()));
    body.insert("renders".into(), json!(["application/json", "text/html"]));
    body.insert("parses".into(), json!(["application/json"]));
    body.insert("actions".into(), Value::Object(actions));
    body.insert("types".into(), json!([resource.type_name]));
    body.insert("search_fields".into(), json!(resource.search));
    let related_search: Vec<String> = resource
        .fields
        .iter()
        .filter(|f| matches!(f.kind, Kind::Fk(_)) && f.filterable)
        .map(|f| format!("{}__search", f.name))
        .collect();
    body.insert("related_search_fields".into(), json!(related_search));
    if !resource.roles.is_empty() {
        body.insert(
            "object_roles".into(),
            json!(resource.role_fields().collect::<Vec<_>>()),
        );
    }
    if list {
        body.insert("max_page_size".into(), Value::from(MAX_PAGE_SIZE));
    }
    Value::Object(body)
}

fn may_create(caller: &Caller, resource: &Resource) -> bool {
    match resource.access.create {
        Create::Never => false,
        Create::SuperuserOnly => caller.is_superuser(),
        Create::FkRole(..) | Create::Custom => !caller.read_only,
    }
}

/// The body of a list's OPTIONS: `GET`, plus `POST` when the caller may
/// create. Nothing else may appear in a list's `actions`: awxkit breaks on `PUT`.
pub fn list_body(resource: &Resource, caller: &Caller) -> Value {
    let mut actions = Map::new();
    actions.insert("GET".into(), read_actions(resource));
    if may_create(caller, resource) {
        actions.insert("POST".into(), write_actions(resource, true));
    }
    envelope(
        resource,
        format!("{} List", resource.display),
        actions,
        true,
    )
}

/// `OPTIONS /api/v2/<path>/`.
pub async fn list(
    resource: &'static Resource,
    _state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let allow = if matches!(resource.access.create, Create::Never) {
        "GET, HEAD, OPTIONS"
    } else {
        "GET, POST, HEAD, OPTIONS"
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Allow", allow))
        .json(list_body(resource, &caller)))
}

/// `OPTIONS /api/v2/<path>/{id}/`: answered for any id, as awxkit probes `/1/`
/// only for the `Allow` header.
pub async fn detail(
    resource: &'static Resource,
    _state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let mut actions = Map::new();
    actions.insert("GET".into(), read_actions(resource));
    if !caller.read_only {
        actions.insert("PUT".into(), write_actions(resource, false));
    }
    let allow = if resource.deletion == Deletion::Forbidden {
        "GET, PUT, PATCH, HEAD, OPTIONS"
    } else {
        "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Allow", allow))
        .json(envelope(
            resource,
            format!("{} Detail", resource.display),
            actions,
            false,
        )))
}
