//! `GET /api/v2/metrics/`: Prometheus text, starting with the actors' health.

use std::fmt::Write;

use actix_web::HttpResponse;

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;

/// The actors' restarts and counters, for superusers and auditors.
pub async fn metrics(
    state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    if !caller.sees_all() {
        return Err(ApiError::PermissionDenied);
    }
    let mut out = String::new();
    let statuses = state.actors.statuses().await;
    let _ = writeln!(
        out,
        "# HELP rawx_actor_up Whether the actor answered its status message."
    );
    let _ = writeln!(out, "# TYPE rawx_actor_up gauge");
    for (name, status) in &statuses {
        let _ = writeln!(
            out,
            "rawx_actor_up{{actor=\"{name}\"}} {}",
            u8::from(status.is_some())
        );
    }
    let _ = writeln!(
        out,
        "# HELP rawx_actor_restarts_total Restarts by the actor's supervisor."
    );
    let _ = writeln!(out, "# TYPE rawx_actor_restarts_total counter");
    for (name, status) in &statuses {
        let restarts = status.as_ref().map(|s| s.restarts).unwrap_or_default();
        let _ = writeln!(
            out,
            "rawx_actor_restarts_total{{actor=\"{name}\"}} {restarts}"
        );
    }
    let _ = writeln!(out, "# HELP rawx_actor_counter Counters each actor keeps.");
    let _ = writeln!(out, "# TYPE rawx_actor_counter counter");
    for (name, status) in &statuses {
        for (counter, value) in status.iter().flat_map(|s| s.counters.iter()) {
            let _ = writeln!(
                out,
                "rawx_actor_counter{{actor=\"{name}\",counter=\"{counter}\"}} {value}"
            );
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}
