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

/// Writes the entry and its object links.
pub async fn record(client: &impl Queryable, entry: Entry<'_>) -> Result<i64, StoreError> {
    let row = client
        .fetch_one(
            "INSERT INTO activity_stream
                 (actor_id, operation, object1, object2, object_relationship_type, changes, action_node)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &entry.actor,
                &entry.operation,
                &entry.object1,
                &entry.object2,
                &entry.relationship,
                &entry.changes,
                &entry.node,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    let types: Vec<String> = entry.objects.iter().map(|(t, _)| t.clone()).collect();
    let ids: Vec<i64> = entry.objects.iter().map(|(_, i)| *i).collect();
    client
        .run(
            "INSERT INTO activity_stream_objects (entry_id, object_type, object_id)
             SELECT $1, t, i FROM unnest($2::text[], $3::int8[]) AS u(t, i)
             ON CONFLICT DO NOTHING",
            &[&id, &types, &ids],
        )
        .await?;
    Ok(id)
}
