//! SQL for `/copy/`: what a declared resource's copy carries over besides
//! its own row (which `store::resource::insert` writes), and the role facts
//! the copy's permission checks need.

use crate::resource::CopyPart;
use crate::store::StoreError;
use crate::store::pool::Queryable;

/// Identifiers come from declarations, never from requests; quoting them
/// still keeps a reserved word (`"limit"`) usable.
fn quoted(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies what `parts` declare from object `from` to its copy `to`;
/// `actor` becomes the creator of the rows that record one.
pub async fn parts(
    client: &impl Queryable,
    parts: &[CopyPart],
    from: i64,
    to: i64,
    actor: i64,
) -> Result<(), StoreError> {
    for part in parts {
        match part {
            CopyPart::Columns { table, columns } => {
                let cols = quoted(columns);
                client
                    .run(
                        &format!(
                            "UPDATE {table} SET ({cols}) = (SELECT {cols} FROM {table} WHERE id = $2) WHERE id = $1"
                        ),
                        &[&to, &from],
                    )
                    .await?;
            }
            CopyPart::Links {
                table,
                owner,
                columns,
                ..
            } => {
                let cols = quoted(columns);
                client
                    .run(
                        &format!(
                            "INSERT INTO {table} (\"{owner}\", {cols}) SELECT $1, {cols} FROM {table} WHERE \"{owner}\" = $2"
                        ),
                        &[&to, &from],
                    )
                    .await?;
            }
            CopyPart::InventoryContents => inventory_contents(client, from, to, actor).await?,
            CopyPart::InputSources => {
                client
                    .run(
                        "INSERT INTO credential_input_sources
                             (target_credential_id, source_credential_id, input_field_name, metadata, created_by, modified_by)
                         SELECT $1, source_credential_id, input_field_name, metadata, $3, $3
                           FROM credential_input_sources WHERE target_credential_id = $2",
                        &[&to, &from, &actor],
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

/// An inventory's hosts and groups, as AWX's deep copy takes them (name,
/// description, variables; hosts also `enabled` and `instance_id`; no facts
/// and no inventory sources), then the memberships between them. Names are
/// unique within an inventory, so they pair each original with its copy.
async fn inventory_contents(
    client: &impl Queryable,
    from: i64,
    to: i64,
    actor: i64,
) -> Result<(), StoreError> {
    client
        .run(
            "INSERT INTO hosts (name, description, inventory_id, enabled, instance_id, variables, created_by, modified_by)
             SELECT name, description, $1, enabled, instance_id, variables, $3, $3
               FROM hosts WHERE inventory_id = $2",
            &[&to, &from, &actor],
        )
        .await?;
    client
        .run(
            "INSERT INTO groups (name, description, inventory_id, variables, created_by, modified_by)
             SELECT name, description, $1, variables, $3, $3
               FROM groups WHERE inventory_id = $2",
            &[&to, &from, &actor],
        )
        .await?;
    client
        .run(
            "INSERT INTO group_hosts (group_id, host_id)
             SELECT ng.id, nh.id
               FROM group_hosts gh
               JOIN groups og ON og.id = gh.group_id AND og.inventory_id = $2
               JOIN hosts oh ON oh.id = gh.host_id
               JOIN groups ng ON ng.inventory_id = $1 AND ng.name = og.name
               JOIN hosts nh ON nh.inventory_id = $1 AND nh.name = oh.name",
            &[&to, &from],
        )
        .await?;
    client
        .run(
            "INSERT INTO group_children (parent_id, child_id)
             SELECT np.id, nc.id
               FROM group_children gc
               JOIN groups op ON op.id = gc.parent_id AND op.inventory_id = $2
               JOIN groups oc ON oc.id = gc.child_id
               JOIN groups np ON np.inventory_id = $1 AND np.name = op.name
               JOIN groups nc ON nc.inventory_id = $1 AND nc.name = oc.name",
            &[&to, &from],
        )
        .await?;
    Ok(())
}

/// The ids in `column` of `table`'s rows owned by `owner_id`: the objects a
/// join table links to an object.
pub async fn linked(
    client: &impl Queryable,
    table: &str,
    owner: &str,
    column: &str,
    owner_id: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = client
        .fetch(
            &format!("SELECT \"{column}\" FROM {table} WHERE \"{owner}\" = $1"),
            &[&owner_id],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The roles that directly imply `role_field` of object `id` (its parents).
pub async fn role_parents(
    client: &impl Queryable,
    content_type: &str,
    id: i64,
    role_field: &str,
) -> Result<Option<(i64, Vec<i64>)>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT r.id, coalesce(array_agg(p.parent_id) FILTER (WHERE p.parent_id IS NOT NULL), '{}')
               FROM roles r LEFT JOIN role_parents p ON p.role_id = r.id
              WHERE r.content_type = $1 AND r.object_id = $2 AND r.role_field = $3
              GROUP BY r.id",
            &[&content_type, &id, &role_field],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// Grants role `role` to user `user` directly.
pub async fn grant(client: &impl Queryable, role: i64, user: i64) -> Result<(), StoreError> {
    client
        .run(
            "INSERT INTO role_users (role_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&role, &user],
        )
        .await?;
    Ok(())
}
