//! The activity stream: one entry per create, update, delete, associate
//! and disassociate, with the objects it is about.

use crate::store::pool::Queryable;
use serde_json::Value;

use super::StoreError;
use super::resource::Param;

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

/// The CTEs `entry` (the activity row, its values appended to `params`)
/// and `linked` (the objects it is about): `objects` gets `params` and the
/// number of `entry`'s first parameter (`object1` is two after it) and
/// returns what follows `SELECT entry.id,`: the objects' type and id
/// columns and their FROM.
fn entry_ctes(
    entry: &Entry<'_>,
    params: &mut Vec<Param>,
    objects: impl FnOnce(&mut Vec<Param>, usize) -> String,
) -> String {
    let first = params.len() + 1;
    params.push(Box::new(entry.actor));
    params.push(Box::new(entry.operation));
    params.push(Box::new(entry.object1.to_string()));
    params.push(Box::new(entry.object2.to_string()));
    params.push(Box::new(entry.relationship.to_string()));
    params.push(Box::new(entry.changes.clone()));
    params.push(Box::new(entry.node.to_string()));
    let values: Vec<String> = ["int8", "text", "text", "text", "text", "jsonb", "text"]
        .iter()
        .enumerate()
        .map(|(offset, cast)| format!("${}::{cast}", first + offset))
        .collect();
    format!(
        "entry AS (
             INSERT INTO activity_stream
                 (actor_id, operation, object1, object2, object_relationship_type, changes,
                  action_node)
             VALUES ({}) RETURNING id
         ), linked AS (
             INSERT INTO activity_stream_objects (entry_id, object_type, object_id)
             SELECT entry.id, {}
             ON CONFLICT DO NOTHING
         )",
        values.join(", "),
        objects(params, first),
    )
}

/// The CTEs that write `entry` about the object a statement's `new` CTE
/// inserts (of type `object1`), their parameters appended to `params`.
pub fn new_object_ctes(entry: &Entry<'_>, params: &mut Vec<Param>) -> String {
    entry_ctes(entry, params, |_, first| {
        format!("${}::text, new.id FROM entry, new", first + 2)
    })
}

/// Writes the entry and its object links, in one statement (one round
/// trip inside every write's transaction).
pub async fn record(client: &impl Queryable, entry: Entry<'_>) -> Result<i64, StoreError> {
    let mut params: Vec<Param> = Vec::new();
    let ctes = entry_ctes(&entry, &mut params, |params, _| {
        params.push(Box::new(
            entry
                .objects
                .iter()
                .map(|(t, _)| t.clone())
                .collect::<Vec<String>>(),
        ));
        params.push(Box::new(
            entry.objects.iter().map(|(_, i)| *i).collect::<Vec<i64>>(),
        ));
        format!(
            "u.t, u.i FROM entry, unnest(${}::text[], ${}::int8[]) AS u(t, i)",
            params.len() - 1,
            params.len()
        )
    });
    let refs = super::resource::param_refs(&params);
    let row = client
        .fetch_one(&format!("WITH {ctes} SELECT id FROM entry"), &refs)
        .await?;
    Ok(row.get(0))
}
