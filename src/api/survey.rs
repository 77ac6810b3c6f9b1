//! `/api/v2/{job_templates,workflow_job_templates}/N/survey_spec/`: the
//! questions a launch asks, validated as AWX validates them. Password
//! defaults are encrypted at rest and read back as `$encrypted$`.

use crate::api::routes::Routes;
use std::collections::HashSet;

use actix_web::web::{self, Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::readable;
use super::resource::{body, lookup, method_not_allowed};
use crate::crypto::fields::{PLACEHOLDER, is_encrypted, mask};
use crate::rbac;
use crate::resource::Resource;
use crate::resources::job_templates::JOB_TEMPLATE;
use crate::resources::workflow_job_templates::WORKFLOW_JOB_TEMPLATE;
use crate::store::{StoreError, surveys};

/// The question types a survey may ask.
pub const TYPES: [&str; 7] = [
    "text",
    "textarea",
    "password",
    "integer",
    "float",
    "multiplechoice",
    "multiselect",
];

/// Mounts the survey endpoints of both template kinds.
pub fn mount(routes: &mut Routes) {
    for (resource, table) in [
        (&JOB_TEMPLATE, "job_templates"),
        (&WORKFLOW_JOB_TEMPLATE, "workflow_job_templates"),
    ] {
        routes.service(
            &format!("/api/v2/{}/{{id}}/survey_spec/", resource.path),
            move |r| {
                r.route(web::get().to(move |s, p, c| get(resource, table, s, p, c)))
                    .route(
                        web::post().to(move |s, p, r, c, b| post(resource, table, s, p, r, c, b)),
                    )
                    .route(web::delete().to(move |s, p, c| delete(resource, table, s, p, c)))
                    .default_service(web::to(method_not_allowed))
            },
        );
    }
}

fn survey_error(message: impl Into<String>) -> ApiError {
    let mut errors = crate::resource::validate::FieldErrors::new();
    errors.insert("error".into(), vec![message.into()]);
    ApiError::Fields(errors)
}

async fn stored(state: &State, table: &str, id: i64) -> Result<Value, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    surveys::spec(&*conn, table, id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn get(
    resource: &'static Resource,
    table: &'static str,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    readable(&state, &caller, resource, id).await?;
    Ok(HttpResponse::Ok().json(mask(&stored(&state, table, id).await?)))
}

async fn may_change(
    state: &State,
    caller: &rbac::Caller,
    resource: &'static Resource,
    id: i64,
) -> Result<(), ApiError> {
    let row = readable(state, caller, resource, id).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let allowed =
        rbac::can_change_each(&*conn, caller, resource, std::slice::from_ref(&row)).await?;
    if allowed.first().copied().unwrap_or(false) {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

async fn post(
    resource: &'static Resource,
    table: &'static str,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    may_change(&state, &caller, resource, id).await?;
    let spec = body::object(&req, &bytes)?;
    let old = stored(&state, table, id).await?;
    let spec = validate(&state, spec, &old)?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    surveys::set_spec(&*conn, table, id, &Value::Object(spec)).await?;
    Ok(HttpResponse::Ok().finish())
}

async fn delete(
    resource: &'static Resource,
    table: &'static str,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    may_change(&state, &caller, resource, id).await?;
    let conn = state.db.get().await.map_err(StoreError::from)?;
    surveys::clear_spec(&*conn, table, id).await?;
    Ok(HttpResponse::Ok().finish())
}

fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    }
}

fn choices_of(question: &Map<String, Value>) -> Vec<String> {
    match question.get("choices") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(text)) => text
            .lines()
            .map(str::to_string)
            .filter(|c| !c.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks a survey; returns it with password defaults encrypted.
fn validate(
    state: &State,
    mut spec: Map<String, Value>,
    old: &Value,
) -> Result<Map<String, Value>, ApiError> {
    for key in ["name", "description"] {
        if !spec.get(key).is_some_and(Value::is_string) {
            return Err(survey_error(format!("'{key}' missing from survey spec.")));
        }
    }
    let Some(Value::Array(questions)) = spec.get("spec").cloned() else {
        return Err(survey_error(match spec.get("spec") {
            None => "'spec' doesn't exist.",
            Some(_) => "'spec' must be a list of items.",
        }));
    };
    if questions.is_empty() {
        return Err(survey_error("'spec' doesn't contain any items."));
    }
    let old_defaults: Map<String, Value> = old
        .get("spec")
        .and_then(Value::as_array)
        .map(|qs| {
            qs.iter()
                .filter_map(|q| {
                    Some((
                        q.get("variable")?.as_str()?.to_string(),
                        q.get("default")?.clone(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut variables = HashSet::new();
    let mut checked = Vec::new();
    for (index, question) in questions.into_iter().enumerate() {
        let Value::Object(mut question) = question else {
            return Err(survey_error(format!(
                "Survey question {index} is not a json object."
            )));
        };
        for key in ["type", "question_name", "variable", "required"] {
            if !question.contains_key(key) {
                return Err(survey_error(format!(
                    "'{key}' missing from survey question {index}."
                )));
            }
        }
        let kind = question
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !TYPES.contains(&kind.as_str()) {
            return Err(survey_error(format!(
                "'{kind}' in survey question {index} is not one of '{}' allowed question types.",
                TYPES.join(", ")
            )));
        }
        let variable = question
            .get("variable")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if variable.is_empty()
            || !variable
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(survey_error(format!(
                "'variable' in survey question {index} must be a valid variable name."
            )));
        }
        if !variables.insert(variable.clone()) {
            return Err(survey_error(format!(
                "'variable' '{variable}' duplicated in survey question {index}."
            )));
        }
        if !question.get("required").is_some_and(Value::is_boolean) {
            return Err(survey_error(format!(
                "'required' in survey question {index} must be a boolean."
            )));
        }
        let (min, max) = (
            question.get("min").and_then(as_f64),
            question.get("max").and_then(as_f64),
        );
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(survey_error(format!(
                "'min' is greater than 'max' in survey question {index}."
            )));
        }
        let default = question.get("default").cloned().unwrap_or(Value::Null);
        let has_default = !(default.is_null() || default == "");
        match kind.as_str() {
            "multiplechoice" | "multiselect" => {
                let choices = choices_of(&question);
                if choices.is_empty() {
                    return Err(survey_error(format!(
                        "Survey question {index} of type {kind} must have 'choices'."
                    )));
                }
                if has_default {
                    let picked: Vec<String> = match &default {
                        Value::String(s) if kind == "multiselect" => {
                            s.lines().map(str::to_string).collect()
                        }
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        Value::String(s) => vec![s.clone()],
                        _ => vec![String::new()],
                    };
                    if let Some(bad) = picked.iter().find(|p| !choices.contains(p)) {
                        return Err(survey_error(format!(
                            "Default choice '{bad}' must be in 'choices' for survey question {index}."
                        )));
                    }
                }
            }
            "integer" | "float" => {
                if has_default {
                    let number = as_f64(&default)
                        .filter(|n| kind == "float" || n.fract() == 0.0)
                        .ok_or_else(|| survey_error(format!("Default value {default} in survey question {index} expected to be {kind}.")))?;
                    if min.is_some_and(|m| number < m) || max.is_some_and(|m| number > m) {
                        return Err(survey_error(format!(
                            "Default value {default} in survey question {index} is out of the min/max range."
                        )));
                    }
                }
            }
            _ => {
                if has_default {
                    let Some(text) = default.as_str() else {
                        return Err(survey_error(format!(
                            "Default value {default} in survey question {index} expected to be a string."
                        )));
                    };
                    let length = text.chars().count() as f64;
                    let is_placeholder = kind == "password" && text == PLACEHOLDER;
                    if !is_placeholder
                        && (min.is_some_and(|m| length < m) || max.is_some_and(|m| length > m))
                    {
                        return Err(survey_error(format!(
                            "The default of survey question {index} is outside the min/max length."
                        )));
                    }
                }
            }
        }
        if kind == "password" && has_default {
            let text = default.as_str().unwrap_or_default();
            let stored = if text == PLACEHOLDER {
                match old_defaults.get(&variable).filter(|v| is_encrypted(v)) {
                    Some(previous) => previous.clone(),
                    None => {
                        return Err(survey_error(format!(
                            "$encrypted$ is a reserved keyword for password question defaults, survey question {index}."
                        )));
                    }
                }
            } else {
                Value::String(
                    state
                        .cipher
                        .encrypt(&format!("survey:{variable}"), text)
                        .map_err(|err| ApiError::Internal(err.to_string()))?,
                )
            };
            question.insert("default".into(), stored);
        }
        checked.push(Value::Object(question));
    }
    spec.insert("spec".into(), Value::Array(checked));
    Ok(spec)
}

/// For tests and the launch code: the questions of a stored survey.
pub fn questions(spec: &Value) -> Vec<Map<String, Value>> {
    spec.get("spec")
        .and_then(Value::as_array)
        .map(|qs| qs.iter().filter_map(|q| q.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// Checks the survey's answers in `vars` (answers and defaults merged) the
/// way AWX does; returns AWX's messages, empty when all is well.
pub fn check_answers(questions: &[Map<String, Value>], vars: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    for question in questions {
        let Some(name) = question.get("variable").and_then(Value::as_str) else {
            continue;
        };
        let kind = question
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("text");
        let required = question
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let value = match vars.get(name) {
            None | Some(Value::Null) => {
                if required {
                    errors.push(format!("'{name}' value missing"));
                }
                continue;
            }
            Some(Value::String(text)) if text.is_empty() && !required => continue,
            Some(value) => value,
        };
        let shown = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let bound = |key: &str| question.get(key).and_then(as_f64);
        match kind {
            "text" | "textarea" | "password" => {
                let Value::String(text) = value else {
                    errors.push(format!(
                        "Value {shown} for '{name}' expected to be a string."
                    ));
                    continue;
                };
                // An unchanged password keeps its (encrypted) default.
                if kind == "password" && text == "$encrypted$" {
                    continue;
                }
                let length = text.chars().count() as f64;
                if let Some(min) = bound("min")
                    && length < min
                {
                    errors.push(format!(
                        "'{name}' value {shown} is too small (length is {length} must be at least {min})."
                    ));
                }
                if let Some(max) = bound("max")
                    && length > max
                {
                    errors.push(format!(
                        "'{name}' value {shown} is too large (must be no more than {max})."
                    ));
                }
            }
            "integer" | "float" => {
                let number = match (kind, value) {
                    ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => n.as_f64(),
                    ("float", Value::Number(n)) => n.as_f64(),
                    _ => None,
                };
                let Some(number) = number else {
                    errors.push(if kind == "integer" {
                        format!("Value {shown} for '{name}' expected to be an integer.")
                    } else {
                        format!("Value {shown} for '{name}' expected to be a numeric type.")
                    });
                    continue;
                };
                if let Some(min) = bound("min")
                    && number < min
                {
                    errors.push(format!(
                        "'{name}' value {shown} is too small (must be at least {min})."
                    ));
                }
                if let Some(max) = bound("max")
                    && number > max
                {
                    errors.push(format!(
                        "'{name}' value {shown} is too large (must be no more than {max})."
                    ));
                }
            }
            "multiplechoice" => {
                let choices = choices_of(question);
                if !value
                    .as_str()
                    .is_some_and(|v| choices.iter().any(|c| c == v))
                {
                    errors.push(format!(
                        "Value {shown} for '{name}' expected to be one of {choices:?}."
                    ));
                }
            }
            "multiselect" => {
                let choices = choices_of(question);
                let Value::Array(picked) = value else {
                    errors.push(format!("'{name}' value is expected to be a list."));
                    continue;
                };
                for item in picked {
                    if !item
                        .as_str()
                        .is_some_and(|v| choices.iter().any(|c| c == v))
                    {
                        errors.push(format!(
                            "Value {item} for '{name}' expected to be one of {choices:?}."
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn answers_are_checked_as_awx_checks_them() {
        let questions = super::questions(&json!({"spec": [
            {"variable": "name", "type": "text", "required": true, "min": 2, "max": 5},
            {"variable": "count", "type": "integer", "min": 1, "max": 3},
            {"variable": "ratio", "type": "float"},
            {"variable": "size", "type": "multiplechoice", "choices": ["s", "m"]},
            {"variable": "tags", "type": "multiselect", "choices": "a\nb"},
            {"variable": "secret", "type": "password", "required": true}
        ]}));
        let vars = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        assert!(
            super::check_answers(
                &questions,
                &vars(json!({"name": "ok", "secret": "$encrypted$",
            "count": 2, "ratio": 0.5, "size": "m", "tags": ["a"]}))
            )
            .is_empty()
        );
        let errors = super::check_answers(
            &questions,
            &vars(json!({"name": "x", "count": "2",
            "ratio": "a", "size": "xl", "tags": "a"})),
        );
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors.contains(&"'secret' value missing".to_string()));
        assert!(errors[0].starts_with("'name' value x is too small"));
        assert!(
            errors
                .iter()
                .any(|e| e == "Value 2 for 'count' expected to be an integer.")
        );
        assert!(
            errors
                .iter()
                .any(|e| e == "'tags' value is expected to be a list.")
        );
        let errors = super::check_answers(
            &questions,
            &vars(json!({"name": "toolong", "secret": "s", "count": 9})),
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn question_types_are_awx_s() {
        assert!(super::TYPES.contains(&"multiselect"));
        assert_eq!(
            super::questions(&serde_json::json!({"spec": [{"variable": "a"}]})).len(),
            1
        );
    }
}
