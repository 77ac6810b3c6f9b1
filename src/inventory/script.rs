//! AWX's inventory script: the JSON document `GET /inventories/N/script/`
//! returns and a job's `inventory/hosts` prints, built as AWX's
//! `Inventory.get_script_data` builds it.
//!
//! `all` holds the inventory's variables (when it has any), the hosts in no
//! group and every group as a child; each group with hosts, children or
//! variables gets its own entry; `_meta.hostvars` (with `hostvars`) has each
//! host's variables, plus `remote_host_enabled`/`remote_host_id` and
//! `remote_tower_enabled`/`remote_tower_id` with `towervars`. Only enabled
//! hosts unless `show_all`. A smart inventory has no groups: its hosts are
//! all under `all`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{Host, InventoryError, group_edges, hosts_of};
use crate::resource::validate::parse_vars;
use crate::store::Db;
use crate::store::pool::Queryable;

/// What the document includes (AWX's `hostvars`, `towervars`, `all` and
/// `subset=sliceNofM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub hostvars: bool,
    pub towervars: bool,
    pub show_all: bool,
    /// 1-based; with `slice_count` > 1 the hosts are `hosts[n-1::count]`.
    pub slice_number: usize,
    pub slice_count: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hostvars: false,
            towervars: false,
            show_all: false,
            slice_number: 1,
            slice_count: 1,
        }
    }
}

impl Options {
    /// What a job's script holds (AWX's `build_inventory`).
    pub fn for_job(slice_number: usize, slice_count: usize) -> Options {
        Options {
            hostvars: true,
            towervars: true,
            show_all: false,
            slice_number,
            slice_count,
        }
    }
}

/// Why a `subset` was refused, in AWX's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubsetError {
    #[error("Subset does not use any supported syntax.")]
    Unsupported,
    #[error("Could not parse subset as slice specification.")]
    Unparsable,
    #[error("Slice number must be less than total number of slices.")]
    TooLarge,
    #[error("Slice number must be 1 or higher.")]
    TooSmall,
}

/// `sliceNofM` as (N, M).
pub fn parse_subset(subset: &str) -> Result<(usize, usize), SubsetError> {
    let Some(rest) = subset.strip_prefix("slice") else {
        return Err(SubsetError::Unsupported);
    };
    let (number, count) = rest.split_once("of").ok_or(SubsetError::Unparsable)?;
    let digits = |s: &str| -> Result<usize, SubsetError> {
        // AWX's pattern only anchors the start: `slice1of2x` reads as 1 of 2.
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..end].parse().map_err(|_| SubsetError::Unparsable)
    };
    if !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(SubsetError::Unparsable);
    }
    let (number, count) = (digits(number)?, digits(count)?);
    if number > count {
        return Err(SubsetError::TooLarge);
    }
    if number < 1 {
        return Err(SubsetError::TooSmall);
    }
    Ok((number, count))
}

/// The document and the id of each host by name (what a job links its
/// events to).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub document: Value,
    pub host_ids: HashMap<String, i64>,
}

fn vars(text: &str) -> Map<String, Value> {
    // Variables were checked when written; text that no longer parses
    // contributes nothing rather than failing every run.
    parse_vars(text).unwrap_or_default()
}

/// The script document of inventory `inventory`.
pub async fn document(
    db: &Db,
    inventory: i64,
    options: &Options,
) -> Result<Script, InventoryError> {
    let (inventory, hosts) = hosts_of(db, inventory, options.show_all).await?;
    let hosts: Vec<Host> = if options.slice_count > 1 && options.slice_number > 0 {
        hosts
            .into_iter()
            .skip(options.slice_number - 1)
            .step_by(options.slice_count)
            .collect()
    } else {
        hosts
    };
    let names: HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();

    let mut data = Map::new();
    let mut all = Map::new();
    let inventory_vars = vars(&inventory.variables);
    if !inventory_vars.is_empty() {
        all.insert("vars".into(), Value::Object(inventory_vars));
    }
    if inventory.is_smart() {
        all.insert(
            "hosts".into(),
            hosts.iter().map(|h| Value::from(h.name.as_str())).collect(),
        );
        data.insert("all".into(), Value::Object(all));
    } else {
        let conn = db.get().await?;
        let groups = groups(&*conn, inventory.id).await?;
        let edges = group_edges(&*conn, inventory.id).await?;
        drop(conn);
        let by_id: HashMap<i64, &str> = groups.iter().map(|g| (g.id, g.name.as_str())).collect();
        let mut children: HashMap<i64, Vec<&str>> = HashMap::new();
        for (parent, child) in &edges {
            if let Some(name) = by_id.get(child) {
                children.entry(*parent).or_default().push(name);
            }
        }
        let mut grouped: HashSet<&str> = HashSet::new();
        let mut entries = Vec::new();
        for group in &groups {
            let mut info = Map::new();
            // Members outside this slice (or disabled) are left out, as in AWX.
            let members: Vec<Value> = group
                .hosts
                .iter()
                .filter(|h| names.contains(h.as_str()))
                .map(|h| Value::from(h.as_str()))
                .collect();
            grouped.extend(
                group
                    .hosts
                    .iter()
                    .map(String::as_str)
                    .filter(|h| names.contains(h)),
            );
            if !members.is_empty() {
                info.insert("hosts".into(), Value::Array(members));
            }
            if let Some(kids) = children.get_mut(&group.id) {
                kids.sort_unstable();
                info.insert(
                    "children".into(),
                    kids.iter().map(|k| Value::from(*k)).collect(),
                );
            }
            let group_vars = vars(&group.variables);
            if !group_vars.is_empty() {
                info.insert("vars".into(), Value::Object(group_vars));
            }
            if !info.is_empty() {
                entries.push((group.name.clone(), Value::Object(info)));
            }
        }
        all.insert(
            "hosts".into(),
            hosts
                .iter()
                .filter(|h| !grouped.contains(h.name.as_str()))
                .map(|h| Value::from(h.name.as_str()))
                .collect(),
        );
        if !groups.is_empty() {
            all.insert(
                "children".into(),
                groups
                    .iter()
                    .map(|g| Value::from(g.name.as_str()))
                    .collect(),
            );
        }
        data.insert("all".into(), Value::Object(all));
        for (name, info) in entries {
            // A group named `all` would replace the implicit one; AWX's
            // dict does the same, so keep its behavior.
            data.insert(name, info);
        }
    }
    if options.hostvars {
        let mut hostvars = Map::new();
        for host in &hosts {
            let mut host_vars = vars(&host.variables);
            if options.towervars {
                for prefix in ["host", "tower"] {
                    host_vars.insert(
                        format!("remote_{prefix}_enabled"),
                        Value::String(host.enabled.to_string()),
                    );
                    host_vars.insert(format!("remote_{prefix}_id"), Value::from(host.id));
                }
            }
            hostvars.insert(host.name.clone(), Value::Object(host_vars));
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        data.insert("_meta".into(), Value::Object(meta));
    }
    Ok(Script {
        host_ids: hosts.iter().map(|h| (h.name.clone(), h.id)).collect(),
        document: Value::Object(data),
    })
}

/// The variables of host `name` of the inventory (AWX's `?host=NAME`), if
/// the inventory has it (enabled, unless `show_all`).
pub async fn host_variables(
    db: &Db,
    inventory: i64,
    name: &str,
    show_all: bool,
) -> Result<Option<Value>, InventoryError> {
    let (_, hosts) = hosts_of(db, inventory, show_all).await?;
    Ok(hosts
        .into_iter()
        .find(|h| h.name == name)
        .map(|h| Value::Object(vars(&h.variables))))
}

/// A job's `inventory/hosts`: an executable that prints the document.
pub fn executable(document: &Value) -> String {
    // Serialized JSON escapes every newline, so the heredoc's terminator
    // can never appear on a line of its own inside it.
    format!("#!/bin/sh\ncat <<'RAWX_INVENTORY_END'\n{document}\nRAWX_INVENTORY_END\n")
}

struct Group {
    id: i64,
    name: String,
    variables: String,
    /// Member host names, sorted.
    hosts: Vec<String>,
}

/// The inventory's groups by name, with their members of the same inventory.
async fn groups(client: &impl Queryable, inventory: i64) -> Result<Vec<Group>, InventoryError> {
    let rows = client
        .fetch(
            "SELECT g.id, g.name, g.variables,
                    coalesce((SELECT array_agg(h.name ORDER BY h.name) FROM group_hosts gh
                                JOIN hosts h ON h.id = gh.host_id
                               WHERE gh.group_id = g.id AND h.inventory_id = $1), '{}')
               FROM groups g WHERE g.inventory_id = $1 ORDER BY g.name, g.id",
            &[&inventory],
        )
        .await
        .map_err(crate::store::StoreError::from)?;
    Ok(rows
        .iter()
        .map(|r| Group {
            id: r.get(0),
            name: r.get(1),
            variables: r.get(2),
            hosts: r.get(3),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_read_as_awx_reads_them() {
        assert_eq!(parse_subset("slice1of3"), Ok((1, 3)));
        assert_eq!(parse_subset("slice3of3"), Ok((3, 3)));
        assert_eq!(parse_subset("slice4of3"), Err(SubsetError::TooLarge));
        assert_eq!(parse_subset("slice0of3"), Err(SubsetError::TooSmall));
        assert_eq!(parse_subset("sliceXof3"), Err(SubsetError::Unparsable));
        assert_eq!(parse_subset("slice1"), Err(SubsetError::Unparsable));
        assert_eq!(parse_subset("slice1of"), Err(SubsetError::Unparsable));
        assert_eq!(parse_subset("first"), Err(SubsetError::Unsupported));
        assert_eq!(
            parse_subset("slice99999999999999999999999of2"),
            Err(SubsetError::Unparsable)
        );
    }

    #[test]
    fn the_executable_prints_the_document_verbatim() {
        let doc = serde_json::json!({"all": {"hosts": ["a\nRAWX_INVENTORY_END"]}});
        let script = executable(&doc);
        assert_eq!(
            script
                .lines()
                .filter(|l| *l == "RAWX_INVENTORY_END")
                .count(),
            1
        );
        assert!(script.starts_with("#!/bin/sh\n"));
    }
}
