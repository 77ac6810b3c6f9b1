//! The managed credential types AWX ships, kept in the database.

use serde_json::Value;

use super::{Db, StoreError};

/// AWX 24.6.1's managed credential types, as its API shows them.
const MANAGED: &str = include_str!("../resources/data/managed_credential_types.json");

/// Inserts or refreshes every managed type, keyed by namespace, so a newer
/// rawx can correct their definitions.
pub async fn seed_managed(db: &Db) -> Result<(), StoreError> {
    let types: Vec<Value> = serde_json::from_str(MANAGED)
        .map_err(|err| StoreError::Migrate(format!("managed credential types: {err}")))?;
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    for item in &types {
        let text = |key: &str| {
            item.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut inputs = item
            .get("inputs")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        // AWX omits `required` on some types; clients read it as [].
        if let Some(map) = inputs.as_object_mut() {
            map.entry("required").or_insert(Value::Array(Vec::new()));
        }
        let injectors = item
            .get("injectors")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        tx.execute(
            "INSERT INTO credential_types (name, description, kind, namespace, managed, inputs, injectors)
             VALUES ($1, $2, $3, $4, true, $5, $6)
             ON CONFLICT (namespace) WHERE managed DO UPDATE SET
                 name = EXCLUDED.name, description = EXCLUDED.description, kind = EXCLUDED.kind,
                 inputs = EXCLUDED.inputs, injectors = EXCLUDED.injectors
             WHERE (credential_types.name, credential_types.kind, credential_types.inputs, credential_types.injectors)
                   IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.inputs, EXCLUDED.injectors)",
            &[&text("name"), &text("description"), &text("kind"), &text("namespace"), &inputs, &injectors],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A credential type's kind, input schema and whether it is managed.
pub async fn get(db: &Db, id: i64) -> Result<Option<(String, Value, bool)>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            "SELECT kind, inputs, managed FROM credential_types WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1), row.get(2))))
}
