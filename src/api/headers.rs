//! The headers AWX puts on every response.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use super::auth::AuthenticatedMarker;

/// The product name clients check: the awx.awx collection warns unless it is `AWX`.
pub const PRODUCT_NAME: &str = "AWX";
/// The AWX release whose API rawx speaks; the collection warns when the
/// major version differs from its own (24).
pub const PRODUCT_VERSION: &str = "24.6.1";

/// Adds `X-API-Product-Name`, `X-API-Node`, `X-API-Time`, and for
/// authenticated callers `X-API-Product-Version`, as AWX does.
pub async fn awx_headers(
    node_name: HeaderValue,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let mut res = next.call(req).await?;
    let authenticated = res.request().extensions().contains::<AuthenticatedMarker>();
    let elapsed = format!("{:.3}s", started.elapsed().as_secs_f64());
    let headers = res.headers_mut();
    headers.insert(
        HeaderName::from_static("x-api-product-name"),
        HeaderValue::from_static(PRODUCT_NAME),
    );
    headers.insert(HeaderName::from_static("x-api-node"), node_name);
    if let Ok(value) = HeaderValue::from_str(&elapsed) {
        headers.insert(HeaderName::from_static("x-api-time"), value);
    }
    if authenticated {
        headers.insert(
            HeaderName::from_static("x-api-product-version"),
            HeaderValue::from_static(PRODUCT_VERSION),
        );
    }
    Ok(res)
}
