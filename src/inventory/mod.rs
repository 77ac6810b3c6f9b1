//! Inventories as jobs and the API read them: which hosts an inventory has
//! (a smart inventory's come from its `host_filter`), the groups above a
//! host and the hosts below a group, AWX's inventory script, and the
//! summaries AWX shows on hosts.
//!
//! A smart inventory's hosts are, as in AWX's `HostManager`, the hosts of
//! every inventory of its organization that the filter matches, one per
//! name (the oldest). AWX takes every organization's hosts when a smart
//! inventory has none; rawx takes only the hosts of organization-less
//! inventories then, so a filter never reaches across organizations.

pub mod host_filter;
pub mod script;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::store::pool::Queryable;
use crate::store::resource::{Condition, Param};
use crate::store::{Db, StoreError};
pub use host_filter::FilterError;

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A smart inventory whose stored filter no longer compiles.
    #[error("host_filter: {0}")]
    Filter(#[from] FilterError),
    #[error("inventory {0} does not exist")]
    Missing(i64),
}

impl From<tokio_postgres::Error> for InventoryError {
    fn from(err: tokio_postgres::Error) -> Self {
        InventoryError::Store(StoreError::Query(err))
    }
}

impl From<bb8::RunError<crate::store::pool::ConnectError>> for InventoryError {
    fn from(err: bb8::RunError<crate::store::pool::ConnectError>) -> Self {
        InventoryError::Store(StoreError::from(err))
    }
}

/// What decides an inventory's hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub id: i64,
    pub kind: String,
    pub host_filter: Option<String>,
    pub organization: Option<i64>,
    /// Inventory variables, YAML or JSON text.
    pub variables: String,
}

impl Inventory {
    pub fn is_smart(&self) -> bool {
        self.kind == "smart"
    }
}

/// One host as a job or the script sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub id: i64,
    pub name: String,
    pub variables: String,
    pub enabled: bool,
}

/// Inventory `id`, if it exists.
pub async fn load(client: &impl Queryable, id: i64) -> Result<Option<Inventory>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT id, kind, host_filter, organization_id, variables FROM inventories WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| Inventory {
        id: r.get(0),
        kind: r.get(1),
        host_filter: r.get(2),
        organization: r.get(3),
        variables: r.get(4),
    }))
}

/// The hosts (`{o}`) of a smart inventory of `organization` whose filter is
/// `filter`: one per name, the oldest, chosen after `enabled_only` applies
/// (as AWX filters before its `DISTINCT ON`).
pub fn smart_hosts(
    filter: &str,
    organization: Option<i64>,
    enabled_only: bool,
) -> Result<Condition, FilterError> {
    let compiled = host_filter::compile(filter)?;
    let enabled = if enabled_only { " AND hfh.enabled" } else { "" };
    let sql = format!(
        "{{o}}.id IN (SELECT DISTINCT ON (hfh.name) hfh.id FROM hosts hfh \
           JOIN inventories hfi ON hfi.id = hfh.inventory_id \
          WHERE hfi.organization_id IS NOT DISTINCT FROM ?{enabled} AND {} \
          ORDER BY hfh.name, hfh.id)",
        compiled.sql.replace("{o}", "hfh")
    );
    let mut params: Vec<Param> = vec![Box::new(organization)];
    params.extend(
        compiled
            .params
            .into_iter()
            .map(host_filter::FilterParam::into_param),
    );
    Ok(Condition::new(sql, params))
}

/// The hosts (`{o}`) an inventory has: its own, or a smart inventory's
/// matches.
pub fn hosts_condition(
    inventory: &Inventory,
    enabled_only: bool,
) -> Result<Condition, FilterError> {
    match (&inventory.host_filter, inventory.is_smart()) {
        (Some(filter), true) => smart_hosts(filter, inventory.organization, enabled_only),
        // A smart inventory without a filter matches nothing, as in AWX.
        (None, true) => Ok(Condition::new("FALSE", Vec::new())),
        (_, false) => {
            let enabled = if enabled_only { " AND {o}.enabled" } else { "" };
            Ok(Condition::new(
                format!("{{o}}.inventory_id = ?{enabled}"),
                vec![Box::new(inventory.id)],
            ))
        }
    }
}

/// A condition as a hand-written statement's WHERE clause: `{o}` becomes
/// `alias`, each `?` the next `$n`.
fn spliced(condition: Condition, alias: &str) -> (String, Vec<Param>) {
    (
        host_filter::number_params(&condition.sql.replace("{o}", alias), 1),
        condition.params,
    )
}

/// The inventory and its hosts by name (then id), all of them or the
/// enabled ones.
pub async fn hosts_of(
    db: &Db,
    inventory: i64,
    show_all: bool,
) -> Result<(Inventory, Vec<Host>), InventoryError> {
    let conn = db.get().await?;
    let inventory = load(&*conn, inventory)
        .await?
        .ok_or(InventoryError::Missing(inventory))?;
    let (filter, params) = spliced(hosts_condition(&inventory, !show_all)?, "h");
    let rows = conn
        .fetch(
            &format!(
                "SELECT h.id, h.name, h.variables, h.enabled FROM hosts h WHERE {filter} ORDER BY h.name, h.id"
            ),
            &crate::store::resource::param_refs(&params),
        )
        .await?;
    let hosts = rows
        .iter()
        .map(|r| Host {
            id: r.get(0),
            name: r.get(1),
            variables: r.get(2),
            enabled: r.get(3),
        })
        .collect();
    Ok((inventory, hosts))
}

/// The enabled hosts a job on `inventory` runs on, by name.
pub async fn inventory_hosts(db: &Db, inventory: i64) -> Result<Vec<Host>, InventoryError> {
    Ok(hosts_of(db, inventory, false).await?.1)
}

/// The groups (`{o}`) host `?` is in, directly or through a child group
/// (a host's `all_groups/`).
pub const ALL_GROUPS_OF_HOST: &str = "{o}.id IN (WITH RECURSIVE up(id) AS (
         SELECT group_id FROM group_hosts WHERE host_id = ?
         UNION SELECT gc.parent_id FROM group_children gc JOIN up ON gc.child_id = up.id)
       SELECT id FROM up)";

/// The hosts (`{o}`) of group `?` and of every group below it (a group's
/// `all_hosts/`).
pub const ALL_HOSTS_OF_GROUP: &str = "{o}.id IN (WITH RECURSIVE down(id) AS (
         SELECT ?::int8
         UNION SELECT gc.child_id FROM group_children gc JOIN down ON gc.parent_id = down.id)
       SELECT gh.host_id FROM group_hosts gh JOIN down ON gh.group_id = down.id)";

/// Each group's children within inventory `inventory`: (parent, child).
pub async fn group_edges(
    client: &impl Queryable,
    inventory: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(client
        .fetch(
            "SELECT gc.parent_id, gc.child_id FROM group_children gc
               JOIN groups p ON p.id = gc.parent_id JOIN groups c ON c.id = gc.child_id
              WHERE p.inventory_id = $1 AND c.inventory_id = $1",
            &[&inventory],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// A host's `host_summaries` when it is in no group and ran no job.
pub fn host_without_relations() -> Map<String, Value> {
    let mut summary = Map::new();
    summary.insert("groups".into(), json!({"count": 0, "results": []}));
    summary.insert("recent_jobs".into(), json!([]));
    summary
}

/// What AWX's host serializer adds to `summary_fields`: the first five
/// `groups` by id with their count, and the five most recent jobs that ran
/// on the host (`recent_jobs`); by host id.
pub async fn host_summaries(
    client: &impl Queryable,
    ids: &[i64],
) -> Result<HashMap<i64, Map<String, Value>>, StoreError> {
    let mut out: HashMap<i64, Map<String, Value>> = ids
        .iter()
        .map(|id| (*id, host_without_relations()))
        .collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let groups = client
        .fetch(
            "SELECT x.host_id, x.count, x.id, x.name FROM (
                 SELECT gh.host_id, g.id, g.name,
                        count(*) OVER (PARTITION BY gh.host_id) AS count,
                        row_number() OVER (PARTITION BY gh.host_id ORDER BY g.id) AS n
                   FROM group_hosts gh JOIN groups g ON g.id = gh.group_id
                  WHERE gh.host_id = ANY($1)) x
              WHERE x.n <= 5 ORDER BY x.host_id, x.id",
            &[&ids],
        )
        .await?;
    for row in groups {
        let host: i64 = row.get(0);
        let count: i64 = row.get(1);
        if let Some(Value::Object(summary)) = out.get_mut(&host).and_then(|m| m.get_mut("groups")) {
            summary.insert("count".into(), Value::from(count));
            if let Some(Value::Array(list)) = summary.get_mut("results") {
                list.push(json!({"id": row.get::<_, i64>(2), "name": row.get::<_, String>(3)}));
            }
        }
    }
    let jobs = client
        .fetch(
            "SELECT x.host_id, x.job_id, x.name, x.status, x.finished FROM (
                 SELECT s.host_id, u.id AS job_id, coalesce(t.name, '') AS name, u.status, u.finished,
                        row_number() OVER (PARTITION BY s.host_id ORDER BY s.created DESC, s.id DESC) AS n
                   FROM job_host_summaries s
                   JOIN unified_jobs u ON u.id = s.job_id
                   JOIN jobs j ON j.id = s.job_id
                   LEFT JOIN unified_job_templates t ON t.id = j.job_template_id
                  WHERE s.host_id = ANY($1)) x
              WHERE x.n <= 5 ORDER BY x.host_id, x.n",
            &[&ids],
        )
        .await?;
    for row in jobs {
        let host: i64 = row.get(0);
        let finished: Option<chrono::DateTime<chrono::Utc>> = row.get(4);
        let item = json!({
            "id": row.get::<_, i64>(1),
            "name": row.get::<_, String>(2),
            "type": "job",
            "status": row.get::<_, String>(3),
            "finished": finished.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        });
        if let Some(Value::Array(list)) = out.get_mut(&host).and_then(|m| m.get_mut("recent_jobs"))
        {
            list.push(item);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smart_condition_dedups_by_name_within_the_organization() {
        let condition = match smart_hosts("name__startswith=web", Some(3), true) {
            Ok(condition) => condition,
            Err(err) => panic!("{err}"),
        };
        assert!(
            condition
                .sql
                .starts_with("{o}.id IN (SELECT DISTINCT ON (hfh.name) hfh.id")
        );
        assert!(condition.sql.contains("hfi.organization_id IS NOT DISTINCT FROM ? AND hfh.enabled AND ((hfh.\"name\")::text LIKE ?)"), "{}", condition.sql);
        assert!(condition.sql.ends_with("ORDER BY hfh.name, hfh.id)"));
        assert_eq!(condition.params.len(), 2);
        // Only the outer row is left for the store to name.
        assert_eq!(condition.sql.matches("{o}").count(), 1);
    }

    #[test]
    fn a_regular_inventory_has_its_own_hosts() {
        let inventory = Inventory {
            id: 9,
            kind: String::new(),
            host_filter: None,
            organization: None,
            variables: String::new(),
        };
        let condition = match hosts_condition(&inventory, true) {
            Ok(condition) => condition,
            Err(err) => panic!("{err}"),
        };
        assert_eq!(condition.sql, "{o}.inventory_id = ? AND {o}.enabled");
        let (sql, params) = spliced(condition, "h");
        assert_eq!(sql, "h.inventory_id = $1 AND h.enabled");
        assert_eq!(params.len(), 1);
        let smart = Inventory {
            kind: "smart".into(),
            ..inventory
        };
        assert!(hosts_condition(&smart, false).is_ok_and(|c| c.sql == "FALSE"));
    }
}
