//! `/api/v2/job_templates/N/launch/` and a job's `stdout`: what would be
//! prompted, creating the pending job, and its output.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::prompts;
use super::resource::handlers::{readable, render_one};
use super::resource::{body, lookup};
use crate::crypto::fields::PLACEHOLDER;
use crate::rbac::{self, Caller};
use crate::resource::validate::FieldErrors;
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

/// The survey's questions, when the template (its row as read) has one
/// enabled.
async fn survey(
    state: &State,
    template: i64,
    row: &Map<String, Value>,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    // Most templates have none: no query for them.
    if !flag(row, "survey_enabled") {
        return Ok(Vec::new());
    }
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
    let questions = survey(&state, id, &template).await?;
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
    if let Some(inventory) = template.get("inventory").and_then(Value::as_i64) {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        let name: Option<String> = conn
            .query_opt("SELECT name FROM inventories WHERE id = $1", &[&inventory])
            .await
            .map_err(StoreError::from)?
            .map(|r| r.get(0));
        defaults.insert("inventory".into(), json!({"id": inventory, "name": name}));
    }
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
            "actions": {"POST": launch_fields()},
        }))
}

/// The launch's fields as awxkit reads them from `actions.POST`.
fn launch_fields() -> Value {
    let mut fields = Map::new();
    fields.insert(
        "extra_vars".into(),
        json!({"type": "json", "required": false, "label": "Extra vars", "hidden": false}),
    );
    for (name, _) in super::prompts::PROMPTS {
        let kind = match *name {
            "inventory" | "execution_environment" => "id",
            "credentials" | "labels" | "instance_groups" => "list",
            "verbosity" | "forks" | "timeout" | "job_slice_count" => "integer",
            "diff_mode" => "boolean",
            "job_type" => "choice",
            _ => "string",
        };
        let label = name.replace('_', " ");
        let mut label = label.chars();
        let label: String = label
            .next()
            .map(|c| c.to_uppercase().chain(label).collect())
            .unwrap_or_default();
        fields.insert(
            (*name).into(),
            json!({"type": kind, "required": false, "label": label, "hidden": false}),
        );
    }
    Value::Object(fields)
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
            let mut errors = FieldErrors::new();
            errors.insert("extra_vars".into(), vec![msg]);
            ApiError::Fields(errors)
        })?,
        Some(_) => return Err(ApiError::BadRequest("extra_vars must be a mapping".into())),
    };
    let questions = survey(&state, id, &template).await?;
    let (vars, passwords, refused) = merge_vars(&state, &template, &questions, launch_vars)?;
    if !refused.is_empty() {
        ignored.insert("extra_vars".into(), Value::Object(refused));
    }
    overrides.extra_vars = Value::Object(vars).to_string();
    overrides.survey_passwords = passwords;
    prompts::read(
        &state,
        &caller,
        &template,
        &body,
        &mut overrides,
        &mut ignored,
    )
    .await?;
    if overrides.inventory.is_none() && template.get("inventory").is_none_or(Value::is_null) {
        let mut errors = FieldErrors::new();
        errors.insert(
            "resources_needed_to_start".into(),
            vec!["Job Template inventory is missing or undefined.".into()],
        );
        return Err(ApiError::Fields(errors));
    }
    created_job(&state, &caller, id, &overrides, ignored).await
}

/// The job's extra variables: the template's, then the survey's defaults,
/// then what the launch gives (where the template asks for variables or
/// the survey has the question). Survey answers are checked as AWX checks
/// them; password answers are encrypted and shown as `$encrypted$`.
/// Returns the variables, the encrypted passwords and the refused variables.
#[allow(clippy::type_complexity)]
fn merge_vars(
    state: &State,
    template: &Map<String, Value>,
    questions: &[Map<String, Value>],
    launch_vars: Map<String, Value>,
) -> Result<(Map<String, Value>, Map<String, Value>, Map<String, Value>), ApiError> {
    let mut vars = parse_vars(
        template
            .get("extra_vars")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let mut passwords = Map::new();
    let is_password =
        |q: &Map<String, Value>| q.get("type").and_then(Value::as_str) == Some("password");
    for question in questions {
        let Some(name) = question.get("variable").and_then(Value::as_str) else {
            continue;
        };
        match question.get("default") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.is_empty() => {}
            // A password default is kept encrypted, under the same key it is stored with.
            Some(default) if crate::crypto::fields::is_encrypted(default) => {
                passwords.insert(name.to_string(), default.clone());
                vars.insert(name.to_string(), Value::String(PLACEHOLDER.into()));
            }
            Some(default) => {
                vars.insert(name.to_string(), default.clone());
            }
        }
    }
    let mut refused = Map::new();
    let asks_vars = flag(template, "ask_variables_on_launch");
    for (key, value) in launch_vars {
        let question = questions
            .iter()
            .find(|q| q.get("variable").and_then(Value::as_str) == Some(key.as_str()));
        if !asks_vars && question.is_none() {
            refused.insert(key, value);
            continue;
        }
        // `$encrypted$` for a password keeps its default.
        if question.is_some_and(&is_password) && value == PLACEHOLDER {
            continue;
        }
        vars.insert(key, value);
    }
    let errors = super::survey::check_answers(questions, &vars);
    if !errors.is_empty() {
        let mut fields = FieldErrors::new();
        fields.insert("variables_needed_to_start".into(), errors);
        return Err(ApiError::Fields(fields));
    }
    for question in questions.iter().filter(|q| is_password(q)) {
        let Some(name) = question.get("variable").and_then(Value::as_str) else {
            continue;
        };
        if let Some(Value::String(answer)) = vars.get(name)
            && answer != PLACEHOLDER
        {
            let sealed = state
                .cipher
                .encrypt(&format!("survey:{name}"), answer)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            passwords.insert(name.to_string(), Value::String(sealed));
            vars.insert(name.to_string(), Value::String(PLACEHOLDER.into()));
        }
    }
    Ok((vars, passwords, refused))
}

/// Creates the job, wakes the TaskManager, answers 201 with the job.
async fn created_job(
    state: &State,
    caller: &Caller,
    template: i64,
    overrides: &Overrides,
    ignored: Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let (job, _) =
        jobs::create_from_template(&state.db, template, caller.user.id, overrides).await?;
    state
        .actors
        .task_manager
        .do_send(actors::task_manager::Wake);
    // The job is committed whatever happens here: a failed notice costs
    // other nodes' TaskManagers a few seconds (their periodic pass) and the
    // template a stale `last_job`, not the launch.
    if let Err(err) = state.announcer.announce(template, job).await {
        tracing::warn!(job, %err, "could not announce the launched job");
    }
    let row = readable(state, caller, &JOB, job).await?;
    let mut object = render_one(state, caller, &JOB, row).await?;
    if let Some(map) = object.as_object_mut() {
        map.insert("job".into(), Value::from(job));
        map.insert("ignored_fields".into(), Value::Object(ignored));
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", JOB.url(job)))
        .json(object))
}

/// `GET /api/v2/jobs/N/relaunch/`: what a relaunch needs, and how many
/// hosts it would run on.
pub async fn describe_relaunch(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &JOB, &path).await?;
    readable(&state, &caller, &JOB, id).await?;
    let failed = jobs::failed_hosts(&state.db, id).await?.len();
    let all = {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        let count: i64 = conn
            .query_one(
                "SELECT count(*) FROM job_host_summaries WHERE job_id = $1",
                &[&id],
            )
            .await
            .map_err(StoreError::from)?
            .get(0);
        count
    };
    Ok(HttpResponse::Ok().json(json!({
        "passwords_needed_to_start": [],
        "retry_counts": {"all": all, "failed": failed},
    })))
}

/// `POST /api/v2/jobs/N/relaunch/`: a new job with the values the job ran
/// with; `{"hosts": "failed"}` limits it to the hosts that failed.
pub async fn relaunch(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &JOB, &path).await?;
    readable(&state, &caller, &JOB, id).await?;
    let body = body::object(&req, &bytes)?;
    let Some((template, mut overrides)) = jobs::relaunch_of(&state.db, id).await? else {
        return Err(ApiError::BadRequest(
            "Job Template for this job has been deleted: it cannot be relaunched.".into(),
        ));
    };
    may_execute(&state, &caller, template).await?;
    match body.get("hosts").and_then(Value::as_str).unwrap_or("all") {
        "all" => {}
        "failed" => {
            let failed = jobs::failed_hosts(&state.db, id).await?;
            if failed.is_empty() {
                let mut errors = FieldErrors::new();
                errors.insert(
                    "hosts".into(),
                    vec!["No failed hosts to relaunch the job on.".into()],
                );
                return Err(ApiError::Fields(errors));
            }
            overrides.limit = Some(failed.join(","));
        }
        other => {
            let mut errors = FieldErrors::new();
            errors.insert(
                "hosts".into(),
                vec![format!("\"{other}\" is not a valid choice.")],
            );
            return Err(ApiError::Fields(errors));
        }
    }
    created_job(&state, &caller, template, &overrides, Map::new()).await
}
