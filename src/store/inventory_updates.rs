//! Inventory updates: an inventory source synced by `ansible-inventory`, a
//! kind of unified job; and the import of its output, batched (a fixed
//! number of statements whatever the inventory's size).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::pool::Queryable;
use super::{Db, StoreError};
use crate::resource::validate::parse_vars;

/// Creates a pending update of inventory source `source`; returns its id.
pub async fn create(
    tx: &impl Queryable,
    source: i64,
    user: Option<i64>,
    launch_type: &str,
) -> Result<i64, StoreError> {
    let row = tx
        .fetch_one(
            "WITH s AS (
                 SELECT u.name, u.description, u.organization_id, u.execution_environment_id, src.*
                   FROM inventory_sources src JOIN unified_job_templates u ON u.id = src.id WHERE src.id = $1
             ), parent AS (
                 INSERT INTO unified_jobs (kind, name, description, unified_job_template_id, organization_id,
                                           execution_environment_id, launch_type, launched_by_id, status,
                                           task_impact, created_by, modified_by)
                 SELECT 'inventory_update', s.name, s.description, s.id,
                        coalesce(s.organization_id, (SELECT organization_id FROM inventories WHERE id = s.inventory_id)),
                        s.execution_environment_id, $3, $2, 'pending', 1, $2, $2
                   FROM s
                 RETURNING id
             )
             INSERT INTO inventory_updates (id, inventory_source_id, inventory_id, source, source_path, source_vars,
                                            scm_branch, credential_id, overwrite, overwrite_vars, timeout, verbosity,
                                            \"limit\", enabled_var, enabled_value, host_filter)
             SELECT parent.id, s.id, s.inventory_id, s.source, s.source_path, s.source_vars, s.scm_branch,
                    s.credential_id, s.overwrite, s.overwrite_vars, s.timeout, s.verbosity, s.\"limit\",
                    s.enabled_var, s.enabled_value, s.host_filter
               FROM parent, s
             RETURNING id",
            &[&source, &user, &launch_type],
        )
        .await?;
    let id: i64 = row.get(0);
    tx.run(
        "INSERT INTO job_credentials (job_id, credential_id)
         SELECT $1, credential_id FROM inventory_sources WHERE id = $2 AND credential_id IS NOT NULL",
        &[&id, &source],
    )
    .await?;
    super::schedule::announce(tx, id, source).await?;
    Ok(id)
}

/// Starts updates of `sources` for `user` now; returns their ids.
pub async fn launch(db: &Db, sources: &[i64], user: i64) -> Result<Vec<i64>, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let mut ids = Vec::new();
    for source in sources {
        ids.push(create(&tx, *source, Some(user), "manual").await?);
    }
    tx.commit().await?;
    Ok(ids)
}

/// What the dispatcher needs to run an update.
#[derive(Debug, Clone)]
pub struct UpdateSpec {
    pub id: i64,
    pub created: DateTime<Utc>,
    pub source_id: i64,
    pub inventory: Option<i64>,
    pub source: String,
    pub source_path: String,
    pub source_vars: String,
    pub credential: Option<i64>,
    pub timeout: i32,
    pub verbosity: i32,
    pub limit: String,
    pub overwrite: bool,
    pub overwrite_vars: bool,
    pub enabled_var: String,
    pub enabled_value: String,
    pub host_filter: String,
    /// The source's project (SCM sources): id, SCM type, local path.
    pub project: Option<(i64, String, String)>,
}

/// The update's settings.
pub async fn spec(db: &Db, id: i64) -> Result<Option<UpdateSpec>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            "SELECT u.id, u.created, iu.inventory_source_id, iu.inventory_id, iu.source, iu.source_path,
                    iu.source_vars, iu.credential_id, iu.timeout, iu.verbosity, iu.\"limit\", iu.overwrite,
                    iu.overwrite_vars, iu.enabled_var, iu.enabled_value, iu.host_filter,
                    p.id, p.scm_type, p.local_path
               FROM unified_jobs u JOIN inventory_updates iu ON iu.id = u.id
               JOIN inventory_sources s ON s.id = iu.inventory_source_id
               LEFT JOIN projects p ON p.id = s.source_project_id
              WHERE u.id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| UpdateSpec {
        id: r.get(0),
        created: r.get(1),
        source_id: r.get(2),
        inventory: r.get(3),
        source: r.get(4),
        source_path: r.get(5),
        source_vars: r.get(6),
        credential: r.get(7),
        timeout: r.get(8),
        verbosity: r.get(9),
        limit: r.get(10),
        overwrite: r.get(11),
        overwrite_vars: r.get(12),
        enabled_var: r.get(13),
        enabled_value: r.get(14),
        host_filter: r.get(15),
        project: r
            .get::<_, Option<i64>>(16)
            .map(|id| (id, r.get(17), r.get(18))),
    }))
}

/// Why `ansible-inventory`'s output could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the inventory output is not a JSON object")]
    NotAnObject,
    #[error("host_filter is not a valid regular expression: {0}")]
    HostFilter(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one sync found, ready to be written.
#[derive(Debug, Default, PartialEq)]
pub struct Inventory {
    /// The `all` group's variables (they go on the inventory).
    pub all_vars: Map<String, Value>,
    /// Host name → variables, enabled.
    pub hosts: Vec<(String, Map<String, Value>, bool)>,
    pub groups: Vec<Group>,
}

/// One group of a sync.
#[derive(Debug, Default, PartialEq)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    pub hosts: Vec<String>,
    pub children: Vec<String>,
}

/// How a source's settings shape an import.
pub struct ImportRules<'a> {
    pub enabled_var: &'a str,
    pub enabled_value: &'a str,
    pub host_filter: &'a str,
}

/// Reads `ansible-inventory --list --export` output the way AWX's import
/// does: `all` and `ungrouped` are not groups, `enabled_var` (a dotted path
/// into the host's variables) compared with `enabled_value` decides
/// `enabled`, `host_filter` (a regular expression) keeps only matching hosts.
pub fn parse(output: &Value, rules: &ImportRules<'_>) -> Result<Inventory, ImportError> {
    let document = output.as_object().ok_or(ImportError::NotAnObject)?;
    let filter = if rules.host_filter.is_empty() {
        None
    } else {
        Some(
            regex_lite::Regex::new(rules.host_filter)
                .map_err(|e| ImportError::HostFilter(e.to_string()))?,
        )
    };
    let keep = |name: &str| filter.as_ref().is_none_or(|f| f.is_match(name));
    let empty = Map::new();
    let hostvars = document
        .get("_meta")
        .and_then(|m| m.get("hostvars"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let names = |group: &Value, key: &str| -> Vec<String> {
        group
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let vars_of = |group: &Value| {
        group
            .get("vars")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mut inventory = Inventory::default();
    let mut host_names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut note_host = |name: &str, host_names: &mut Vec<String>| {
        if keep(name) && seen.insert(name.to_string()) {
            host_names.push(name.to_string());
        }
    };
    for name in hostvars.keys() {
        note_host(name, &mut host_names);
    }
    for (name, group) in document {
        if name == "_meta" {
            continue;
        }
        for host in names(group, "hosts") {
            note_host(&host, &mut host_names);
        }
        match name.as_str() {
            "all" => inventory.all_vars = vars_of(group),
            "ungrouped" => {}
            _ => {
                let hosts = names(group, "hosts")
                    .into_iter()
                    .filter(|h| keep(h))
                    .collect();
                let children = names(group, "children")
                    .into_iter()
                    .filter(|c| c != "ungrouped")
                    .collect();
                inventory.groups.push(Group {
                    name: name.clone(),
                    vars: vars_of(group),
                    hosts,
                    children,
                });
            }
        }
    }
    for name in host_names {
        let vars = hostvars
            .get(&name)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let enabled = enabled(&vars, rules.enabled_var, rules.enabled_value);
        inventory.hosts.push((name, vars, enabled));
    }
    Ok(inventory)
}

/// AWX's rule: without `enabled_var` a host is enabled; with it, the value
/// at that (dotted) path equals `enabled_value`, or is truthy when no
/// value is given.
fn enabled(vars: &Map<String, Value>, var: &str, value: &str) -> bool {
    if var.is_empty() {
        return true;
    }
    let mut current: Option<&Value> = None;
    for (i, part) in var.split('.').enumerate() {
        current = if i == 0 {
            vars.get(part)
        } else {
            current.and_then(|v| v.get(part))
        };
    }
    let Some(found) = current else {
        return true;
    };
    if value.is_empty() {
        return match found {
            Value::Bool(b) => *b,
            Value::Null => false,
            Value::String(s) => !s.is_empty() && s != "false" && s != "False",
            Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
            _ => true,
        };
    }
    let text = match found {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    };
    text == value
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    pub hosts: usize,
    pub groups: usize,
    pub hosts_removed: u64,
    pub groups_removed: u64,
    /// Statements the import ran (it is batched: this does not grow with
    /// the inventory).
    pub statements: usize,
}

/// Writes an import into inventory `inventory` for source `source`, in one
/// transaction, with AWX's `overwrite` (remove what this source imported
/// before and no longer returns, and memberships it no longer lists) and
/// `overwrite_vars` (replace variables instead of merging) semantics.
pub async fn apply(
    db: &Db,
    source: i64,
    inventory: i64,
    found: &Inventory,
    overwrite: bool,
    overwrite_vars: bool,
) -> Result<Counts, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let mut counts = Counts::default();
    let merge = |old: &str, new: &Map<String, Value>| -> String {
        if overwrite_vars {
            return Value::Object(new.clone()).to_string();
        }
        let mut merged = parse_vars(old).unwrap_or_default();
        for (key, value) in new {
            merged.insert(key.clone(), value.clone());
        }
        Value::Object(merged).to_string()
    };

    // Hosts: merge variables with what exists, then one upsert.
    let host_names: Vec<String> = found.hosts.iter().map(|h| h.0.clone()).collect();
    let existing: HashMap<String, String> = tx
        .query(
            "SELECT name, variables FROM hosts WHERE inventory_id = $1 AND name = ANY($2)",
            &[&inventory, &host_names],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    counts.statements += 1;
    let host_vars: Vec<String> = found
        .hosts
        .iter()
        .map(|(name, vars, _)| merge(existing.get(name).map_or("", String::as_str), vars))
        .collect();
    let host_enabled: Vec<bool> = found.hosts.iter().map(|h| h.2).collect();
    let host_ids: HashMap<String, i64> = tx
        .query(
            "INSERT INTO hosts (inventory_id, name, variables, enabled)
             SELECT $1, n, v, e FROM unnest($2::text[], $3::text[], $4::bool[]) AS t(n, v, e)
             ON CONFLICT (inventory_id, name) DO UPDATE
                SET variables = EXCLUDED.variables, enabled = EXCLUDED.enabled, modified = now()
             RETURNING name, id",
            &[&inventory, &host_names, &host_vars, &host_enabled],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    counts.statements += 1;
    counts.hosts = host_ids.len();

    // Groups, likewise.
    let group_names: Vec<String> = found.groups.iter().map(|g| g.name.clone()).collect();
    let existing: HashMap<String, String> = tx
        .query(
            "SELECT name, variables FROM groups WHERE inventory_id = $1 AND name = ANY($2)",
            &[&inventory, &group_names],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    counts.statements += 1;
    let group_vars: Vec<String> = found
        .groups
        .iter()
        .map(|g| merge(existing.get(&g.name).map_or("", String::as_str), &g.vars))
        .collect();
    let group_ids: HashMap<String, i64> = tx
        .query(
            "INSERT INTO groups (inventory_id, name, variables)
             SELECT $1, n, v FROM unnest($2::text[], $3::text[]) AS t(n, v)
             ON CONFLICT (inventory_id, name) DO UPDATE SET variables = EXCLUDED.variables, modified = now()
             RETURNING name, id",
            &[&inventory, &group_names, &group_vars],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    counts.statements += 1;
    counts.groups = group_ids.len();

    // What this source imported, for `/inventory_sources/N/hosts/` and overwrite.
    let all_hosts: Vec<i64> = host_ids.values().copied().collect();
    let all_groups: Vec<i64> = group_ids.values().copied().collect();
    tx.execute(
        "INSERT INTO host_inventory_sources (host_id, inventory_source_id)
         SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING",
        &[&all_hosts, &source],
    )
    .await?;
    tx.execute(
        "INSERT INTO group_inventory_sources (group_id, inventory_source_id)
         SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING",
        &[&all_groups, &source],
    )
    .await?;
    counts.statements += 2;

    // Memberships.
    let (mut member_groups, mut member_hosts) = (Vec::new(), Vec::new());
    let (mut parents, mut children) = (Vec::new(), Vec::new());
    for found_group in &found.groups {
        let Some(group) = group_ids.get(&found_group.name) else {
            continue;
        };
        for host in &found_group.hosts {
            if let Some(host) = host_ids.get(host) {
                member_groups.push(*group);
                member_hosts.push(*host);
            }
        }
        for child in &found_group.children {
            if let Some(child) = group_ids.get(child)
                && child != group
            {
                parents.push(*group);
                children.push(*child);
            }
        }
    }
    tx.execute(
        "INSERT INTO group_hosts (group_id, host_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
        &[&member_groups, &member_hosts],
    )
    .await?;
    tx.execute(
        "INSERT INTO group_children (parent_id, child_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
        &[&parents, &children],
    )
    .await?;
    counts.statements += 2;

    if overwrite {
        counts.hosts_removed = tx
            .execute(
                "DELETE FROM hosts WHERE inventory_id = $1 AND NOT (id = ANY($3))
                    AND id IN (SELECT host_id FROM host_inventory_sources WHERE inventory_source_id = $2)",
                &[&inventory, &source, &all_hosts],
            )
            .await?;
        counts.groups_removed = tx
            .execute(
                "DELETE FROM groups WHERE inventory_id = $1 AND NOT (id = ANY($3))
                    AND id IN (SELECT group_id FROM group_inventory_sources WHERE inventory_source_id = $2)",
                &[&inventory, &source, &all_groups],
            )
            .await?;
        // Memberships of this source's groups that the source no longer lists.
        tx.execute(
            "DELETE FROM group_hosts gh
              WHERE gh.group_id = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS m(g, h)
                                 WHERE m.g = gh.group_id AND m.h = gh.host_id)",
            &[&all_groups, &member_groups, &member_hosts],
        )
        .await?;
        tx.execute(
            "DELETE FROM group_children gc
              WHERE gc.parent_id = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS m(p, c)
                                 WHERE m.p = gc.parent_id AND m.c = gc.child_id)",
            &[&all_groups, &parents, &children],
        )
        .await?;
        counts.statements += 4;
    }

    if !found.all_vars.is_empty() || overwrite_vars {
        let old: String = tx
            .query_one(
                "SELECT variables FROM inventories WHERE id = $1",
                &[&inventory],
            )
            .await?
            .get(0);
        tx.execute(
            "UPDATE inventories SET variables = $2, modified = now() WHERE id = $1",
            &[&inventory, &merge(&old, &found.all_vars)],
        )
        .await?;
        counts.statements += 2;
    }
    tx.commit().await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn export_output_becomes_hosts_groups_and_memberships() {
        let output = json!({
            "_meta": {"hostvars": {"web1": {"on": "yes", "x": 1}, "web2": {"on": "no"}, "db1": {}}},
            "all": {"children": ["ungrouped", "web", "db"], "vars": {"env": "prod"}},
            "ungrouped": {"hosts": ["lonely"]},
            "web": {"hosts": ["web1", "web2"], "vars": {"port": 80}, "children": ["edge"]},
            "edge": {"hosts": []},
            "db": {"hosts": ["db1"]}
        });
        let rules = ImportRules {
            enabled_var: "on",
            enabled_value: "yes",
            host_filter: "",
        };
        let found = parse(&output, &rules).expect("parse");
        assert_eq!(
            found.all_vars,
            json!({"env": "prod"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        let hosts: Vec<(&str, bool)> = found.hosts.iter().map(|h| (h.0.as_str(), h.2)).collect();
        assert_eq!(
            hosts,
            [
                ("web1", true),
                ("web2", false),
                ("db1", true),
                ("lonely", true)
            ]
        );
        let web = found.groups.iter().find(|g| g.name == "web").expect("web");
        assert_eq!(web.hosts, ["web1", "web2"]);
        assert_eq!(web.children, ["edge"]);
        assert!(
            found
                .groups
                .iter()
                .all(|g| g.name != "all" && g.name != "ungrouped")
        );

        let rules = ImportRules {
            enabled_var: "",
            enabled_value: "",
            host_filter: "^web",
        };
        let found = parse(&output, &rules).expect("parse");
        let names: Vec<&str> = found.hosts.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(names, ["web1", "web2"]);
        assert!(parse(&json!([]), &rules).is_err());
        let bad = ImportRules {
            enabled_var: "",
            enabled_value: "",
            host_filter: "(",
        };
        assert!(parse(&output, &bad).is_err());
    }

    #[test]
    fn enabled_follows_awx() {
        let vars = json!({"status": {"state": "running"}, "flag": false})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(enabled(&vars, "status.state", "running"));
        assert!(!enabled(&vars, "status.state", "stopped"));
        assert!(!enabled(&vars, "flag", ""));
        assert!(enabled(&vars, "missing", "x"));
        assert!(enabled(&vars, "", ""));
    }
}
