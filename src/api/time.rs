//! Timestamps as AWX writes them: ISO-8601 UTC with microseconds and `Z`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// A timestamp as a JSON string.
pub fn iso(at: &DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// An optional timestamp as a JSON string or null.
pub fn iso_opt(at: &Option<DateTime<Utc>>) -> Value {
    at.as_ref().map(iso).unwrap_or(Value::Null)
}
