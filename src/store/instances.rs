//! Instances (nodes) and instance groups as the API shows them.

use chrono::{DateTime, Utc};

use super::{Db, StoreError};

/// An instance row with the counts the API derives from jobs.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: i64,
    pub uuid: uuid::Uuid,
    pub hostname: String,
    pub node_type: String,
    pub node_state: String,
    pub version: String,
    pub cpu: f64,
    pub memory: i64,
    pub cpu_capacity: i32,
    pub mem_capacity: i32,
    pub capacity: i32,
    pub capacity_adjustment: f64,
    pub enabled: bool,
    pub managed_by_policy: bool,
    pub managed: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_health_check: Option<DateTime<Utc>>,
    pub errors: String,
    pub ip_address: String,
    pub listener_port: Option<i32>,
    pub peers_from_control_nodes: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub jobs_running: i64,
    pub jobs_total: i64,
    pub consumed_capacity: i64,
}

const SELECT: &str = "SELECT i.id, i.uuid, i.hostname, i.node_type, i.node_state, i.version,
        i.cpu::float8 AS cpu, i.memory, i.cpu_capacity, i.mem_capacity, i.capacity,
        i.capacity_adjustment::float8 AS capacity_adjustment, i.enabled, i.managed_by_policy,
        i.managed, i.last_seen, i.last_health_check, i.errors, i.ip_address, i.listener_port,
        i.peers_from_control_nodes, i.created, i.modified,
        (SELECT count(*) FROM unified_jobs j
          WHERE j.execution_node = i.hostname AND j.status IN ('waiting', 'running')) AS jobs_running,
        (SELECT count(*) FROM unified_jobs j WHERE j.execution_node = i.hostname) AS jobs_total,
        (SELECT coalesce(sum(j.task_impact), 0)::int8 FROM unified_jobs j
          WHERE j.execution_node = i.hostname AND j.status IN ('waiting', 'running')) AS consumed_capacity
     FROM instances i";

fn from_row(row: &tokio_postgres::Row) -> Instance {
    Instance {
        id: row.get("id"),
        uuid: row.get("uuid"),
        hostname: row.get("hostname"),
        node_type: row.get("node_type"),
        node_state: row.get("node_state"),
        version: row.get("version"),
        cpu: row.get("cpu"),
        memory: row.get("memory"),
        cpu_capacity: row.get("cpu_capacity"),
        mem_capacity: row.get("mem_capacity"),
        capacity: row.get("capacity"),
        capacity_adjustment: row.get("capacity_adjustment"),
        enabled: row.get("enabled"),
        managed_by_policy: row.get("managed_by_policy"),
        managed: row.get("managed"),
        last_seen: row.get("last_seen"),
        last_health_check: row.get("last_health_check"),
        errors: row.get("errors"),
        ip_address: row.get("ip_address"),
        listener_port: row.get("listener_port"),
        peers_from_control_nodes: row.get("peers_from_control_nodes"),
        created: row.get("created"),
        modified: row.get("modified"),
        jobs_running: row.get("jobs_running"),
        jobs_total: row.get("jobs_total"),
        consumed_capacity: row.get("consumed_capacity"),
    }
}

/// One page of instances ordered by hostname, and the total count.
pub async fn page(db: &Db, offset: i64, limit: i64) -> Result<(i64, Vec<Instance>), StoreError> {
    let conn = db.get().await?;
    let count: i64 = conn
        .query_one(&conn.prepared("SELECT count(*) FROM instances").await?, &[])
        .await?
        .get(0);
    let rows = conn
        .query(
            &conn
                .prepared(&format!(
                    "{SELECT} ORDER BY i.hostname, i.id OFFSET $1 LIMIT $2"
                ))
                .await?,
            &[&offset, &limit],
        )
        .await?;
    Ok((count, rows.iter().map(from_row).collect()))
}

/// One instance by id.
pub async fn get(db: &Db, id: i64) -> Result<Option<Instance>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(&format!("{SELECT} WHERE i.id = $1"), &[&id])
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// An instance group with its capacity and member hostnames, for `/ping/`.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub name: String,
    pub capacity: i64,
    pub instances: Vec<String>,
}

/// Every instance group with the capacity of its enabled, ready members.
pub async fn group_summaries(db: &Db) -> Result<Vec<GroupSummary>, StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(
            "SELECT g.name,
                    coalesce(sum(i.capacity) FILTER (WHERE i.enabled AND i.node_state = 'ready'), 0)::int8
                        AS capacity,
                    coalesce(array_agg(i.hostname ORDER BY i.hostname)
                             FILTER (WHERE i.id IS NOT NULL), '{}') AS instances
               FROM instance_groups g
               LEFT JOIN instance_group_instances gi ON gi.instance_group_id = g.id
               LEFT JOIN instances i ON i.id = gi.instance_id
              GROUP BY g.id, g.name
              ORDER BY g.name",
        )
        .await?;
    let rows = conn.query(&statement, &[]).await?;
    Ok(rows
        .iter()
        .map(|row| GroupSummary {
            name: row.get("name"),
            capacity: row.get("capacity"),
            instances: row.get("instances"),
        })
        .collect())
}
