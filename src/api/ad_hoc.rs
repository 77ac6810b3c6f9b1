//! Ad hoc commands: created by POST (`/ad_hoc_commands/`, or under an
//! inventory, a host or a group), checked as AWX checks them, and relaunched.

use actix_web::web::{Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{created, readable};
use super::resource::{body, lookup};
use crate::rbac::{self, Caller};
use crate::resource::validate::{FieldErrors, no_such_pk, parse_vars, push};
use crate::resources::ad_hoc_commands::AD_HOC_COMMAND;
use crate::resources::groups::GROUP;
use crate::resources::hosts::HOST;
use crate::store::StoreError;
use crate::store::ad_hoc_commands::{self, NewCommand};
use crate::store::pool::Queryable;
use crate::store::resource::row_exists;

/// AWX's default `AD_HOC_COMMANDS`: the modules an ad hoc command may run
/// when the setting is missing.
pub const ALLOWED_MODULES: &[&str] = &[
    "command",
    "shell",
    "yum",
    "apt",
    "apt_key",
    "apt_repository",
    "apt_rpm",
    "service",
    "group",
    "user",
    "mount",
    "ping",
    "selinux",
    "setup",
    "win_ping",
    "win_service",
    "win_updates",
    "win_group",
    "win_user",
];

/// Creates an ad hoc command from a request body (the generic create and
/// the inventory's sub-list land here); returns its id.
pub async fn create_from(
    state: &State,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<i64, ApiError> {
    let command = checked(state, caller, body).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let id = ad_hoc_commands::create(&*conn, &command, caller.user.id, "manual").await?;
    state
        .actors
        .task_manager
        .do_send(actors::task_manager::Wake);
    Ok(id)
}

/// The body checked field by field (400 naming each bad one), the module
/// against the allow-list, and the caller's roles: the inventory's adhoc
/// role and the credential's use role (403).
async fn checked(
    state: &State,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<NewCommand, ApiError> {
    let mut errors = FieldErrors::new();
    let text = |key: &str| match body.get(key) {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    // The CLI sends numbers and booleans as text.
    let int = |key: &str, errors: &mut FieldErrors| -> i32 {
        let value = match body.get(key) {
            None | Some(Value::Null) => Some(0),
            Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match value {
            Some(n) if n >= 0 => n,
            _ => {
                push(errors, key, "A valid non-negative integer is required.");
                0
            }
        }
    };
    let flag = |key: &str, errors: &mut FieldErrors| -> bool {
        match body.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" | "" => false,
                _ => {
                    push(errors, key, "Must be a valid boolean.");
                    false
                }
            },
            Some(_) => {
                push(errors, key, "Must be a valid boolean.");
                false
            }
        }
    };
    let mut command = NewCommand {
        job_type: text("job_type").unwrap_or_default(),
        module_name: text("module_name").unwrap_or_default(),
        module_args: text("module_args").unwrap_or_default(),
        limit: text("limit").unwrap_or_default(),
        forks: int("forks", &mut errors),
        verbosity: int("verbosity", &mut errors),
        become_enabled: flag("become_enabled", &mut errors),
        diff_mode: flag("diff_mode", &mut errors),
        ..NewCommand::default()
    };
    for key in ["job_type", "module_name", "module_args", "limit"] {
        if text(key).is_none() {
            push(&mut errors, key, "Not a valid string.");
        }
    }
    if command.job_type.is_empty() {
        command.job_type = "run".into();
    }
    if !matches!(command.job_type.as_str(), "run" | "check") {
        push(
            &mut errors,
            "job_type",
            format!("\"{}\" is not a valid choice.", command.job_type),
        );
    }
    if command.module_name.is_empty() {
        command.module_name = "command".into();
    }
    // The allow-list is the AD_HOC_COMMANDS setting (seeded with AWX's default).
    let allowed: Vec<String> =
        match crate::store::settings::get(&state.db, "AD_HOC_COMMANDS").await? {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => ALLOWED_MODULES.iter().map(|m| m.to_string()).collect(),
        };
    if !allowed.contains(&command.module_name) {
        push(
            &mut errors,
            "module_name",
            format!("\"{}\" is not a valid choice.", command.module_name),
        );
    } else if matches!(command.module_name.as_str(), "command" | "shell")
        && command.module_args.trim().is_empty()
    {
        push(
            &mut errors,
            "module_args",
            format!("No argument passed to {} module.", command.module_name),
        );
    }
    if !(0..=5).contains(&command.verbosity) {
        push(
            &mut errors,
            "verbosity",
            format!("\"{}\" is not a valid choice.", command.verbosity),
        );
    }
    command.extra_vars = match body.get("extra_vars") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(map)) => Value::Object(map.clone()).to_string(),
        Some(Value::String(text)) => match parse_vars(text) {
            Ok(_) => text.clone(),
            Err(message) => {
                push(&mut errors, "extra_vars", message);
                String::new()
            }
        },
        Some(_) => {
            push(&mut errors, "extra_vars", "Must be a mapping.");
            String::new()
        }
    };

    let conn = state.db.get().await.map_err(StoreError::from)?;
    match body.get("inventory").and_then(Value::as_i64) {
        None => push(&mut errors, "inventory", "This field is required."),
        Some(id) if !row_exists(&*conn, "inventories", id).await? => {
            push(&mut errors, "inventory", no_such_pk(id))
        }
        Some(id) => command.inventory = id,
    }
    match body.get("credential") {
        None | Some(Value::Null) => {}
        Some(value) => match value.as_i64() {
            Some(id) => {
                let kind: Option<String> = conn
                    .fetch_opt(
                        "SELECT t.kind FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id
                          WHERE c.id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(StoreError::from)?
                    .map(|r| r.get(0));
                match kind.as_deref() {
                    None => push(&mut errors, "credential", no_such_pk(id)),
                    Some("ssh") => command.credential = Some(id),
                    Some(_) => push(
                        &mut errors,
                        "credential",
                        "You must provide a machine / SSH credential.",
                    ),
                }
            }
            None => push(
                &mut errors,
                "credential",
                "Incorrect type. Expected pk value.",
            ),
        },
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    if !rbac::holds_role(&*conn, caller, "inventory", command.inventory, "adhoc_role").await? {
        return Err(ApiError::PermissionDenied);
    }
    if let Some(credential) = command.credential
        && !rbac::holds_role(&*conn, caller, "credential", credential, "use_role").await?
    {
        return Err(ApiError::PermissionDenied);
    }
    Ok(command)
}

/// `POST /api/v2/hosts/N/ad_hoc_commands/`: a command on that host alone.
pub async fn create_for_host(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &HOST, &path).await?;
    let host = readable(&state, &caller, &HOST, id).await?;
    create_scoped(state, req, caller, bytes, &host).await
}

/// `POST /api/v2/groups/N/ad_hoc_commands/`: a command on that group.
pub async fn create_for_group(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &GROUP, &path).await?;
    let group = readable(&state, &caller, &GROUP, id).await?;
    create_scoped(state, req, caller, bytes, &group).await
}

/// A command on a host's or group's inventory, limited to its name.
async fn create_scoped(
    state: State,
    req: HttpRequest,
    caller: Caller,
    bytes: Bytes,
    scope: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body::object(&req, &bytes)?;
    for key in ["inventory", "name"] {
        let value = scope.get(key).cloned().unwrap_or(Value::Null);
        body.insert(if key == "name" { "limit" } else { key }.to_string(), value);
    }
    let id = create_from(&state, &caller, &body).await?;
    created(&AD_HOC_COMMAND, &state, &caller, id).await
}

/// `GET /api/v2/ad_hoc_commands/N/relaunch/`.
pub async fn describe_relaunch(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &AD_HOC_COMMAND, &path).await?;
    readable(&state, &caller, &AD_HOC_COMMAND, id).await?;
    Ok(HttpResponse::Ok().json(json!({"passwords_needed_to_start": []})))
}

/// `POST /api/v2/ad_hoc_commands/N/relaunch/`: the same command again,
/// checked again against the caller's roles.
pub async fn relaunch(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &AD_HOC_COMMAND, &path).await?;
    readable(&state, &caller, &AD_HOC_COMMAND, id).await?;
    let Some(previous) = ad_hoc_commands::relaunch_of(&state.db, id).await? else {
        return Err(ApiError::BadRequest(
            "The inventory of this command has been deleted: it cannot be relaunched.".into(),
        ));
    };
    let mut body = Map::new();
    body.insert("inventory".into(), Value::from(previous.inventory));
    body.insert(
        "credential".into(),
        previous.credential.map_or(Value::Null, Value::from),
    );
    for (key, value) in [
        ("job_type", &previous.job_type),
        ("module_name", &previous.module_name),
        ("module_args", &previous.module_args),
        ("limit", &previous.limit),
        ("extra_vars", &previous.extra_vars),
    ] {
        body.insert(key.into(), Value::String(value.clone()));
    }
    body.insert("forks".into(), Value::from(previous.forks));
    body.insert("verbosity".into(), Value::from(previous.verbosity));
    body.insert(
        "become_enabled".into(),
        Value::Bool(previous.become_enabled),
    );
    body.insert("diff_mode".into(), Value::Bool(previous.diff_mode));
    let command = checked(&state, &caller, &body).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let new = ad_hoc_commands::create(&*conn, &command, caller.user.id, "relaunch").await?;
    drop(conn);
    state
        .actors
        .task_manager
        .do_send(actors::task_manager::Wake);
    created(&AD_HOC_COMMAND, &state, &caller, new).await
}
