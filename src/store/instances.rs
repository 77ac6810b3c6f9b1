//! Instances (nodes) and instance groups as `/api/v2/ping/` shows them
//! (the instances resource reads them through the resource machinery).

use chrono::{DateTime, Utc};

use super::pool::Queryable;
use super::{Db, StoreError};

/// An instance as `/ping/` shows it.
#[derive(Debug, Clone)]
pub struct PingInstance {
    pub hostname: String,
    pub node_type: String,
    pub uuid: uuid::Uuid,
    pub last_seen: Option<DateTime<Utc>>,
    pub capacity: i32,
    pub version: String,
}

/// An instance group with its capacity and member hostnames, for `/ping/`.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub name: String,
    pub capacity: i64,
    pub instances: Vec<String>,
}

/// What `/ping/` shows: every instance and every group, read by two
/// statements sent together on one connection (one round trip; ping is
/// what load balancers call most).
pub async fn ping_view(db: &Db) -> Result<(Vec<PingInstance>, Vec<GroupSummary>), StoreError> {
    let conn = db.get().await?;
    let instances = conn.fetch(
        "SELECT hostname, node_type, uuid, last_seen, capacity, version
           FROM instances ORDER BY hostname, id",
        &[],
    );
    let groups = conn.fetch(
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
        &[],
    );
    let (instances, groups) = tokio::try_join!(instances, groups)?;
    let instances = instances
        .iter()
        .map(|row| {
            Ok(PingInstance {
                hostname: row.try_get(0)?,
                node_type: row.try_get(1)?,
                uuid: row.try_get(2)?,
                last_seen: row.try_get(3)?,
                capacity: row.try_get(4)?,
                version: row.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    let groups = groups
        .iter()
        .map(|row| {
            Ok(GroupSummary {
                name: row.try_get(0)?,
                capacity: row.try_get(1)?,
                instances: row.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok((instances, groups))
}
