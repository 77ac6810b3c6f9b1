//! Job events into their partitioned table with COPY, not row-by-row INSERT.

use actors::ports::{EventStore, PortError, PortFuture};
use futures_util::SinkExt;

use super::{Db, StoreError};
use crate::exec::event::EventTable;

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

/// Writes encoded rows (see `exec::event`) of one table in one COPY.
pub async fn copy_job_events(db: &Db, rows: Vec<u8>) -> Result<(), StoreError> {
    copy_tables(db, vec![(EventTable::Job.name(), rows)]).await
}

/// Writes each table's encoded rows with one COPY, all in one transaction.
pub async fn copy_tables(db: &Db, tables: Vec<(&'static str, Vec<u8>)>) -> Result<(), StoreError> {
    let tables: Vec<(EventTable, Vec<u8>)> = tables
        .into_iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(name, rows)| {
            EventTable::from_name(name)
                .map(|table| (table, rows))
                .ok_or_else(|| StoreError::Pool(format!("no event table {name}")))
        })
        .collect::<Result<_, _>>()?;
    if tables.is_empty() {
        return Ok(());
    }
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    for (table, rows) in tables {
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN",
                table.name(),
                table.columns()
            ))
            .await?;
        let mut sink = Box::pin(sink);
        sink.send(bytes::Bytes::from(rows)).await?;
        sink.as_mut().finish().await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The CallbackReceiver's port, backed by the pool.
pub struct PgEventStore(pub Db);

impl EventStore for PgEventStore {
    fn copy_events(&self, tables: Vec<(&'static str, Vec<u8>)>) -> PortFuture<'_, ()> {
        Box::pin(async move {
            copy_tables(&self.0, tables)
                .await
                .map_err(|err| PortError(err.to_string()))
        })
    }
}

/// A unified job's stdout: every event's text in line order.
pub async fn stdout(db: &Db, table: EventTable, id: i64) -> Result<String, StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            &format!(
                "SELECT stdout FROM {} WHERE {} = $1 AND stdout <> '' ORDER BY start_line, counter",
                table.name(),
                table.job_column()
            ),
            &[&id],
        )
        .await?;
    let mut out = String::new();
    for row in rows {
        let text: String = row.get(0);
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push_str("\r\n");
        }
    }
    Ok(out)
}

/// The highest counter stored for unified job `id` (created at `created`),
/// where a resumed event stream starts after.
pub async fn last_counter(
    db: &Db,
    table: EventTable,
    id: i64,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<Option<i64>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_one(
            &format!(
                "SELECT max(counter)::int8 FROM {} WHERE {} = $1 AND job_created = $2",
                table.name(),
                table.job_column()
            ),
            &[&id, &created],
        )
        .await?;
    Ok(row.get(0))
}
