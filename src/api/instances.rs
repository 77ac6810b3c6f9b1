//! `/api/v2/instances/`: the nodes, from their heartbeat rows.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::pagination::Paging;
use super::time::{iso, iso_opt};
use crate::store::instances::{self, Instance};

/// An instance as AWX serializes one.
fn instance_json(instance: &Instance) -> Value {
    let url = format!("/api/v2/instances/{}/", instance.id);
    let remaining = if instance.capacity > 0 {
        let left = (i64::from(instance.capacity) - instance.consumed_capacity).max(0);
        (left as f64 * 100.0 / f64::from(instance.capacity) * 10.0).round() / 10.0
    } else {
        0.0
    };
    json!({
        "id": instance.id,
        "type": "instance",
        "url": url,
        "related": {
            "named_url": format!("/api/v2/instances/{}/", instance.hostname),
            "jobs": format!("{url}jobs/"),
            "instance_groups": format!("{url}instance_groups/"),
            "peers": format!("{url}peers/"),
            "receptor_addresses": format!("{url}receptor_addresses/"),
            "health_check": format!("{url}health_check/"),
        },
        "summary_fields": { "links": [] },
        "uuid": instance.uuid.to_string(),
        "hostname": instance.hostname,
        "created": iso(&instance.created),
        "modified": iso(&instance.modified),
        "last_seen": iso_opt(&instance.last_seen),
        "health_check_started": Value::Null,
        "health_check_pending": false,
        "last_health_check": iso_opt(&instance.last_health_check),
        "errors": instance.errors,
        "capacity_adjustment": format!("{:.2}", instance.capacity_adjustment),
        "version": instance.version,
        "capacity": instance.capacity,
        "consumed_capacity": instance.consumed_capacity,
        "percent_capacity_remaining": remaining,
        "jobs_running": instance.jobs_running,
        "jobs_total": instance.jobs_total,
        "cpu": format!("{:.1}", instance.cpu),
        "memory": instance.memory,
        "cpu_capacity": instance.cpu_capacity,
        "mem_capacity": instance.mem_capacity,
        "enabled": instance.enabled,
        "managed_by_policy": instance.managed_by_policy,
        "node_type": instance.node_type,
        "node_state": instance.node_state,
        "managed": instance.managed,
        "ip_address": instance.ip_address,
        "listener_port": instance.listener_port,
        "peers": [],
        "reverse_peers": [],
        "peers_from_control_nodes": instance.peers_from_control_nodes,
    })
}

/// One page of instances.
pub async fn list(
    state: State,
    req: HttpRequest,
    _caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_request(&req)?;
    let (count, rows) = instances::page(&state.db, paging.offset(), paging.limit()).await?;
    let results = rows.iter().map(instance_json).collect();
    Ok(HttpResponse::Ok().json(paging.envelope(&req, count, results)?))
}

/// One instance by id.
pub async fn detail(
    state: State,
    id: web::Path<String>,
    _caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let instance = instances::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(instance_json(&instance)))
}
