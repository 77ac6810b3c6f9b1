//! The mesh's join tokens, the instances that join with them, and the
//! controllers' work-signing keys.

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::auth::digest;
use super::{Db, StoreError};

/// What the caller learns about a join token it created.
#[derive(Debug, Clone)]
pub struct JoinToken {
    pub id: i64,
    pub expires: DateTime<Utc>,
}

/// Stores `token` (hashed) for a node of `role`, valid for `valid_secs` seconds.
pub async fn create_token(
    db: &Db,
    token: &str,
    role: &str,
    valid_secs: i64,
    created_by: Option<i64>,
) -> Result<JoinToken, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_one(
            "INSERT INTO mesh_join_tokens (token_hash, role, expires, created_by)
             VALUES ($1, $2, now() + make_interval(secs => $3::float8), $4)
             RETURNING id, expires",
            &[&digest(token), &role, &(valid_secs as f64), &created_by],
        )
        .await?;
    Ok(JoinToken {
        id: row.get("id"),
        expires: row.get("expires"),
    })
}

/// A node asking to join.
#[derive(Debug, Clone)]
pub struct JoinRequest<'a> {
    pub token: &'a str,
    pub hostname: &'a str,
    pub node_type: &'a str,
    pub ip_address: &'a str,
    pub listener_port: Option<i32>,
    /// SHA-256 (hex) of the certificate the node is given.
    pub certificate: &'a str,
}

/// Why a join was refused, in words for the joining operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The instance's id.
    Registered(i64),
    Refused(String),
}

/// The instance groups a new instance joins, by its role (as AWX places them).
fn default_groups(node_type: &str) -> &'static [&'static str] {
    match node_type {
        "execution" => &["default"],
        _ => &[],
    }
}

/// Checks the token (known, unused, unexpired), registers the instance and
/// marks the token used, all in one transaction: a refused join leaves the
/// token as it was, and two nodes racing for one token cannot both win
/// (the token row is locked).
pub async fn join(
    db: &Db,
    uuid: uuid::Uuid,
    req: &JoinRequest<'_>,
) -> Result<JoinOutcome, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let token = tx
        .query_opt(
            "SELECT id, role, hostname, used_at IS NOT NULL AS used, expires <= now() AS expired
               FROM mesh_join_tokens WHERE token_hash = $1 FOR UPDATE",
            &[&digest(req.token)],
        )
        .await?;
    let Some(token) = token else {
        return Ok(JoinOutcome::Refused("Invalid join token.".into()));
    };
    if token.get::<_, bool>("used") {
        return Ok(JoinOutcome::Refused(
            "This join token was already used; create a new one.".into(),
        ));
    }
    if token.get::<_, bool>("expired") {
        return Ok(JoinOutcome::Refused(
            "This join token has expired; create a new one.".into(),
        ));
    }
    let role: String = token.get("role");
    if role != req.node_type {
        return Ok(JoinOutcome::Refused(format!(
            "This join token is for a {role} node, not {}.",
            req.node_type
        )));
    }
    let bound: Option<String> = token.get("hostname");
    if let Some(bound) = bound.filter(|h| h != req.hostname) {
        return Ok(JoinOutcome::Refused(format!(
            "This join token is for the node named {bound}."
        )));
    }
    // A deprovisioned node may join again under its name with a new token
    // (and a new certificate): the old instance goes, its certificate stays
    // revoked.
    tx.execute(
        "WITH gone AS (
             DELETE FROM instances WHERE hostname = $1 AND node_state = 'deprovisioning'
             RETURNING hostname, mesh_certificate)
         INSERT INTO mesh_revoked_certificates (certificate, hostname)
         SELECT mesh_certificate, hostname FROM gone WHERE mesh_certificate IS NOT NULL
         ON CONFLICT DO NOTHING",
        &[&req.hostname],
    )
    .await?;
    let taken = tx
        .query_opt(
            "SELECT id FROM instances WHERE hostname = $1",
            &[&req.hostname],
        )
        .await?;
    if taken.is_some() {
        return Ok(JoinOutcome::Refused(format!(
            "An instance named {} already exists.",
            req.hostname
        )));
    }
    // `installed` until the mesh sees it, as AWX marks an added node before
    // its first health check.
    let row = tx
        .query_one(
            "INSERT INTO instances
                 (uuid, hostname, node_type, node_state, ip_address, listener_port, managed,
                  mesh_certificate)
             VALUES ($1, $2, $3, 'installed', $4, $5, false, $6)
             RETURNING id",
            &[
                &uuid,
                &req.hostname,
                &req.node_type,
                &req.ip_address,
                &req.listener_port,
                &req.certificate,
            ],
        )
        .await?;
    let id: i64 = row.get("id");
    let groups: Vec<&str> = default_groups(req.node_type).to_vec();
    tx.execute(
        "INSERT INTO instance_group_instances (instance_group_id, instance_id)
         SELECT g.id, $1 FROM instance_groups g WHERE g.name = ANY($2)
         ON CONFLICT DO NOTHING",
        &[&id, &groups],
    )
    .await?;
    let token_id: i64 = token.get("id");
    tx.execute(
        "UPDATE mesh_join_tokens SET used_at = now(), used_by_instance_id = $2 WHERE id = $1",
        &[&token_id, &id],
    )
    .await?;
    tx.commit().await?;
    Ok(JoinOutcome::Registered(id))
}

/// Records this control node's work-signing public key (hex).
pub async fn record_controller_key(
    db: &Db,
    hostname: &str,
    public_key: &str,
) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "INSERT INTO mesh_controller_keys (hostname, public_key) VALUES ($1, $2)
         ON CONFLICT (hostname) DO UPDATE SET public_key = EXCLUDED.public_key, modified = now()",
        &[&hostname, &public_key],
    )
    .await?;
    Ok(())
}

/// Every control node's work-signing public key (hex).
pub async fn controller_keys(db: &Db) -> Result<Vec<String>, StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            "SELECT public_key FROM mesh_controller_keys ORDER BY hostname",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// An instance as the mesh visualizer shows it.
#[derive(Debug, Clone)]
pub struct MeshInstance {
    pub id: i64,
    pub hostname: String,
    pub node_type: String,
    pub node_state: String,
    pub enabled: bool,
}

/// Every instance, by id.
pub async fn instances(db: &Db) -> Result<Vec<MeshInstance>, StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            "SELECT id, hostname, node_type, node_state, enabled FROM instances ORDER BY id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| MeshInstance {
            id: row.get("id"),
            hostname: row.get("hostname"),
            node_type: row.get("node_type"),
            node_state: row.get("node_state"),
            enabled: row.get("enabled"),
        })
        .collect())
}

/// Marks the mesh nodes this control node sees `ready` (and the ones it no
/// longer sees `unavailable`), with their last_seen: the heartbeat of nodes
/// that have no database. `seen` pairs each node with the nodes it has a
/// live link to, recorded as its `mesh_peers`.
pub async fn record_seen(db: &Db, seen: &[(String, Vec<String>)]) -> Result<(), StoreError> {
    let names: Vec<&str> = seen.iter().map(|(name, _)| name.as_str()).collect();
    let links: serde_json::Map<String, serde_json::Value> = seen
        .iter()
        .map(|(name, peers)| (name.clone(), serde_json::json!(peers)))
        .collect();
    let links = serde_json::Value::Object(links);
    let conn = db.get().await?;
    let (states, peers) = (
        "UPDATE instances SET
             node_state = CASE WHEN hostname = ANY($1) THEN 'ready' ELSE 'unavailable' END,
             last_seen = CASE WHEN hostname = ANY($1) THEN now() ELSE last_seen END,
             modified = now()
          WHERE node_type IN ('execution', 'hop')
            AND node_state IN ('installed', 'ready', 'unavailable')
            -- a node never seen stays `installed`
            AND (hostname = ANY($1) OR node_state = 'ready')",
        // Written only where the links changed: most ticks write nothing.
        "UPDATE instances i SET mesh_peers = p.peers
           FROM (SELECT id, ARRAY(SELECT jsonb_array_elements_text(
                                      COALESCE($1::jsonb -> hostname, '[]'))
                                  ORDER BY 1) AS peers
                   FROM instances) p
          WHERE p.id = i.id AND i.mesh_peers IS DISTINCT FROM p.peers",
    );
    let (names, links): (&[&(dyn ToSql + Sync)], &[&(dyn ToSql + Sync)]) = (&[&names], &[&links]);
    tokio::try_join!(conn.execute(states, names), conn.execute(peers, links))?;
    Ok(())
}

/// What a health check of an execution node found.
#[derive(Debug, Clone)]
pub struct Health {
    pub cpu: u32,
    pub memory: u64,
    pub cpu_capacity: u32,
    pub mem_capacity: u32,
    pub version: String,
    /// What ansible-runner reported wrong, empty when healthy.
    pub errors: String,
}

/// The execution instances never checked, or last checked more than
/// `interval_secs` ago.
pub async fn due_health_checks(db: &Db, interval_secs: f64) -> Result<Vec<String>, StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            "SELECT hostname FROM instances
              WHERE node_type = 'execution' AND node_state <> 'deprovisioning'
                AND (last_health_check IS NULL
                     OR last_health_check < now() - make_interval(secs => $1))
              ORDER BY hostname",
            &[&interval_secs],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Records a health check of `hostname`: its measures and capacity, or the
/// error (no capacity: the TaskManager places nothing on it).
pub async fn record_health(
    db: &Db,
    hostname: &str,
    health: Result<Health, String>,
) -> Result<(), StoreError> {
    let conn = db.get().await?;
    match health {
        Ok(h) => {
            let cpu_capacity = i32::try_from(h.cpu_capacity).unwrap_or(i32::MAX);
            let mem_capacity = i32::try_from(h.mem_capacity).unwrap_or(i32::MAX);
            let memory = i64::try_from(h.memory).unwrap_or(i64::MAX);
            conn.execute(
                "UPDATE instances SET cpu = $2::int4, memory = $3, cpu_capacity = $4::int4, mem_capacity = $5::int4,
                        capacity = (least($4::int4, $5::int4)
                                    + (greatest($4::int4, $5::int4) - least($4::int4, $5::int4)) * capacity_adjustment)::int,
                        version = $6, errors = $7, last_health_check = now(), modified = now()
                  WHERE hostname = $1",
                &[
                    &hostname,
                    &i32::try_from(h.cpu).unwrap_or(i32::MAX),
                    &memory,
                    &cpu_capacity,
                    &mem_capacity,
                    &h.version,
                    &h.errors,
                ],
            )
            .await?;
        }
        Err(errors) => {
            conn.execute(
                "UPDATE instances SET cpu_capacity = 0, mem_capacity = 0, capacity = 0, errors = $2,
                        last_health_check = now(), modified = now()
                  WHERE hostname = $1",
                &[&hostname, &errors],
            )
            .await?;
        }
    }
    Ok(())
}

/// The revoked mesh certificates (SHA-256, hex): those of the instances
/// being deprovisioned, and of those that joined again since.
pub async fn revoked(db: &Db) -> Result<Vec<String>, StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            "SELECT certificate FROM mesh_revoked_certificates
             UNION
             SELECT mesh_certificate FROM instances
              WHERE node_state = 'deprovisioning' AND node_type IN ('execution', 'hop')
                AND mesh_certificate IS NOT NULL",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
