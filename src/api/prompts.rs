//! A launch's prompts: each field a job template may ask for at launch is
//! taken when its `ask_*_on_launch` flag is on and checked as AWX checks
//! it; a field the template does not ask for goes to `ignored_fields`.

use serde_json::{Map, Value};

use super::State;
use super::error::ApiError;
use crate::rbac::{self, Caller};
use crate::resource::validate::{FieldErrors, no_such_pk, push};
use crate::store::StoreError;
use crate::store::jobs::Overrides;
use crate::store::pool::Queryable;
use crate::store::resource::row_exists;

/// The scalar prompts: the field, the template's flag that allows it.
const SCALARS: &[(&str, &str)] = &[
    ("limit", "ask_limit_on_launch"),
    ("job_type", "ask_job_type_on_launch"),
    ("job_tags", "ask_tags_on_launch"),
    ("skip_tags", "ask_skip_tags_on_launch"),
    ("verbosity", "ask_verbosity_on_launch"),
    ("diff_mode", "ask_diff_mode_on_launch"),
    ("scm_branch", "ask_scm_branch_on_launch"),
    ("forks", "ask_forks_on_launch"),
    ("timeout", "ask_timeout_on_launch"),
    ("job_slice_count", "ask_job_slice_count_on_launch"),
];

/// The fields a launch body may carry beside `extra_vars`, and their flags.
pub const PROMPTS: &[(&str, &str)] = &[
    ("inventory", "ask_inventory_on_launch"),
    ("credentials", "ask_credential_on_launch"),
    ("labels", "ask_labels_on_launch"),
    (
        "execution_environment",
        "ask_execution_environment_on_launch",
    ),
    ("instance_groups", "ask_instance_groups_on_launch"),
    ("limit", "ask_limit_on_launch"),
    ("job_type", "ask_job_type_on_launch"),
    ("job_tags", "ask_tags_on_launch"),
    ("skip_tags", "ask_skip_tags_on_launch"),
    ("verbosity", "ask_verbosity_on_launch"),
    ("diff_mode", "ask_diff_mode_on_launch"),
    ("scm_branch", "ask_scm_branch_on_launch"),
    ("forks", "ask_forks_on_launch"),
    ("timeout", "ask_timeout_on_launch"),
    ("job_slice_count", "ask_job_slice_count_on_launch"),
];

fn flag(template: &Map<String, Value>, key: &str) -> bool {
    template.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Reads every prompt of `body` into `overrides`, or into `ignored` when
/// the template does not ask for it; a bad value is a 400 naming its field.
pub async fn read(
    state: &State,
    caller: &Caller,
    template: &Map<String, Value>,
    body: &Map<String, Value>,
    overrides: &mut Overrides,
    ignored: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    for (key, value) in body {
        if key == "extra_vars" {
            continue;
        }
        let Some((_, ask)) = PROMPTS.iter().find(|(field, _)| field == key) else {
            ignored.insert(key.clone(), value.clone());
            continue;
        };
        if value.is_null() {
            continue;
        }
        if !flag(template, ask) {
            // AWX only reports what differs from the template's own value.
            if template.get(key.as_str()) != Some(value) {
                ignored.insert(key.clone(), value.clone());
            }
            continue;
        }
        if SCALARS.iter().any(|(field, _)| field == key) {
            scalar(key, value, overrides, &mut errors);
        }
    }
    let asked = |key: &str| {
        PROMPTS
            .iter()
            .find(|(field, _)| *field == key)
            .is_some_and(|(_, ask)| flag(template, ask))
            && body.get(key).is_some_and(|v| !v.is_null())
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    if asked("inventory") {
        let id = reference(
            &*conn,
            caller,
            &body["inventory"],
            "inventory",
            "use_role",
            &mut errors,
        )
        .await?;
        overrides.inventory = id;
    }
    if asked("execution_environment") {
        let id = reference(
            &*conn,
            caller,
            &body["execution_environment"],
            "execution_environment",
            "",
            &mut errors,
        )
        .await?;
        overrides.execution_environment = id;
    }
    if asked("credentials") {
        let ids = id_list(&body["credentials"], "credentials", &mut errors);
        let mut usable = Vec::new();
        for id in ids {
            if let Some(id) = reference(
                &*conn,
                caller,
                &Value::from(id),
                "credential",
                "use_role",
                &mut errors,
            )
            .await?
            {
                usable.push(id);
            }
        }
        check_credential_types(&*conn, template, &usable, &mut errors).await?;
        overrides.credentials = Some(usable);
    }
    if asked("labels") {
        let ids = id_list(&body["labels"], "labels", &mut errors);
        let mut found = Vec::new();
        for id in ids {
            if let Some(id) =
                reference(&*conn, caller, &Value::from(id), "label", "", &mut errors).await?
            {
                found.push(id);
            }
        }
        overrides.labels = Some(found);
    }
    if asked("instance_groups") {
        let ids = id_list(&body["instance_groups"], "instance_groups", &mut errors);
        let mut found = Vec::new();
        for id in ids {
            if let Some(id) = reference(
                &*conn,
                caller,
                &Value::from(id),
                "instance_group",
                "",
                &mut errors,
            )
            .await?
            {
                found.push(id);
            }
        }
        overrides.instance_groups = Some(found);
    }
    if overrides.scm_branch.is_some() && !project_allows_override(&*conn, template).await? {
        push(
            &mut errors,
            "scm_branch",
            "Project does not allow overriding branch.",
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

fn scalar(key: &str, value: &Value, overrides: &mut Overrides, errors: &mut FieldErrors) {
    let text = || value.as_str().map(str::to_string);
    // The CLI sends numbers and booleans as text.
    let int = || match value {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let boolean = || match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    };
    match key {
        "limit" | "job_tags" | "skip_tags" | "scm_branch" => match text() {
            Some(text) => match key {
                "limit" => overrides.limit = Some(text),
                "job_tags" => overrides.job_tags = Some(text),
                "skip_tags" => overrides.skip_tags = Some(text),
                _ => overrides.scm_branch = Some(text),
            },
            None => push(errors, key, "Not a valid string."),
        },
        "job_type" => match text().filter(|t| t == "run" || t == "check") {
            Some(t) => overrides.job_type = Some(t),
            None => push(
                errors,
                key,
                format!(
                    "\"{}\" is not a valid choice.",
                    value.as_str().unwrap_or_default()
                ),
            ),
        },
        "diff_mode" => match boolean() {
            Some(b) => overrides.diff_mode = Some(b),
            None => push(errors, key, "Must be a valid boolean."),
        },
        "verbosity" => match int().filter(|v| (0..=5).contains(v)) {
            Some(v) => overrides.verbosity = Some(v),
            None => push(errors, key, format!("\"{value}\" is not a valid choice.")),
        },
        _ => match int() {
            Some(n) if n >= 0 && (key != "job_slice_count" || n >= 1) => match key {
                "forks" => overrides.forks = Some(n),
                "timeout" => overrides.timeout = Some(n),
                _ => overrides.job_slice_count = Some(n),
            },
            Some(_) => push(
                errors,
                key,
                "Ensure this value is greater than or equal to 0.",
            ),
            None => push(errors, key, "A valid integer is required."),
        },
    }
}

fn id_list(value: &Value, field: &str, errors: &mut FieldErrors) -> Vec<i64> {
    match value {
        Value::Array(items) => {
            let ids: Vec<i64> = items.iter().filter_map(Value::as_i64).collect();
            if ids.len() != items.len() {
                push(errors, field, "Expected a list of ids.");
            }
            ids
        }
        _ => {
            push(
                errors,
                field,
                format!(
                    "Expected a list of items but got type \"{}\".",
                    kind_name(value)
                ),
            );
            Vec::new()
        }
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "dict",
        Value::String(_) => "str",
        Value::Number(_) => "int",
        Value::Bool(_) => "bool",
        _ => "NoneType",
    }
}

/// An object the launch refers to: it must exist, and the caller must
/// hold `role` on it (when given).
async fn reference(
    conn: &impl Queryable,
    caller: &Caller,
    value: &Value,
    type_name: &str,
    role: &str,
    errors: &mut FieldErrors,
) -> Result<Option<i64>, ApiError> {
    let field = match type_name {
        "credential" => "credentials",
        "label" => "labels",
        "instance_group" => "instance_groups",
        other => other,
    };
    let Some(id) = value.as_i64() else {
        push(
            errors,
            field,
            format!(
                "Incorrect type. Expected pk value, received {}.",
                kind_name(value)
            ),
        );
        return Ok(None);
    };
    let table = match type_name {
        "inventory" => "inventories",
        "credential" => "credentials",
        "label" => "labels",
        "instance_group" => "instance_groups",
        _ => "execution_environments",
    };
    if !row_exists(conn, table, id).await? {
        push(errors, field, no_such_pk(id));
        return Ok(None);
    }
    if !role.is_empty() && !rbac::holds_role(conn, caller, type_name, id, role).await? {
        return Err(ApiError::PermissionDenied);
    }
    Ok(Some(id))
}

/// Launch credentials replace the template's, but each of the template's
/// credential types (each vault id) must still be there, and one of each.
async fn check_credential_types(
    conn: &impl Queryable,
    template: &Map<String, Value>,
    given: &[i64],
    errors: &mut FieldErrors,
) -> Result<(), ApiError> {
    let Some(template_id) = template.get("id").and_then(Value::as_i64) else {
        return Ok(());
    };
    let key = "credential_type_id::text || '/' || coalesce(inputs->>'vault_id', '')";
    let given_types: Vec<String> = conn
        .fetch(
            &format!("SELECT {key} FROM credentials WHERE id = ANY($1)"),
            &[&given],
        )
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut seen = std::collections::HashSet::new();
    for kind in &given_types {
        if !seen.insert(kind) {
            push(
                errors,
                "credentials",
                "Cannot assign multiple credentials of the same type.",
            );
            break;
        }
    }
    let missing: Vec<String> = conn
        .fetch(
            &format!(
                "SELECT c.name FROM job_template_credentials jc JOIN credentials c ON c.id = jc.credential_id
                  WHERE jc.job_template_id = $1 AND NOT ({key}) = ANY($2)"
            ),
            &[&template_id, &given_types],
        )
        .await
        .map_err(StoreError::from)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !missing.is_empty() {
        push(
            errors,
            "credentials",
            format!(
                "Job Template Credentials removed without replacement: {}.",
                missing.join(", ")
            ),
        );
    }
    Ok(())
}

async fn project_allows_override(
    conn: &impl Queryable,
    template: &Map<String, Value>,
) -> Result<bool, ApiError> {
    let Some(project) = template.get("project").and_then(Value::as_i64) else {
        return Ok(false);
    };
    Ok(conn
        .fetch_opt(
            "SELECT allow_override FROM projects WHERE id = $1",
            &[&project],
        )
        .await
        .map_err(StoreError::from)?
        .is_some_and(|r| r.get(0)))
}
