//! Query strings as AWX reads them: `field__lookup=value`, `not__`, `or__`,
//! related lookups across foreign keys, `search=` and `order_by=`, checked
//! against the resource's declaration before any SQL exists.

use chrono::{DateTime, Utc};

use super::validate::parse_bool;
use super::{Field, Kind, Resource};

/// Query parameters that are never filters.
const RESERVED: [&str; 13] = [
    "page",
    "page_size",
    "format",
    "order",
    "order_by",
    "search",
    "type",
    "host_filter",
    "count_disabled",
    "no_truncate",
    "limit",
    "validate",
    "role_level",
];

/// How a field is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Exact,
    IExact,
    Contains,
    IContains,
    StartsWith,
    IStartsWith,
    EndsWith,
    IEndsWith,
    Regex,
    IRegex,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    IsNull,
}

impl Lookup {
    fn parse(name: &str) -> Option<Lookup> {
        Some(match name {
            "exact" => Lookup::Exact,
            "iexact" => Lookup::IExact,
            "contains" => Lookup::Contains,
            "icontains" => Lookup::IContains,
            "startswith" => Lookup::StartsWith,
            "istartswith" => Lookup::IStartsWith,
            "endswith" => Lookup::EndsWith,
            "iendswith" => Lookup::IEndsWith,
            "regex" => Lookup::Regex,
            "iregex" => Lookup::IRegex,
            "gt" => Lookup::Gt,
            "gte" => Lookup::Gte,
            "lt" => Lookup::Lt,
            "lte" => Lookup::Lte,
            "in" => Lookup::In,
            "isnull" => Lookup::IsNull,
            _ => return None,
        })
    }

    fn is_text(self) -> bool {
        matches!(
            self,
            Lookup::IExact
                | Lookup::Contains
                | Lookup::IContains
                | Lookup::StartsWith
                | Lookup::IStartsWith
                | Lookup::EndsWith
                | Lookup::IEndsWith
                | Lookup::Regex
                | Lookup::IRegex
        )
    }
}

/// A filter value, typed by the field it compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    TextList(Vec<String>),
    IntList(Vec<i64>),
}

/// One hop across a foreign key: the field on the current resource and the
/// resource it points to.
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    pub field: &'static Field,
    pub target: &'static Resource,
}

/// One condition.
#[derive(Debug, Clone)]
pub struct Term {
    pub hops: Vec<Hop>,
    pub field: &'static Field,
    pub lookup: Lookup,
    pub value: Typed,
    pub negate: bool,
}

/// A whole query string, checked.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// ANDed together.
    pub all: Vec<Term>,
    /// ORed together, then ANDed with the rest.
    pub any: Vec<Term>,
    pub search: Option<String>,
    /// (field, descending).
    pub order: Vec<(&'static Field, bool)>,
}

/// Why a query string was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error("{0}")]
    Invalid(String),
    /// Filtering on secrets is refused outright (403 in AWX).
    #[error("Filtering on {0} is not allowed.")]
    Forbidden(String),
}

/// Parses `pairs` for `resource`; `resolve` finds a resource by type name.
pub fn parse(
    resource: &'static Resource,
    pairs: &[(String, String)],
    resolve: fn(&str) -> Option<&'static Resource>,
) -> Result<Query, FilterError> {
    let mut query = Query::default();
    for (key, value) in pairs {
        match key.as_str() {
            "search" => {
                if !value.is_empty() {
                    query.search = Some(value.clone());
                }
                continue;
            }
            "order_by" | "order" => {
                query.order = parse_order(resource, value)?;
                continue;
            }
            key if RESERVED.contains(&key) => continue,
            _ => {}
        }
        let mut rest = key.as_str();
        let mut or = false;
        let mut negate = false;
        loop {
            if let Some(tail) = rest.strip_prefix("or__") {
                or = true;
                rest = tail;
            } else if let Some(tail) = rest.strip_prefix("not__") {
                negate = !negate;
                rest = tail;
            } else {
                break;
            }
        }
        let term = parse_term(resource, rest, value, negate, resolve)?;
        if or {
            query.any.push(term);
        } else {
            query.all.push(term);
        }
    }
    Ok(query)
}

fn parse_order(
    resource: &Resource,
    value: &str,
) -> Result<Vec<(&'static Field, bool)>, FilterError> {
    let mut order = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, descending) = match part.strip_prefix('-') {
            Some(name) => (name, true),
            None => (part, false),
        };
        let field = resource
            .field(name)
            .filter(|f| f.filterable && !f.secret)
            .ok_or_else(|| FilterError::Invalid(format!("Cannot order by field \"{name}\".")))?;
        order.push((field, descending));
    }
    Ok(order)
}

fn parse_term(
    resource: &'static Resource,
    key: &str,
    raw: &str,
    negate: bool,
    resolve: fn(&str) -> Option<&'static Resource>,
) -> Result<Term, FilterError> {
    let parts: Vec<&str> = key.split("__").collect();
    let mut current = resource;
    let mut hops = Vec::new();
    let mut index = 0;
    loop {
        let Some(name) = parts.get(index) else {
            return Err(FilterError::Invalid(format!("Invalid filter \"{key}\".")));
        };
        let field = current.field(name).ok_or_else(|| {
            FilterError::Invalid(format!(
                "Cannot filter on field \"{name}\" of {}: no such field.",
                current.type_name
            ))
        })?;
        if field.secret || field.write_only {
            return Err(FilterError::Forbidden(name.to_string()));
        }
        if !field.filterable {
            return Err(FilterError::Invalid(format!(
                "Filtering on {name} is not supported."
            )));
        }
        let next = parts.get(index + 1).copied();
        match (field.kind, next) {
            // `organization__name`: cross to the target unless the next part is a lookup.
            (Kind::Fk(target), Some(next)) if Lookup::parse(next).is_none() => {
                let target = resolve(target).ok_or_else(|| {
                    FilterError::Invalid(format!("Cannot filter across \"{name}\"."))
                })?;
                hops.push(Hop { field, target });
                current = target;
                index += 1;
            }
            (_, next) => {
                let lookup = match next {
                    None => Lookup::Exact,
                    Some(name) => Lookup::parse(name).ok_or_else(|| {
                        FilterError::Invalid(format!("Unsupported lookup \"{name}\" in \"{key}\"."))
                    })?,
                };
                if parts.len() > index + 2 {
                    return Err(FilterError::Invalid(format!("Invalid filter \"{key}\".")));
                }
                let value = typed_value(field, lookup, raw, key)?;
                return Ok(Term {
                    hops,
                    field,
                    lookup,
                    value,
                    negate,
                });
            }
        }
    }
}

fn typed_value(field: &Field, lookup: Lookup, raw: &str, key: &str) -> Result<Typed, FilterError> {
    let bad = || FilterError::Invalid(format!("Invalid value \"{raw}\" for filter \"{key}\"."));
    if lookup == Lookup::IsNull {
        return parse_bool(&serde_json::Value::String(raw.to_string()))
            .map(Typed::Bool)
            .ok_or_else(bad);
    }
    if lookup.is_text() {
        return match field.kind {
            Kind::Str(_) | Kind::Choice(_) | Kind::VarsText | Kind::Json => {
                Ok(Typed::Text(raw.to_string()))
            }
            _ => Err(FilterError::Invalid(format!(
                "Lookup \"{key}\" needs a text field; {} is not one.",
                field.name
            ))),
        };
    }
    let one = |text: &str| -> Result<Typed, FilterError> {
        match field.kind {
            Kind::Str(_) | Kind::Choice(_) | Kind::VarsText | Kind::Json => {
                Ok(Typed::Text(text.to_string()))
            }
            Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => {
                text.trim().parse().map(Typed::Int).map_err(|_| bad())
            }
            Kind::Float => text.trim().parse().map(Typed::Float).map_err(|_| bad()),
            Kind::Bool => parse_bool(&serde_json::Value::String(text.to_string()))
                .map(Typed::Bool)
                .ok_or_else(bad),
            Kind::DateTime => parse_time(text).map(Typed::Time).ok_or_else(bad),
        }
    };
    if lookup == Lookup::In {
        let items: Vec<&str> = raw.split(',').collect();
        return match field.kind {
            Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => items
                .iter()
                .map(|item| item.trim().parse::<i64>().map_err(|_| bad()))
                .collect::<Result<Vec<_>, _>>()
                .map(Typed::IntList),
            Kind::Str(_) | Kind::Choice(_) => Ok(Typed::TextList(
                items.iter().map(|s| s.to_string()).collect(),
            )),
            _ => Err(FilterError::Invalid(format!(
                "Lookup \"{key}\" is not supported on {}.",
                field.name
            ))),
        };
    }
    one(raw)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}
