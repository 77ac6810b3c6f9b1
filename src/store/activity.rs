//! The activity stream: one entry per create, update, delete, associate
//! and disassociate, with the objects it is about.

use crate::store::pool::Queryable;
use serde_json::Value;

use super::StoreError;

/// One activity stream entry to write.
pub struct Entry<'a> {
    pub actor: Option<i64>,
    pub operation: &'static str,
    pub object1: &'a str,
    pub object2: &'a str,
    pub relationship: &'a str,
    /// Secrets already masked.
    pub changes: Value,
    pub node: &'a str,
    /// `(type, id)` of every object the entry is about.
    pub objects: Vec<(String, i64)>,
}

/// Writes the entry and its object links, in one statement (one round
/// trip inside every write's transaction).
pub async fn record(client: &impl Queryable, entry: Entry<'_>) -> Result<i64, StoreError> {
    let types: Vec<String> = entry.objects.iter().map(|(t, _)| t.clone()).collect();
    let ids: Vec<i64> = entry.objects.iter().map(|(_, i)| *i).collect();
    let row = client
        .fetch_one(
            "WITH entry AS (
                 INSERT INTO activity_stream
                     (actor_id, operation, object1, object2, object_relationship_type, changes,
                      action_node)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
             ), linked AS (
                 INSERT INTO activity_stream_objects (entry_id, object_type, object_id)
                 SELECT entry.id, u.t, u.i
                   FROM entry, unnest($8::text[], $9::int8[]) AS u(t, i)
                 ON CONFLICT DO NOTHING
             )
             SELECT id FROM entry",
            &[
                &entry.actor,
                &entry.operation,
                &entry.object1,
                &entry.object2,
                &entry.relationship,
                &entry.changes,
                &entry.node,
                &types,
                &ids,
            ],
        )
        .await?;
    Ok(row.get(0))
}
