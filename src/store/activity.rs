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

/// The CTEs that write `entry` about the object a statement's `new` CTE
/// inserts, their parameters appended to `params`.
pub fn new_object_ctes(entry: &Entry<'_>, params: &mut Vec<super::resource::Param>) -> String {
    let first = params.len() + 1;
    params.push(Box::new(entry.actor));
    params.push(Box::new(entry.operation));
    params.push(Box::new(entry.object1.to_string()));
    params.push(Box::new(entry.object2.to_string()));
    params.push(Box::new(entry.relationship.to_string()));
    params.push(Box::new(entry.changes.clone()));
    params.push(Box::new(entry.node.to_string()));
    let p = |offset: usize| format!("${}", first + offset);
    format!(
        "entry AS (
             INSERT INTO activity_stream
                 (actor_id, operation, object1, object2, object_relationship_type, changes,
                  action_node)
             VALUES ({}::int8, {}::text, {}::text, {}::text, {}::text, {}::jsonb, {}::text)
             RETURNING id
         ), linked AS (
             INSERT INTO activity_stream_objects (entry_id, object_type, object_id)
             SELECT entry.id, {}::text, new.id FROM entry, new
         )",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(2),
    )
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
