//! The mesh on a control node's API: join tokens, joining, and AWX's mesh
//! visualizer.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use actors::mesh_router::View;
use serde::Deserialize;
use serde_json::json;

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use crate::crypto::random;
use crate::node::mesh::{ControlMesh, JoinRequestBody, JoinResponseBody, from_hex};
use crate::store;

/// The control node's mesh, registered by `node::serve`.
pub type Mesh = web::Data<Arc<ControlMesh>>;

/// How long a join token is valid unless asked otherwise.
pub const DEFAULT_TOKEN_SECONDS: i64 = 3600;
/// The longest validity a token may be given: a day.
const MAX_TOKEN_SECONDS: i64 = 24 * 3600;

/// A new one-time token: 32 random alphanumerics (≈190 bits).
pub fn new_token() -> Result<String, random::RandomError> {
    random::alphanumeric(32)
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    /// Seconds the token stays valid.
    expires_in: Option<i64>,
    /// The role of the node it admits: execution (default) or hop.
    node_type: Option<String>,
}

/// `POST /api/v2/mesh/join_tokens/`: superusers only. The token is shown in
/// this answer and never again.
pub async fn create_join_token(
    state: State,
    Authenticated(caller): Authenticated,
    body: Option<web::Json<TokenRequest>>,
) -> Result<HttpResponse, ApiError> {
    if !caller.is_superuser() || caller.read_only {
        return Err(ApiError::PermissionDenied);
    }
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let seconds = body.expires_in.unwrap_or(DEFAULT_TOKEN_SECONDS);
    let node_type = body.node_type.unwrap_or_else(|| "execution".into());
    if !matches!(node_type.as_str(), "execution" | "hop") {
        return Err(ApiError::BadRequest(
            "node_type: only execution and hop nodes join through the mesh.".into(),
        ));
    }
    if !(1..=MAX_TOKEN_SECONDS).contains(&seconds) {
        return Err(ApiError::BadRequest(format!(
            "expires_in: must be between 1 and {MAX_TOKEN_SECONDS} seconds"
        )));
    }
    let token = new_token().map_err(|err| ApiError::Internal(err.to_string()))?;
    let created =
        store::mesh::create_token(&state.db, &token, &node_type, seconds, Some(caller.user.id))
            .await?;
    Ok(HttpResponse::Created().json(json!({
        "id": created.id,
        "token": token,
        "node_type": node_type,
        "expires": super::time::iso(&created.expires),
    })))
}

/// `POST /api/v2/mesh/join/`: a node presenting a join token gets its
/// certificate. The token is the authentication; the node's private key
/// never leaves it.
pub async fn join(
    state: State,
    mesh: Option<Mesh>,
    body: web::Json<JoinRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let Some(mesh) = mesh else {
        return Err(ApiError::BadRequest("This node has no mesh.".into()));
    };
    let body = body.into_inner();
    let Some(address) = mesh.address else {
        return Err(ApiError::BadRequest(
            "This controller runs no mesh node (set mesh_listen): a joined node could not reach it."
                .into(),
        ));
    };
    if !matches!(body.node_type.as_str(), "execution" | "hop") {
        return Err(ApiError::BadRequest(
            "node_type: only execution and hop nodes join through the mesh.".into(),
        ));
    }
    let node = ::mesh::NodeId::new(body.hostname.clone())
        .map_err(|err| ApiError::BadRequest(format!("hostname: {err}")))?;
    let (ip_address, listener_port) = if body.listener_address.is_empty() {
        (String::new(), None)
    } else {
        let addr: std::net::SocketAddr = body.listener_address.parse().map_err(|_| {
            ApiError::BadRequest("listener_address: not an address like 10.0.0.5:27199".into())
        })?;
        (addr.ip().to_string(), Some(i32::from(addr.port())))
    };
    let public_key = from_hex(&body.public_key)
        .ok_or_else(|| ApiError::BadRequest("public_key: not hex".into()))?;
    // Signed before the token is checked so that the token is consumed only
    // in the transaction that registers the node; a refused join throws the
    // certificate away.
    let certificate = mesh
        .authority
        .sign(&node, &public_key)
        .map_err(|err| ApiError::BadRequest(err.to_string()))?;
    let digest =
        ::mesh::pem_cert_digest(&certificate).map_err(|err| ApiError::Internal(err.to_string()))?;
    let digest = crate::node::mesh::hex(&digest);
    let uuid = random::uuid().map_err(|err| ApiError::Internal(err.to_string()))?;
    let request = store::mesh::JoinRequest {
        token: &body.token,
        hostname: node.as_str(),
        node_type: &body.node_type,
        ip_address: &ip_address,
        listener_port,
        certificate: &digest,
    };
    let instance = match store::mesh::join(&state.db, uuid, &request).await? {
        store::mesh::JoinOutcome::Registered(id) => id,
        store::mesh::JoinOutcome::Refused(reason) => return Err(ApiError::BadRequest(reason)),
    };
    tracing::info!(node = %node, node_type = %body.node_type, instance, "a node joined the mesh");
    let controller_keys = store::mesh::controller_keys(&state.db).await?;
    Ok(HttpResponse::Created().json(JoinResponseBody {
        instance,
        hostname: node.as_str().to_owned(),
        certificate,
        ca_certificate: mesh.authority.cert_pem().to_owned(),
        controller_node: mesh.node_id.as_str().to_owned(),
        controller_address: address.to_string(),
        controller_keys,
    }))
}

/// `GET /api/v2/mesh_visualizer/`: every instance, and the links this
/// control node's mesh sees between them, in AWX's shape (superusers and
/// auditors, as AWX's `IsSystemAdminOrAuditor`).
pub async fn visualizer(
    state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    if !caller.sees_all() {
        return Err(ApiError::PermissionDenied);
    }
    let instances = store::mesh::instances(&state.db).await?;
    let names: HashSet<&str> = instances.iter().map(|i| i.hostname.as_str()).collect();
    let nodes: Vec<_> = instances
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "hostname": i.hostname,
                "node_type": i.node_type,
                "node_state": i.node_state,
                "enabled": i.enabled,
            })
        })
        .collect();
    let status = match state.actors.mesh_router.send(View).await {
        Ok(Ok(status)) => Some(status),
        _ => None,
    };
    // One link per pair of nodes: "established" when both ends advertise
    // it (the mesh routes over it), "adding" while only one does. The
    // source is the end that dialed, where this node knows it.
    let mut links: BTreeMap<(String, String), (String, String, bool)> = BTreeMap::new();
    if let Some(status) = &status {
        let dialer = |a: &str, b: &str| -> Option<bool> {
            let me = status.node.as_str();
            status.peers.iter().find_map(|p| {
                let peer = p.node.as_str();
                if a == me && b == peer {
                    Some(p.dialed)
                } else if b == me && a == peer {
                    Some(!p.dialed)
                } else {
                    None
                }
            })
        };
        for node in &status.nodes {
            for adjacency in &node.links {
                let (a, b) = (node.node.as_str(), adjacency.peer.as_str());
                if !names.contains(a) || !names.contains(b) {
                    continue;
                }
                let key = if a < b {
                    (a.to_owned(), b.to_owned())
                } else {
                    (b.to_owned(), a.to_owned())
                };
                let (source, target) = match dialer(a, b) {
                    Some(false) => (b, a),
                    _ => (a, b),
                };
                links
                    .entry(key)
                    .and_modify(|entry| entry.2 = true)
                    .or_insert((source.to_owned(), target.to_owned(), false));
            }
        }
    }
    let links: Vec<_> = links
        .into_values()
        .map(|(source, target, both)| {
            json!({
                "source": source,
                "target": target,
                "link_state": if both { "established" } else { "adding" },
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"nodes": nodes, "links": links})))
}
