//! `/api/v2/job_templates/N/launch/` and a job's `stdout`: what would be
//! prompted, creating the pending job, and its output.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{readable, render_one};
use super::resource::{body, lookup};
use crate::rbac::{self, Caller};
use crate::resource::validate::parse_vars;
use crate::resources::job_templates::JOB_TEMPLATE;
use crate::resources::jobs::JOB;
use crate::store::StoreError;
use crate::store::jobs::{self, Overrides};

fn flag(template: &Map<String, Value>, key: &str) -> bool {
    template.get(key).and_then(Value::as_bool).unwrap_or(false)
}

async fn may_execute(state: &State, caller: &Caller, template: i64) -> Result<(), ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    if rbac::holds_role(&*conn, caller, "job_template", template, "execute_role").await? {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// The survey's questions, when the template has one enabled.
async fn survey(state: &State, template: i64) -> Result<Vec<Map<String, Value>>, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let row = conn
        .query_opt(
            "SELECT survey_enabled, survey_spec FROM job_templates WHERE id = $1",
            &[&template],
        )
        .await
        .map_err(StoreError::from)?;
    Ok(match row {
        Some(row) if row.get::<_, bool>(0) => super::survey::questions(&row.get::<_, Value>(1)),
        _ => Vec::new(),
    })
}

/// `GET .../launch/`: what a launch would ask for, and the defaults.
pub async fn describe(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &JOB_TEMPLATE, &path).await?;
    let template = readable(&state, &caller, &JOB_TEMPLATE, id).await?;
    let questions = survey(&state, id).await?;
    let needed: Vec<Value> = questions
        .iter()
        .filter(|q| q.get("required").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|q| q.get("variable").cloned())
        .collect();
    let inventory_needed = template.get("inventory").is_none_or(Value::is_null);
    let mut body = Map::new();
    body.insert(
        "can_start_without_user_input".into(),
        Value::Bool(needed.is_empty() && !inventory_needed),
    );
    body.insert("passwords_needed_to_start".into(), json!([]));
    for (key, value) in &template {
        if key.starts_with("ask_") {
            body.insert(key.clone(), value.clone());
        }
    }
    body.insert("survey_enabled".into(), Value::Bool(!questions.is_empty()));
    body.insert("variables_needed_to_start".into(), Value::Array(needed));
    body.insert("credential_needed_to_start".into(), Value::Bool(false));
    body.insert(
        "inventory_needed_to_start".into(),
        Value::Bool(inventory_needed),
    );
    body.insert(
        "job_template_data".into(),
        json!({"name": template.get("name"), "id": id, "description": template.get("description")}),
    );
    let mut defaults = Map::new();
    for key in [
        "extra_vars",
        "limit",
        "job_tags",
        "skip_tags",
        "job_type",
        "verbosity",
        "diff_mode",
        "scm_branch",
        "forks",
        "timeout",
    ] {
        defaults.insert(
            key.into(),
            template.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    body.insert("defaults".into(), Value::Object(defaults));
    Ok(HttpResponse::Ok().json(Value::Object(body)))
}

/// `OPTIONS .../launch/`: awxkit needs `actions.POST` to build its flags.
pub async fn options(Authenticated(_caller): Authenticated) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Allow", "GET, POST, HEAD, OPTIONS"))
        .json(json!({
            "name": "Job Template Launch",
            "description": "",
            "renders": ["application/json"],
            "parses": ["application/json"],
            "actions": {"POST": {
                "extra_vars": {"type": "json", "required": false, "label": "Extra vars", "hidden": false},
                "inventory": {"type": "id", "required": false, "label": "Inventory", "hidden": false},
                "limit": {"type": "string", "required": false, "label": "Limit", "hidden": false},
            }},
        }))
}

/// `POST .../launch/`: a pending job, 201. Fields the template does not
/// prompt for are dropped and listed in `ignored_fields`, as AWX does.
pub async fn launch(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &JOB_TEMPLATE, &path).await?;
    let template = readable(&state, &caller, &JOB_TEMPLATE, id).await?;
    may_execute(&state, &caller, id).await?;
    let body = body::object(&req, &bytes)?;
    let mut ignored = Map::new();
    let mut overrides = Overrides::default();

    let launch_vars = match body.get("extra_vars") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(Value::String(text)) => parse_vars(text).map_err(|msg| {
            let mut errors = crate::resource::validate::FieldErrors::new();
            errors.insert("extra_vars".into(), vec![msg]);
            ApiError::Fields(errors)
        })?,
        Some(_) => return Err(ApiError::BadRequest("extra_vars must be a mapping".into())),
    };
    let questions = survey(&state, id).await?;
    let survey_vars: Vec<String> = questions
        .iter()
        .filter_map(|q| {
            q.get("variable")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let mut vars = parse_vars(
        template
            .get("extra_vars")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    for question in &questions {
        if let (Some(name), Some(default)) = (
            question.get("variable").and_then(Value::as_str),
            question.get("default"),
        ) && !default.is_null()
            && default != ""
            && !crate::crypto::fields::is_encrypted(default)
        {
            vars.insert(name.to_string(), default.clone());
        }
    }
    let mut refused_vars = Map::new();
    for (key, value) in launch_vars {
        if flag(&template, "ask_variables_on_launch") || survey_vars.contains(&key) {
            vars.insert(key, value);
        } else {
            refused_vars.insert(key, value);
        }
    }
    if !refused_vars.is_empty() {
        ignored.insert("extra_vars".into(), Value::Object(refused_vars));
    }
    let missing: Vec<String> = questions
        .iter()
        .filter(|q| q.get("required").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|q| q.get("variable").and_then(Value::as_str))
        .filter(|name| !vars.contains_key(*name))
        .map(|name| format!("'{name}' value missing"))
        .collect();
    if !missing.is_empty() {
        let mut errors = crate::resource::validate::FieldErrors::new();
        errors.insert("variables_needed_to_start".into(), missing);
        return Err(ApiError::Fields(errors));
    }
    overrides.extra_vars = Value::Object(vars).to_string();

    if let Some(inventory) = body.get("inventory").filter(|v| !v.is_null()) {
        if flag(&template, "ask_inventory_on_launch") {
            overrides.inventory = inventory.as_i64();
        } else if template.get("inventory") != Some(inventory) {
            ignored.insert("inventory".into(), inventory.clone());
        }
    }
    if let Some(limit) = body.get("limit").and_then(Value::as_str) {
        if flag(&template, "ask_limit_on_launch") {
            overrides.limit = Some(limit.to_string());
        } else if template.get("limit").and_then(Value::as_str) != Some(limit) {
            ignored.insert("limit".into(), Value::String(limit.to_string()));
        }
    }
    for key in body.keys() {
        if !matches!(key.as_str(), "extra_vars" | "inventory" | "limit")
            && !ignored.contains_key(key)
        {
            ignored.insert(key.clone(), body[key].clone());
        }
    }
    if overrides.inventory.is_none() && template.get("inventory").is_none_or(Value::is_null) {
        let mut errors = crate::resource::validate::FieldErrors::new();
        errors.insert(
            "resources_needed_to_start".into(),
            vec!["Job Template inventory is missing or undefined.".into()],
        );
        return Err(ApiError::Fields(errors));
    }

    let (job, _) = jobs::create_from_template(&state.db, id, caller.user.id, &overrides).await?;
    state
        .actors
        .task_manager
        .do_send(actors::task_manager::Wake);
    let row = readable(&state, &caller, &JOB, job).await?;
    let mut object = render_one(&state, &caller, &JOB, row).await?;
    if let Some(map) = object.as_object_mut() {
        map.insert("job".into(), Value::from(job));
        map.insert("ignored_fields".into(), Value::Object(ignored));
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", JOB.url(job)))
        .json(object))
}
