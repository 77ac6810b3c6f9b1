//! System settings kept in the `settings` table.

use serde_json::Value;

use super::{Db, StoreError};

/// The cluster's install UUID, created by the first node that asks.
pub async fn install_uuid(db: &Db) -> Result<String, StoreError> {
    let fresh = crate::crypto::random::uuid()
        .map_err(|err| StoreError::Pool(err.to_string()))?
        .to_string();
    let conn = db.get().await?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('INSTALL_UUID', to_jsonb($1::text))
         ON CONFLICT (key) DO NOTHING",
        &[&fresh],
    )
    .await?;
    let row = conn
        .query_one("SELECT value FROM settings WHERE key = 'INSTALL_UUID'", &[])
        .await?;
    let value: Value = row.get(0);
    Ok(value.as_str().unwrap_or_default().to_string())
}

/// A system setting's value (AWX's settings, seeded with their defaults).
pub async fn get(db: &Db, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
        .await?
        .map(|r| r.get(0)))
}
