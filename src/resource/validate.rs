//! A request body checked against a resource's fields: values coerced to
//! their kind, errors collected per field as AWX reports them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Default, Field, Kind, Resource};

/// Errors by field name (`__all__` for the object as a whole).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What the body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// POST: defaults fill absent fields; required ones must be there.
    Create,
    /// PUT: required fields must be there; absent others stay.
    Replace,
    /// PATCH: only what is there.
    Patch,
}

/// The placeholder secrets read back as; sending it back keeps the secret.
pub const ENCRYPTED: &str = "$encrypted$";

/// Adds `message` to `field`'s errors.
pub fn push(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

/// DRF's message for a reference to an object that does not exist.
pub fn no_such_pk(id: impl std::fmt::Display) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

/// The fields to write, with values coerced to their kind.
pub fn body(
    resource: &Resource,
    body: &Map<String, Value>,
    mode: Mode,
) -> Result<Vec<(&'static Field, Value)>, FieldErrors> {
    let mut out = Vec::new();
    let mut errors = FieldErrors::new();
    for field in resource.fields.iter().filter(|f| f.writable()) {
        if field.create_only && mode != Mode::Create {
            continue;
        }
        match body.get(field.name) {
            Some(raw) => {
                if field.secret && raw.as_str() == Some(ENCRYPTED) && mode != Mode::Create {
                    continue;
                }
                match coerce(field, raw) {
                    Ok(value) => out.push((field, value)),
                    Err(message) => push(&mut errors, field.name, message),
                }
            }
            None if field.required && mode != Mode::Patch => {
                push(&mut errors, field.name, "This field is required.");
            }
            None if mode == Mode::Create => {
                if let Some(value) = default_value(field) {
                    out.push((field, value));
                }
            }
            None => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The value a field takes on create when the body leaves it out.
pub fn default_value(field: &Field) -> Option<Value> {
    match field.default {
        Default::None => None,
        Default::Null => Some(Value::Null),
        Default::Str(s) => Some(Value::String(s.to_string())),
        Default::Int(i) => Some(Value::from(i)),
        Default::Bool(b) => Some(Value::Bool(b)),
        Default::EmptyObject => Some(Value::Object(Map::new())),
    }
}

/// Parses the loose booleans clients send (`true`, `1`, `"false"`, `"0"`...).
pub fn parse_bool(raw: &Value) -> Option<bool> {
    match raw {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn parse_int(raw: &Value) -> Option<i64> {
    match raw {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Checks and converts one value; the message is AWX's for that failure.
pub fn coerce(field: &Field, raw: &Value) -> Result<Value, String> {
    if raw.is_null() {
        if field.nullable {
            return Ok(Value::Null);
        }
        // AWX's serializers turn null into "" for optional text and choice
        // fields and into false for booleans (CharNullField, ChoiceNullField,
        // BooleanNullField); the awx.awx collection sends null for unset options.
        return match field.kind {
            _ if field.required => Err("This field may not be null.".into()),
            Kind::Str(_) | Kind::Choice(_) | Kind::VarsText => Ok(Value::String(String::new())),
            Kind::Bool => Ok(Value::Bool(false)),
            _ => Err("This field may not be null.".into()),
        };
    }
    match field.kind {
        Kind::Str(max) => {
            let text = match raw {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err("Not a valid string.".into()),
            };
            if let Some(max) = max
                && text.chars().count() > max as usize
            {
                return Err(format!(
                    "Ensure this field has no more than {max} characters."
                ));
            }
            if field.required && text.trim().is_empty() {
                return Err("This field may not be blank.".into());
            }
            Ok(Value::String(text))
        }
        Kind::Int(min, max) => {
            let value = parse_int(raw).ok_or("A valid integer is required.")?;
            if let Some(min) = min
                && value < min
            {
                return Err(format!(
                    "Ensure this value is greater than or equal to {min}."
                ));
            }
            if let Some(max) = max
                && value > max
            {
                return Err(format!("Ensure this value is less than or equal to {max}."));
            }
            Ok(Value::from(value))
        }
        Kind::Bool => parse_bool(raw)
            .map(Value::Bool)
            .ok_or_else(|| "Must be a valid boolean.".into()),
        Kind::Float => {
            let value = match raw {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            value
                .filter(|v| v.is_finite())
                .map(Value::from)
                .ok_or_else(|| "A valid number is required.".into())
        }
        Kind::Choice(choices) => {
            let text = match raw {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(format!("\"{raw}\" is not a valid choice.")),
            };
            if choices.iter().any(|(value, _)| *value == text) {
                Ok(Value::String(text))
            } else {
                Err(format!("\"{text}\" is not a valid choice."))
            }
        }
        Kind::IntChoice(choices) => {
            let value =
                parse_int(raw).ok_or_else(|| format!("\"{raw}\" is not a valid choice."))?;
            if choices.iter().any(|(choice, _)| *choice == value) {
                Ok(Value::from(value))
            } else {
                Err(format!("\"{value}\" is not a valid choice."))
            }
        }
        Kind::Fk(_) => match parse_int(raw) {
            Some(id) if id > 0 => Ok(Value::from(id)),
            Some(id) => Err(no_such_pk(id)),
            None => Err(format!(
                "Incorrect type. Expected pk value, received {}.",
                json_type_name(raw)
            )),
        },
        Kind::Json => Ok(raw.clone()),
        Kind::VarsText => match raw {
            Value::String(text) => {
                parse_vars(text)?;
                Ok(Value::String(text.clone()))
            }
            // AWX refuses objects here; clients send json.dumps text.
            _ => Err("Not a valid string.".into()),
        },
        Kind::DateTime => match raw {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Ok(raw.clone()),
            _ => Err("Datetime has wrong format.".into()),
        },
    }
}

/// Parses variables text (JSON or YAML) that must be a mapping; `""` is `{}`.
pub fn parse_vars(text: &str) -> Result<Map<String, Value>, String> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let parsed: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(_) => serde_yaml_ng::from_str(text).map_err(|err| {
            format!("Cannot parse as JSON (error: not valid JSON) or YAML (error: {err}).")
        })?,
    };
    match parsed {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err("Input type must be a dictionary.".into()),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cli_booleans_and_numbers_coerce() {
        let field = Field::boolean("enabled", "Enabled");
        assert_eq!(coerce(&field, &json!(1)), Ok(json!(true)));
        assert_eq!(coerce(&field, &json!("false")), Ok(json!(false)));
        assert!(coerce(&field, &json!("maybe")).is_err());
        let field = Field::int("forks", "Forks").bounds(Some(0), None);
        assert_eq!(coerce(&field, &json!("5")), Ok(json!(5)));
        assert!(coerce(&field, &json!(-1)).is_err());
    }

    #[test]
    fn null_means_blank_for_optional_text_and_false_for_booleans() {
        assert_eq!(
            coerce(&Field::text("description", "D"), &Value::Null),
            Ok(json!(""))
        );
        assert_eq!(
            coerce(&Field::boolean("enabled", "E"), &Value::Null),
            Ok(json!(false))
        );
        assert!(coerce(&Field::text("name", "N").required(), &Value::Null).is_err());
        assert!(coerce(&Field::int("forks", "F"), &Value::Null).is_err());
    }

    #[test]
    fn variables_must_be_a_mapping() {
        assert!(parse_vars("a: 1\nb: [2]").is_ok());
        assert!(parse_vars("{\"a\": 1}").is_ok());
        assert!(parse_vars("").is_ok());
        assert!(parse_vars("- 1\n- 2").is_err());
        assert!(parse_vars("a: [").is_err());
    }
}
