//! Job events into their partitioned table with COPY, not row-by-row INSERT.

use actors::ports::{EventStore, PortError, PortFuture};
use futures_util::SinkExt;

use super::{Db, StoreError};
use crate::exec::event::COLUMNS;

/// Ensures the hourly partition that a job created at `created` writes to.
pub async fn ensure_partition(
    db: &Db,
    kind: &str,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "SELECT rawx_ensure_event_partition($1, $2)",
        &[&kind, &created],
    )
    .await?;
    Ok(())
}

/// Writes encoded rows (see `exec::event`) in one COPY.
pub async fn copy_job_events(db: &Db, rows: Vec<u8>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let conn = db.get().await?;
    let sink = conn
        .copy_in(&format!("COPY job_events ({COLUMNS}) FROM STDIN"))
        .await?;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::from(rows)).await?;
    sink.as_mut().finish().await?;
    Ok(())
}

/// The CallbackReceiver's port, backed by the pool.
pub struct PgEventStore(pub Db);

impl EventStore for PgEventStore {
    fn copy_events(&self, rows: Vec<u8>) -> PortFuture<'_, ()> {
        Box::pin(async move {
            copy_job_events(&self.0, rows)
                .await
                .map_err(|err| PortError(err.to_string()))
        })
    }
}
