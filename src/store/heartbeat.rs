//! Records heartbeats in `instances`, for the Heartbeat actor.

use actors::ports::{Beat, HeartbeatStore, PortError, PortFuture};

use super::{Db, StoreError};

/// The instance groups a new instance joins, by its role (as AWX places them).
fn default_groups(node_type: &str) -> &'static [&'static str] {
    match node_type {
        "hybrid" => &["controlplane", "default"],
        "control" => &["controlplane"],
        "execution" => &["default"],
        _ => &[],
    }
}

/// Upserts the instance row and, on its first beat, joins its default groups.
pub async fn record(db: &Db, beat: &Beat) -> Result<(), StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let uuid = uuid::Uuid::parse_str(&beat.uuid)
        .map_err(|err| StoreError::Pool(format!("bad node uuid: {err}")))?;
    let cpu = f64::from(beat.cpu);
    let memory = i64::try_from(beat.memory).unwrap_or(i64::MAX);
    let cpu_capacity = i32::try_from(beat.cpu_capacity).unwrap_or(i32::MAX);
    let mem_capacity = i32::try_from(beat.mem_capacity).unwrap_or(i32::MAX);
    // capacity = min + (max - min) * capacity_adjustment, as AWX computes it.
    let row = tx
        .query_one(
            "INSERT INTO instances AS i
                 (uuid, hostname, node_type, node_state, version, cpu, memory,
                  cpu_capacity, mem_capacity, capacity, last_seen, managed)
             VALUES ($1, $2, $3, 'ready', $4, $5::float8::numeric, $6, $7::int4, $8::int4,
                     GREATEST($7::int4, $8::int4), now(), true)
             ON CONFLICT (hostname) DO UPDATE SET
                 node_type = EXCLUDED.node_type,
                 node_state = 'ready',
                 version = EXCLUDED.version,
                 cpu = EXCLUDED.cpu,
                 memory = EXCLUDED.memory,
                 cpu_capacity = EXCLUDED.cpu_capacity,
                 mem_capacity = EXCLUDED.mem_capacity,
                 capacity = (LEAST(EXCLUDED.cpu_capacity, EXCLUDED.mem_capacity)
                     + (GREATEST(EXCLUDED.cpu_capacity, EXCLUDED.mem_capacity)
                        - LEAST(EXCLUDED.cpu_capacity, EXCLUDED.mem_capacity))
                       * i.capacity_adjustment)::int,
                 last_seen = now(),
                 modified = now()
             RETURNING id, (xmax = 0) AS inserted",
            &[
                &uuid,
                &beat.hostname,
                &beat.node_type,
                &beat.version,
                &cpu,
                &memory,
                &cpu_capacity,
                &mem_capacity,
            ],
        )
        .await?;
    let id: i64 = row.get("id");
    let inserted: bool = row.get("inserted");
    if inserted {
        let groups: Vec<&str> = default_groups(beat.node_type).to_vec();
        tx.execute(
            "INSERT INTO instance_group_instances (instance_group_id, instance_id)
             SELECT g.id, $1 FROM instance_groups g WHERE g.name = ANY($2)
             ON CONFLICT DO NOTHING",
            &[&id, &groups],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The Heartbeat actor's port, backed by the pool.
pub struct PgHeartbeatStore(pub Db);

impl HeartbeatStore for PgHeartbeatStore {
    fn record(&self, beat: &Beat) -> PortFuture<'_, ()> {
        let beat = beat.clone();
        Box::pin(async move {
            record(&self.0, &beat)
                .await
                .map_err(|err| PortError(err.to_string()))
        })
    }
}
