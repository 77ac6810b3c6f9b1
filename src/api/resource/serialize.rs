//! Objects as AWX shows them: `id`, `type`, `url`, `related`,
//! `summary_fields`, `created`, `modified`, then the fields.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::api::State;
use crate::api::error::ApiError;
use crate::rbac::{self, Caller};
use crate::resource::{Kind, Link, Resource};
use crate::resources;
use crate::store::StoreError;
use crate::store::resource::{self as store, CREATED_BY, MODIFIED_BY};

/// What `caller` may do with one object, as AWX's `user_capabilities`:
/// `edit` and `delete` for every resource; `copy` where it can be copied;
/// `start` and `schedule` where the object runs (a template's
/// `execute_role`, a project's `update_role`); `adhoc` on inventories
/// (`adhoc_role`). A read-only token starts nothing.
fn capabilities(
    caller: &Caller,
    resource: &Resource,
    can_change: bool,
    can_copy: bool,
    object_roles: Option<&HashMap<String, i64>>,
) -> Map<String, Value> {
    let holds = |field: &str| {
        !caller.read_only
            && (caller.is_superuser()
                || object_roles
                    .and_then(|roles| roles.get(field))
                    .is_some_and(|role| caller.holds(*role)))
    };
    let mut caps = Map::new();
    caps.insert("edit".into(), Value::Bool(can_change));
    caps.insert("delete".into(), Value::Bool(can_change));
    if resource.copy.is_some() {
        caps.insert("copy".into(), Value::Bool(can_copy));
    }
    let runs_with = match resource.type_name {
        "job_template" | "workflow_job_template" => Some("execute_role"),
        "project" => Some("update_role"),
        _ => None,
    };
    if let Some(field) = runs_with {
        let start = holds(field);
        caps.insert("start".into(), Value::Bool(start));
        caps.insert("schedule".into(), Value::Bool(start));
    }
    if resource.type_name == "inventory" {
        caps.insert("adhoc".into(), Value::Bool(holds("adhoc_role")));
    }
    caps
}

/// What rendering rows of a resource reads besides the rows: the
/// summaries of what they reference, their object roles, whether the
/// caller may change each, and their many-to-many and job summaries.
pub struct Fetched {
    summaries: HashMap<&'static str, HashMap<i64, Map<String, Value>>>,
    roles: HashMap<i64, HashMap<String, i64>>,
    changeable: Vec<bool>,
    copyable: Vec<bool>,
    many: HashMap<i64, Map<String, Value>>,
}

/// The foreign keys of `resource` that its objects summarize.
fn summarized_fks(resource: &Resource) -> Vec<(&'static str, &'static Resource)> {
    let mut fk_fields = Vec::new();
    for field in resource.fields.iter().chain([&CREATED_BY, &MODIFIED_BY]) {
        if let Kind::Fk(target) = field.kind {
            if field.write_only
                || (!resource.tracks_users && matches!(field.name, "created_by" | "modified_by"))
            {
                continue;
            }
            if let Some(target) = resources::by_type(target) {
                fk_fields.push((field.name, target));
            }
        }
    }
    fk_fields
}

/// Renders `rows` of `resource` for `caller`, fetching what the summaries
/// need in one query per referenced resource.
pub async fn render(
    state: &State,
    caller: &Caller,
    resource: &'static Resource,
    rows: Vec<Map<String, Value>>,
) -> Result<Vec<Value>, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let fetched = fetch(&*conn, caller, resource, &rows, true).await?;
    Ok(assemble(caller, resource, rows, fetched))
}

/// What rendering a new object of `resource` with `values` reads, fetched
/// while the object is being written (its id unknown yet): a new object
/// is in no many-to-many relation and has run no job. Only for resources
/// without object roles, which the object would have to be read for.
pub async fn fetch_new(
    client: &impl crate::store::pool::Queryable,
    caller: &Caller,
    resource: &'static Resource,
    values: &Map<String, Value>,
) -> Result<Fetched, StoreError> {
    debug_assert!(resource.roles.is_empty());
    let mut row = values.clone();
    row.insert("created_by".into(), Value::from(caller.user.id));
    row.insert("modified_by".into(), Value::from(caller.user.id));
    fetch(client, caller, resource, &[row], false).await
}

/// Reads what rendering `rows` needs, every query at once on `client`:
/// they travel pipelined, so a page costs about one round trip instead of
/// one per query. `stored`: the rows' ids name stored objects (not one
/// being written), whose roles and relations are read.
async fn fetch(
    client: &impl crate::store::pool::Queryable,
    caller: &Caller,
    resource: &'static Resource,
    rows: &[Map<String, Value>],
    stored: bool,
) -> Result<Fetched, StoreError> {
    let fk_fields = summarized_fks(resource);
    // What the summaries need, by the resource referenced.
    let mut targets: Vec<(&'static Resource, Vec<i64>)> = Vec::new();
    for (_, target) in &fk_fields {
        if targets.iter().any(|(t, _)| t.type_name == target.type_name) {
            continue;
        }
        let ids: Vec<i64> = rows
            .iter()
            .flat_map(|row| {
                fk_fields
                    .iter()
                    .filter(|(_, t)| t.type_name == target.type_name)
                    .filter_map(|(name, _)| row.get(*name).and_then(Value::as_i64))
            })
            .collect();
        targets.push((target, ids));
    }
    let ids: Vec<i64> = if stored {
        rows.iter()
            .filter_map(|row| row.get("id").and_then(Value::as_i64))
            .collect()
    } else {
        Vec::new()
    };
    let roles_query = async {
        if resource.roles.is_empty() || ids.is_empty() {
            Ok(HashMap::new())
        } else {
            rbac::roles_of(client, resource.type_name, &ids).await
        }
    };
    let (summaries, roles, changeable, copyable, mut many, history) = tokio::try_join!(
        store::summaries_of(client, &targets),
        roles_query,
        rbac::can_change_each(client, caller, resource, rows),
        rbac::can_copy_each(client, caller, resource, rows),
        many_to_many(client, resource, &ids),
        job_history(client, resource, &ids),
    )?;
    for (id, extra) in history {
        many.entry(id).or_default().extend(extra);
    }
    Ok(Fetched {
        summaries,
        roles,
        changeable,
        copyable,
        many,
    })
}

/// `rows` rendered with what was fetched for them.
pub fn assemble(
    caller: &Caller,
    resource: &'static Resource,
    rows: Vec<Map<String, Value>>,
    fetched: Fetched,
) -> Vec<Value> {
    let Fetched {
        summaries,
        roles,
        changeable,
        copyable,
        mut many,
    } = fetched;
    let fk_fields = summarized_fks(resource);
    let mut out = Vec::with_capacity(rows.len());
    for ((row, can_change), can_copy) in rows.into_iter().zip(changeable).zip(copyable) {
        let id = row.get("id").and_then(Value::as_i64).unwrap_or_default();
        let url = resource.url(id);
        let mut related = Map::with_capacity(fk_fields.len() + resource.links.len() + 2);
        for (name, target) in &fk_fields {
            if let Some(fk) = row.get(*name).and_then(Value::as_i64) {
                related.insert((*name).to_string(), Value::String(target.url(fk)));
            }
        }
        for link in resource.links {
            match link {
                Link::Sub(name) => {
                    related.insert((*name).to_string(), Value::String(format!("{url}{name}/")));
                }
                Link::Fk(_) => {}
            }
        }
        if resource.copy.is_some() {
            related.insert("copy".into(), Value::String(format!("{url}copy/")));
        }
        let mut summary = Map::with_capacity(fk_fields.len() + 4);
        for (name, target) in &fk_fields {
            if let Some(fk) = row.get(*name).and_then(Value::as_i64)
                && let Some(found) = summaries.get(target.type_name).and_then(|s| s.get(&fk))
            {
                summary.insert((*name).to_string(), Value::Object(found.clone()));
            }
        }
        if let Some(object_roles) = roles.get(&id) {
            let mut map = Map::new();
            for decl in resource.roles {
                if let Some(role_id) = object_roles.get(decl.field) {
                    map.insert(
                        decl.field.to_string(),
                        json!({ "id": role_id, "name": decl.name, "description": decl.description }),
                    );
                }
            }
            summary.insert("object_roles".into(), Value::Object(map));
        }
        // A new object's relations were not read: it has none.
        summary.extend(many.remove(&id).unwrap_or_else(|| no_relations(resource)));
        summary.insert(
            "user_capabilities".into(),
            Value::Object(capabilities(
                caller,
                resource,
                can_change,
                can_copy,
                roles.get(&id),
            )),
        );

        let mut row = row;
        let mut object = Map::with_capacity(resource.fields.len() + 7);
        object.insert("id".into(), Value::from(id));
        object.insert("type".into(), Value::String(resource.type_name.into()));
        object.insert("url".into(), Value::String(url));
        object.insert("related".into(), Value::Object(related));
        object.insert("summary_fields".into(), Value::Object(summary));
        // The row's values move into the object: no copy of each string.
        for key in ["created", "modified"] {
            object.insert(key.into(), row.remove(key).unwrap_or(Value::Null));
        }
        for field in resource.fields.iter().filter(|f| !f.internal) {
            let value = if field.secret {
                // Secrets read back as `$encrypted$` when set, never as themselves.
                let set = field.write_only
                    || row.get(field.name).is_some_and(|v| !v.is_null() && v != "");
                if set {
                    Value::String("$encrypted$".into())
                } else {
                    Value::String(String::new())
                }
            } else if field.write_only || field.internal {
                continue;
            } else {
                // Encrypted values inside JSON (credential inputs) read as `$encrypted$`.
                let mut value = row.remove(field.name).unwrap_or(Value::Null);
                crate::crypto::fields::mask_in_place(&mut value);
                value
            };
            object.insert(field.name.into(), value);
        }
        if resource.type_name == crate::rbac::role_resource::ROLE.type_name {
            describe_role(&mut object);
        }
        out.push(Value::Object(object));
    }
    out
}

/// A template's `last_job` and `recent_jobs` (its ten newest, newest
/// first), as AWX's template serializers summarize them: one statement for
/// the page, each template's jobs read newest first from an index.
async fn job_history(
    client: &impl crate::store::pool::Queryable,
    resource: &Resource,
    ids: &[i64],
) -> Result<HashMap<i64, Map<String, Value>>, StoreError> {
    let mut out: HashMap<i64, Map<String, Value>> = HashMap::new();
    if !matches!(resource.type_name, "job_template" | "workflow_job_template") || ids.is_empty() {
        return Ok(out);
    }
    for id in ids {
        out.entry(*id)
            .or_default()
            .insert("recent_jobs".into(), Value::Array(Vec::new()));
    }
    let rows = client
        .fetch(
            "SELECT 0 AS part, t.id, j.id, j.name, j.description, j.status, j.failed,
                    j.finished, j.canceled_on, j.kind, j.created
               FROM unnest($1::int8[]) AS t(id)
              CROSS JOIN LATERAL (
                    SELECT * FROM unified_jobs j WHERE j.unified_job_template_id = t.id
                     ORDER BY j.created DESC, j.id DESC LIMIT 10) j
             UNION ALL
             SELECT 1, u.id, j.id, j.name, j.description, j.status, j.failed,
                    j.finished, j.canceled_on, j.kind, j.created
               FROM unified_job_templates u JOIN unified_jobs j ON j.id = u.last_job_id
              WHERE u.id = ANY($1)
              ORDER BY 1, 2, 11 DESC, 3 DESC",
            &[&ids],
        )
        .await?;
    let time = |value: Option<chrono::DateTime<chrono::Utc>>| crate::api::time::iso_opt(&value);
    for row in rows {
        let template: i64 = row.try_get(1)?;
        let entry = out.entry(template).or_default();
        if row.try_get::<_, i32>(0)? == 0 {
            let item = json!({
                "id": row.try_get::<_, i64>(2)?,
                "status": row.try_get::<_, String>(5)?,
                "finished": time(row.try_get(7)?),
                "canceled_on": time(row.try_get(8)?),
                "type": row.try_get::<_, String>(9)?,
            });
            if let Some(Value::Array(list)) = entry.get_mut("recent_jobs") {
                list.push(item);
            }
        } else {
            entry.insert(
                "last_job".into(),
                json!({
                    "id": row.try_get::<_, i64>(2)?,
                    "name": row.try_get::<_, String>(3)?,
                    "description": row.try_get::<_, String>(4)?,
                    "finished": time(row.try_get(7)?),
                    "status": row.try_get::<_, String>(5)?,
                    "failed": row.try_get::<_, bool>(6)?,
                }),
            );
        }
    }
    Ok(out)
}

/// The relation summaries of an object of `resource` that is in no
/// relation and ran no job (a new one).
fn no_relations(resource: &Resource) -> Map<String, Value> {
    let mut summary = Map::new();
    match resource.type_name {
        "job_template" | "workflow_job_template" => {
            if resource.type_name == "job_template" {
                summary.insert("credentials".into(), json!([]));
            }
            summary.insert("labels".into(), json!({"count": 0, "results": []}));
            summary.insert("recent_jobs".into(), json!([]));
        }
        "host" => summary = crate::inventory::host_without_relations(),
        _ => {}
    }
    summary
}

/// The many-to-many summaries AWX shows on templates: `credentials` and `labels`.
async fn many_to_many(
    client: &impl crate::store::pool::Queryable,
    resource: &Resource,
    ids: &[i64],
) -> Result<HashMap<i64, Map<String, Value>>, StoreError> {
    let mut out: HashMap<i64, Map<String, Value>> =
        ids.iter().map(|id| (*id, no_relations(resource))).collect();
    let (credentials, labels) = match resource.type_name {
        "job_template" => (
            Some("job_template_credentials"),
            Some(("job_template_labels", "job_template_id")),
        ),
        "workflow_job_template" => (
            None,
            Some(("workflow_job_template_labels", "workflow_job_template_id")),
        ),
        // A host's groups and recent jobs, as AWX's HostSerializer shows them.
        "host" => return crate::inventory::host_summaries(client, ids).await,
        _ => return Ok(out),
    };
    if let Some(table) = credentials {
        let rows = client
            .fetch(
                &format!(
                    "SELECT j.job_template_id, c.id, c.name, c.description, t.namespace, t.kind = 'cloud', t.id
                       FROM {table} j JOIN credentials c ON c.id = j.credential_id
                       JOIN credential_types t ON t.id = c.credential_type_id
                      WHERE j.job_template_id = ANY($1) ORDER BY c.name"
                ),
                &[&ids],
            )
            .await?;
        for row in rows {
            let item = json!({"id": row.get::<_, i64>(1), "name": row.get::<_, String>(2),
                "description": row.get::<_, String>(3), "kind": row.get::<_, Option<String>>(4),
                "cloud": row.get::<_, bool>(5), "credential_type_id": row.get::<_, i64>(6)});
            if let Some(Value::Array(list)) = out
                .get_mut(&row.get::<_, i64>(0))
                .and_then(|m| m.get_mut("credentials"))
            {
                list.push(item);
            }
        }
    }
    if let Some((table, column)) = labels {
        let rows = client
            .fetch(
                &format!(
                    "SELECT j.{column}, l.id, l.name FROM {table} j JOIN labels l ON l.id = j.label_id
                      WHERE j.{column} = ANY($1) ORDER BY l.name"
                ),
                &[&ids],
            )
            .await?;
        for row in rows {
            if let Some(labels) = out
                .get_mut(&row.get::<_, i64>(0))
                .and_then(|m| m.get_mut("labels"))
                && let Some(Value::Array(list)) = labels.get_mut("results")
            {
                list.push(json!({"id": row.get::<_, i64>(1), "name": row.get::<_, String>(2)}));
                let count = list.len();
                labels["count"] = Value::from(count);
            }
        }
    }
    Ok(out)
}

/// A role reads as AWX shows it: `name` and `description` from the
/// declaration of its object's resource, the object in `summary_fields`.
fn describe_role(object: &mut Map<String, Value>) {
    let field = object
        .remove("role_field")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let resource_type = object.remove("resource_type").unwrap_or(Value::Null);
    let resource_id = object.remove("resource_id").unwrap_or(Value::Null);
    let resource_name = object.remove("resource_name").unwrap_or(Value::Null);
    let declared = resource_type
        .as_str()
        .and_then(resources::by_type)
        .and_then(|r| {
            r.roles
                .iter()
                .find(|role| role.field == field)
                .map(|role| (r, role))
        });
    let (name, description, display) = match declared {
        Some((r, role)) => (
            role.name.to_string(),
            role.description.to_string(),
            r.display.to_string(),
        ),
        None => match field.as_str() {
            "system_administrator" => (
                "System Administrator".into(),
                "Can manage all aspects of the system".into(),
                String::new(),
            ),
            "system_auditor" => (
                "System Auditor".into(),
                "Can view all aspects of the system".into(),
                String::new(),
            ),
            other => (
                other.trim_end_matches("_role").replace('_', " "),
                String::new(),
                String::new(),
            ),
        },
    };
    if let Some(summary) = object
        .get_mut("summary_fields")
        .and_then(Value::as_object_mut)
    {
        summary.remove("user_capabilities");
        if !resource_type.is_null() {
            summary.insert("resource_name".into(), resource_name);
            summary.insert("resource_type".into(), resource_type);
            summary.insert("resource_type_display_name".into(), Value::String(display));
            summary.insert("resource_id".into(), resource_id);
        }
    }
    object.insert("name".into(), Value::String(name));
    object.insert("description".into(), Value::String(description));
}
