//! `GET /api/v2/ping/`: the cluster's instances and heartbeats, open to anyone.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::State;
use super::error::ApiError;
use super::headers::PRODUCT_VERSION;
use super::time::iso_opt;
use crate::store::instances;

/// Every instance and instance group, as AWX's ping shows them.
pub async fn ping(state: State) -> Result<HttpResponse, ApiError> {
    let (all, groups) = instances::ping_view(&state.db).await?;
    let listed: Vec<Value> = all
        .iter()
        .map(|instance| {
            json!({
                "node": instance.hostname,
                "node_type": instance.node_type,
                "uuid": instance.uuid.to_string(),
                "heartbeat": iso_opt(&instance.last_seen),
                "capacity": instance.capacity,
                "version": instance.version,
            })
        })
        .collect();
    let groups: Vec<Value> = groups
        .iter()
        .map(|group| json!({ "name": group.name, "capacity": group.capacity, "instances": group.instances }))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "ha": all.len() > 1,
        "version": PRODUCT_VERSION,
        "active_node": state.node.name,
        "install_uuid": state.install_uuid,
        "instances": listed,
        "instance_groups": groups,
    })))
}
