//! AWX's page-number pagination: `{count, next, previous, results}`.

use actix_web::HttpRequest;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Items per page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: i64 = 25;
/// The largest `page_size` honoured; larger requests are capped.
pub const MAX_PAGE_SIZE: i64 = 200;

/// The page a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

impl Paging {
    /// Reads `page` and `page_size` from the query string.
    pub fn from_request(req: &HttpRequest) -> Result<Paging, ApiError> {
        let mut paging = Paging {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        };
        for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
            match key.as_ref() {
                "page" => {
                    paging.page = value
                        .parse::<i64>()
                        .ok()
                        .filter(|page| *page >= 1)
                        .ok_or(ApiError::InvalidPage)?;
                }
                "page_size" => {
                    let size = value
                        .parse::<i64>()
                        .ok()
                        .filter(|size| *size >= 1)
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "page_size: `{value}` is not a positive integer"
                            ))
                        })?;
                    paging.page_size = size.min(MAX_PAGE_SIZE);
                }
                _ => {}
            }
        }
        Ok(paging)
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// Rows to fetch.
    pub fn limit(&self) -> i64 {
        self.page_size
    }

    /// The envelope around one page of `results` out of `count`; a page past
    /// the end (other than an empty first page) is 404, as in AWX.
    pub fn envelope(
        &self,
        req: &HttpRequest,
        count: i64,
        results: Vec<Value>,
    ) -> Result<Value, ApiError> {
        let last_page = ((count + self.page_size - 1) / self.page_size).max(1);
        if self.page > last_page {
            return Err(ApiError::InvalidPage);
        }
        let link = |page: i64| Value::String(page_url(req, page));
        let next = if self.page < last_page {
            link(self.page + 1)
        } else {
            Value::Null
        };
        let previous = if self.page > 1 {
            link(self.page - 1)
        } else {
            Value::Null
        };
        // Built by hand: `json!` would copy every result through the
        // serializer (a third of a 200-host page's CPU under perf).
        let mut envelope = Map::with_capacity(4);
        envelope.insert("count".into(), Value::from(count));
        envelope.insert("next".into(), next);
        envelope.insert("previous".into(), previous);
        envelope.insert("results".into(), Value::Array(results));
        Ok(Value::Object(envelope))
    }
}

/// The request's path and query with `page` set to `page`.
fn page_url(req: &HttpRequest, page: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if key != "page" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("{}?{}", req.path(), query.finish())
}
