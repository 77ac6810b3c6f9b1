//! Applies `migrations/` (embedded in the binary) under an advisory lock, so
//! nodes starting together do not race.

use super::{Db, StoreError};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Arbitrary, fixed: the advisory lock key that serializes migrations.
const MIGRATION_LOCK: i64 = 0x7261_7778_6d69_6772; // "rawxmigr"

/// What a migration run did.
#[derive(Debug)]
pub struct Applied {
    /// Names of the migrations applied by this run (empty when up to date).
    pub applied: Vec<String>,
}

/// Brings the schema up to date; a no-op when it already is.
pub async fn run(db: &Db) -> Result<Applied, StoreError> {
    let mut conn = db.get().await?;
    conn.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let report = embedded::migrations::runner()
        .run_async(&mut **conn)
        .await
        .map_err(|err| StoreError::Migrate(err.to_string()));
    // Unlock whatever happened; the session ends with the connection anyway.
    conn.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    let report = report?;
    Ok(Applied {
        applied: report
            .applied_migrations()
            .iter()
            .map(|m| format!("V{}__{}", m.version(), m.name()))
            .collect(),
    })
}
