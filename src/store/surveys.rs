//! SQL for `survey_spec/`: a template's stored survey. `table` is a
//! template table named by the endpoint's declaration, never by a request.

use serde_json::Value;

use crate::store::StoreError;
use crate::store::pool::Queryable;

/// The survey stored on object `id` of `table`; `None` when there is no
/// such object.
pub async fn spec(
    client: &impl Queryable,
    table: &str,
    id: i64,
) -> Result<Option<Value>, StoreError> {
    let row = client
        .fetch_opt(
            &format!("SELECT survey_spec FROM {table} WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Stores `spec` as the survey of object `id` of `table`; returns nothing.
pub async fn set_spec(
    client: &impl Queryable,
    table: &str,
    id: i64,
    spec: &Value,
) -> Result<(), StoreError> {
    client
        .run(
            &format!("UPDATE {table} SET survey_spec = $2 WHERE id = $1"),
            &[&id, spec],
        )
        .await?;
    Ok(())
}

/// Empties the survey of object `id` of `table` (to `{}`); returns nothing.
pub async fn clear_spec(client: &impl Queryable, table: &str, id: i64) -> Result<(), StoreError> {
    client
        .run(
            &format!("UPDATE {table} SET survey_spec = '{{}}' WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(())
}
