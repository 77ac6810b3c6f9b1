//! Hosts' facts, as the fact cache restores and saves them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Db, StoreError};

/// The facts of hosts `ids` that are newer than `max_age_secs` (0: any
/// age), by host id.
pub async fn recent(
    db: &Db,
    ids: &[i64],
    max_age_secs: i64,
) -> Result<Vec<(i64, Value)>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query(
            "SELECT id, ansible_facts FROM hosts
              WHERE id = ANY($1) AND ansible_facts <> '{}'::jsonb
                AND ($2::int8 = 0 OR ansible_facts_modified > now() - make_interval(secs => $2::int8::float8))",
            &[&ids, &max_age_secs],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Stores facts found after a run (`None`: the cache dropped the host's
/// facts, which clears them), in one statement.
pub async fn save(
    db: &Db,
    found: &[(i64, Option<Value>)],
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if found.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let facts: Vec<Value> = found
        .iter()
        .map(|(_, f)| {
            f.clone()
                .unwrap_or_else(|| Value::Object(Default::default()))
        })
        .collect();
    let conn = db.get().await?;
    Ok(conn
        .execute(
            "UPDATE hosts h SET ansible_facts = f.facts, ansible_facts_modified = $2, modified = now()
               FROM unnest($1::bigint[], $3::jsonb[]) AS f(id, facts)
              WHERE h.id = f.id",
            &[&ids, &at, &facts],
        )
        .await?)
}
