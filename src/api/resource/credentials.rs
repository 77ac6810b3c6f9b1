//! Credentials' inputs checked against their type and encrypted; custom
//! credential types checked as AWX checks them.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::api::State;
use crate::api::error::ApiError;
use crate::crypto::fields::{PLACEHOLDER, is_encrypted};
use crate::resource::Field;
use crate::resource::validate::{self, FieldErrors, parse_bool};
use crate::store::credential_types;

fn value_of<'a>(values: &'a [(&'static Field, Value)], name: &str) -> Option<&'a Value> {
    values.iter().find(|(f, _)| f.name == name).map(|(_, v)| v)
}

/// The declared input fields of a type: `(id, type, secret, choices)`.
fn input_fields(schema: &Value) -> Vec<(String, String, bool, Option<Vec<String>>)> {
    schema
        .get("fields")
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| {
                    let id = f.get("id")?.as_str()?.to_string();
                    let kind = f
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string")
                        .to_string();
                    let secret = f.get("secret").and_then(Value::as_bool).unwrap_or(false);
                    let choices = f.get("choices").and_then(Value::as_array).map(|c| {
                        c.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    });
                    Some((id, kind, secret, choices))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A new credential belongs to exactly one of a user, a team or an organization.
pub fn require_owner(values: &[(&'static Field, Value)]) -> Result<(), ApiError> {
    let owners = ["user", "team", "organization"]
        .iter()
        .filter(|name| value_of(values, name).is_some_and(|v| !v.is_null()))
        .count();
    if owners == 0 {
        return Err(ApiError::BadRequest(
            "Missing 'user', 'team', or 'organization'.".into(),
        ));
    }
    Ok(())
}

/// Checks `inputs` against the credential's type, keeps secrets sent back as
/// `$encrypted$`, and encrypts the new ones.
pub async fn prepare(
    state: &State,
    values: &mut [(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let Some(position) = values.iter().position(|(f, _)| f.name == "inputs") else {
        return Ok(());
    };
    let type_id = value_of(values, "credential_type")
        .or_else(|| existing.and_then(|e| e.get("credential_type")))
        .and_then(Value::as_i64);
    let mut errors = FieldErrors::new();
    let Some(type_id) = type_id else {
        validate::push(&mut errors, "credential_type", "This field is required.");
        return Err(ApiError::Fields(errors));
    };
    let Some((_, schema, _)) = credential_types::get(&state.db, type_id).await? else {
        validate::push(
            &mut errors,
            "credential_type",
            validate::no_such_pk(type_id),
        );
        return Err(ApiError::Fields(errors));
    };
    let sent = match &values[position].1 {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        Value::String(text) => validate::parse_vars(text).map_err(|msg| {
            let mut errors = FieldErrors::new();
            validate::push(&mut errors, "inputs", msg);
            ApiError::Fields(errors)
        })?,
        _ => {
            validate::push(&mut errors, "inputs", "Must be an object.");
            return Err(ApiError::Fields(errors));
        }
    };
    let old = existing
        .and_then(|e| e.get("inputs"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let fields = input_fields(&schema);
    let mut stored = Map::new();
    for (key, value) in sent {
        let Some((id, kind, secret, choices)) = fields.iter().find(|(id, ..)| *id == key) else {
            validate::push(
                &mut errors,
                "inputs",
                format!("Additional properties are not allowed ('{key}' was unexpected)."),
            );
            continue;
        };
        let value = if kind == "boolean" {
            match parse_bool(&value) {
                Some(b) => Value::Bool(b),
                None => {
                    validate::push(&mut errors, "inputs", format!("{id}: must be a boolean."));
                    continue;
                }
            }
        } else {
            match value {
                Value::String(s) => Value::String(s),
                Value::Null => continue,
                _ => {
                    validate::push(&mut errors, "inputs", format!("{id}: must be a string."));
                    continue;
                }
            }
        };
        if let (Some(choices), Some(text)) = (choices, value.as_str())
            && !text.is_empty()
            && !choices.iter().any(|c| c == text)
        {
            validate::push(
                &mut errors,
                "inputs",
                format!("{id}: \"{text}\" is not a valid choice."),
            );
            continue;
        }
        let value = match (secret, value.as_str()) {
            (true, Some(PLACEHOLDER)) => match old.get(id) {
                Some(previous) => previous.clone(),
                None => continue,
            },
            // "ASK" means: prompt for it at launch; it is not a secret.
            (true, Some(text)) if !text.is_empty() && text != "ASK" && !is_encrypted(&value) => {
                Value::String(
                    state
                        .cipher
                        .encrypt(id, text)
                        .map_err(|err| ApiError::Internal(err.to_string()))?,
                )
            }
            _ => value,
        };
        stored.insert(id.clone(), value);
    }
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for id in required {
        if stored.get(&id).is_none_or(|v| v.is_null() || v == "") {
            validate::push(
                &mut errors,
                "inputs",
                format!("'{id}' is a required field."),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    values[position].1 = Value::Object(stored);
    Ok(())
}

/// Managed types are read-only; custom ones must be `cloud` or `net` with
/// well-formed `inputs` and `injectors`.
pub fn prepare_type(
    values: &mut [(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    if existing.and_then(|e| e.get("managed")) == Some(&Value::Bool(true)) {
        return Err(ApiError::Forbidden(
            "Modifications not allowed for managed credential types".into(),
        ));
    }
    let mut errors = FieldErrors::new();
    if let Some(kind) = value_of(values, "kind").and_then(Value::as_str)
        && kind != "cloud"
        && kind != "net"
    {
        validate::push(
            &mut errors,
            "kind",
            "Must be 'cloud' or 'net', not ".to_string() + kind,
        );
    }
    let mut ids: HashSet<String> = HashSet::new();
    if let Some(inputs) = value_of(values, "inputs") {
        check_inputs(inputs, &mut ids, &mut errors);
    } else if let Some(old) = existing.and_then(|e| e.get("inputs")) {
        check_inputs(old, &mut ids, &mut FieldErrors::new());
    }
    if let Some(injectors) = value_of(values, "injectors") {
        check_injectors(injectors, &ids, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

fn check_inputs(inputs: &Value, ids: &mut HashSet<String>, errors: &mut FieldErrors) {
    let Some(map) = inputs.as_object() else {
        validate::push(errors, "inputs", "Must be an object.");
        return;
    };
    for key in map.keys() {
        if key != "fields" && key != "required" && key != "dependencies" {
            validate::push(
                errors,
                "inputs",
                format!("Additional properties are not allowed ('{key}' was unexpected)."),
            );
        }
    }
    let fields = match map.get("fields") {
        None => Vec::new(),
        Some(Value::Array(fields)) => fields.clone(),
        Some(_) => {
            validate::push(errors, "inputs", "'fields' must be an array.");
            return;
        }
    };
    for (index, field) in fields.iter().enumerate() {
        let Some(object) = field.as_object() else {
            validate::push(
                errors,
                "inputs",
                format!("fields[{index}] must be an object."),
            );
            continue;
        };
        let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
        let valid_id = !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !id.starts_with(|c: char| c.is_ascii_digit());
        if !valid_id {
            validate::push(
                errors,
                "inputs",
                format!("fields[{index}]: 'id' must be a valid identifier."),
            );
        } else if !ids.insert(id.to_string()) {
            validate::push(
                errors,
                "inputs",
                format!("fields[{index}]: duplicate id '{id}'."),
            );
        }
        if !object.get("label").is_some_and(Value::is_string) {
            validate::push(
                errors,
                "inputs",
                format!("fields[{index}]: 'label' is required."),
            );
        }
        match object.get("type").and_then(Value::as_str) {
            None | Some("string") | Some("boolean") => {}
            Some(other) => validate::push(
                errors,
                "inputs",
                format!("fields[{index}]: type '{other}' is not one of 'string', 'boolean'."),
            ),
        }
    }
    if let Some(required) = map.get("required") {
        match required.as_array() {
            Some(list) => {
                for id in list {
                    if !id.as_str().is_some_and(|id| ids.contains(id)) {
                        validate::push(
                            errors,
                            "inputs",
                            format!("required: {id} is not a declared field."),
                        );
                    }
                }
            }
            None => validate::push(errors, "inputs", "'required' must be an array."),
        }
    }
}

fn check_injectors(injectors: &Value, ids: &HashSet<String>, errors: &mut FieldErrors) {
    let Some(map) = injectors.as_object() else {
        validate::push(errors, "injectors", "Must be an object.");
        return;
    };
    for (section, entries) in map {
        if !matches!(section.as_str(), "env" | "extra_vars" | "file") {
            validate::push(
                errors,
                "injectors",
                format!("Additional properties are not allowed ('{section}' was unexpected)."),
            );
            continue;
        }
        let Some(entries) = entries.as_object() else {
            validate::push(
                errors,
                "injectors",
                format!("'{section}' must be an object."),
            );
            continue;
        };
        for (name, template) in entries {
            if section == "file" && name != "template" && !name.starts_with("template.") {
                validate::push(
                    errors,
                    "injectors",
                    format!("file: '{name}' must be 'template' or 'template.<name>'."),
                );
            }
            let Some(text) = template.as_str() else {
                validate::push(
                    errors,
                    "injectors",
                    format!("{section}.{name} must be a string."),
                );
                continue;
            };
            for used in referenced_names(text) {
                if used != "tower" && used != "awx" && !ids.contains(&used) {
                    validate::push(
                        errors,
                        "injectors",
                        format!(
                            "{section}.{name} uses {{{{ {used} }}}}, which is not a field of this type."
                        ),
                    );
                }
            }
        }
    }
}

/// The first identifier of every `{{ ... }}` in a template.
fn referenced_names(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split("}}").next())
        .map(|expr| {
            expr.trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}
