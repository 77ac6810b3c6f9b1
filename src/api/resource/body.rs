//! Request bodies: one JSON object, or a clear 400/415.

use actix_web::HttpRequest;
use actix_web::web::Bytes;
use serde_json::{Map, Value};

use crate::api::error::ApiError;

/// The body as a JSON object; an empty body is `{}`.
pub fn object(req: &HttpRequest, bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if let Some(content_type) = req.headers().get(actix_web::http::header::CONTENT_TYPE) {
        let content_type = content_type.to_str().unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.is_empty() && essence != "application/json" && !bytes.is_empty() {
            return Err(ApiError::UnsupportedMediaType(content_type.to_string()));
        }
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "JSON parse error - the body must be a JSON object".into(),
        )),
        Err(err) => Err(ApiError::BadRequest(format!("JSON parse error - {err}"))),
    }
}
