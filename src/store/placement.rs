//! Where a starting unified job runs: the instances that may take work
//! (this node, and the execution nodes the mesh reaches and a health check
//! measured), what each has left of its capacity, and the instance groups
//! a job may use, in AWX's order: the groups it was launched with, else its
//! template's, its inventory's and its organization's, else `default`.

use std::collections::HashMap;

use tokio_postgres::Transaction;

use super::StoreError;

/// One instance that may take work, and what it runs now.
#[derive(Debug)]
struct Slot {
    /// Negative: disabled or not ready, takes nothing.
    capacity: i64,
    consumed: i64,
    running: i64,
    /// Only hybrid and execution nodes run jobs; control nodes run updates.
    runs_jobs: bool,
}

impl Slot {
    fn usable(&self) -> bool {
        self.capacity >= 0
    }

    fn fits(&self, impact: i64) -> bool {
        self.usable() && self.consumed + impact <= self.capacity
    }

    fn idle(&self) -> bool {
        self.usable() && self.running == 0
    }

    fn take(&mut self, impact: i64) {
        self.consumed += impact;
        self.running += 1;
    }
}

/// The instances of a pass, with what they have left.
#[derive(Debug)]
pub(super) struct Instances {
    local: String,
    slots: HashMap<String, Slot>,
    /// Instance group id → its members that may take work.
    groups: HashMap<i64, Vec<String>>,
    /// (template, inventory) → the groups its jobs may use, in order.
    job_groups: HashMap<(Option<i64>, Option<i64>), Vec<i64>>,
}

impl Instances {
    /// Reads this node (`local`) and the execution instances; `running` is
    /// each node's consumed capacity and count of runs.
    pub(super) async fn load(
        tx: &Transaction<'_>,
        local: &str,
        running: &HashMap<String, (i64, i64)>,
    ) -> Result<Self, StoreError> {
        // Computed here rather than read from `capacity`, so a changed
        // adjustment or a disabled instance counts at once, not at the next
        // beat; an execution node counts once the mesh reaches it and a
        // health check found it well.
        let rows = tx
            .query(
                "SELECT i.hostname, i.node_type,
                        CASE WHEN i.enabled AND (i.node_type <> 'execution'
                                 OR (i.node_state = 'ready' AND i.errors = '' AND i.last_health_check IS NOT NULL))
                             THEN (least(i.cpu_capacity, i.mem_capacity)
                                   + (greatest(i.cpu_capacity, i.mem_capacity) - least(i.cpu_capacity, i.mem_capacity))
                                     * i.capacity_adjustment)::int8
                             ELSE -1 END,
                        coalesce(array_agg(g.instance_group_id) FILTER (WHERE g.instance_group_id IS NOT NULL), '{}')
                   FROM instances i
                   LEFT JOIN instance_group_instances g ON g.instance_id = i.id
                  WHERE i.hostname = $1 OR i.node_type = 'execution'
                  GROUP BY i.id",
                &[&local],
            )
            .await?;
        let mut instances = Instances {
            local: local.to_owned(),
            slots: HashMap::new(),
            groups: HashMap::new(),
            job_groups: HashMap::new(),
        };
        for row in rows {
            let hostname: String = row.get(0);
            let node_type: String = row.get(1);
            let (consumed, count) = running.get(&hostname).copied().unwrap_or_default();
            for group in row.get::<_, Vec<i64>>(3) {
                instances
                    .groups
                    .entry(group)
                    .or_default()
                    .push(hostname.clone());
            }
            instances.slots.insert(
                hostname,
                Slot {
                    capacity: row.get(2),
                    consumed,
                    running: count,
                    runs_jobs: matches!(node_type.as_str(), "hybrid" | "execution"),
                },
            );
        }
        // A node without its row yet (before its first heartbeat) still
        // runs what it is given, as before the heartbeat existed.
        let (consumed, count) = running.get(local).copied().unwrap_or_default();
        instances.slots.entry(local.to_owned()).or_insert(Slot {
            capacity: 0,
            consumed,
            running: count,
            runs_jobs: true,
        });
        Ok(instances)
    }

    /// Whether no instance could take anything now.
    pub(super) fn full(&self) -> bool {
        self.slots
            .values()
            .all(|s| !s.usable() || (s.running > 0 && s.consumed >= s.capacity))
    }

    /// Places a project update on this node, as AWX runs them on the
    /// control plane; one always runs on an idle node.
    pub(super) fn place_local(&mut self, impact: i32) -> Option<(String, Option<i64>)> {
        let impact = i64::from(impact.max(0));
        let slot = self.slots.get_mut(&self.local)?;
        if !(slot.fits(impact) || slot.idle()) {
            return None;
        }
        slot.take(impact);
        Some((self.local.clone(), None))
    }

    /// Places a job, ad hoc command or inventory update on an instance of
    /// `groups`: in each group in turn, the member with the most capacity
    /// left that fits, or else the largest idle one (AWX's rules).
    pub(super) fn place(&mut self, groups: &[i64], impact: i32) -> Option<(String, Option<i64>)> {
        let impact = i64::from(impact.max(0));
        for group in groups {
            let Some(members) = self.groups.get(group) else {
                continue;
            };
            let eligible = |name: &&String| {
                self.slots
                    .get(*name)
                    .is_some_and(|s| s.runs_jobs && (**name == self.local || s.capacity > 0))
            };
            let fitting = members
                .iter()
                .filter(eligible)
                .filter(|name| self.slots[*name].fits(impact))
                .max_by_key(|name| self.slots[*name].capacity - self.slots[*name].consumed);
            let chosen = fitting
                .or_else(|| {
                    members
                        .iter()
                        .filter(eligible)
                        .filter(|name| self.slots[*name].idle())
                        .max_by_key(|name| self.slots[*name].capacity)
                })
                .cloned();
            if let Some(name) = chosen {
                if let Some(slot) = self.slots.get_mut(&name) {
                    slot.take(impact);
                }
                return Some((name, Some(*group)));
            }
        }
        None
    }

    /// Reads the groups of every (template, inventory) pair in `pairs` not
    /// read yet, in one statement: a pass over the jobs of a hundred
    /// templates would otherwise pay a round trip per template.
    pub(super) async fn prefetch_groups(
        &mut self,
        tx: &Transaction<'_>,
        pairs: &[(Option<i64>, Option<i64>)],
    ) -> Result<(), StoreError> {
        let mut templates: Vec<Option<i64>> = Vec::new();
        let mut inventories: Vec<Option<i64>> = Vec::new();
        for pair in pairs {
            if !self.job_groups.contains_key(pair) {
                templates.push(pair.0);
                inventories.push(pair.1);
            }
        }
        if templates.is_empty() {
            return Ok(());
        }
        let rows = tx
            .query(
                "SELECT w.t, w.i, coalesce(
                     nullif(
                         array(SELECT instance_group_id FROM job_template_instance_groups
                                WHERE job_template_id = w.t ORDER BY position, instance_group_id)
                         || array(SELECT instance_group_id FROM inventory_instance_groups
                                   WHERE inventory_id = w.i ORDER BY position, instance_group_id)
                         || array(SELECT o.instance_group_id FROM organization_instance_groups o
                                   WHERE o.organization_id = coalesce(
                                       (SELECT organization_id FROM unified_job_templates WHERE id = w.t),
                                       (SELECT organization_id FROM inventories WHERE id = w.i))
                                   ORDER BY o.position, o.instance_group_id),
                         '{}'),
                     array(SELECT id FROM instance_groups WHERE name = 'default'))
                   FROM unnest($1::int8[], $2::int8[]) AS w(t, i)",
                &[&templates, &inventories],
            )
            .await?;
        for row in rows {
            self.job_groups.insert((row.get(0), row.get(1)), row.get(2));
        }
        Ok(())
    }

    /// The groups a job of `template` on `inventory` may use, in order.
    pub(super) async fn groups_of(
        &mut self,
        tx: &Transaction<'_>,
        template: Option<i64>,
        inventory: Option<i64>,
    ) -> Result<Vec<i64>, StoreError> {
        self.prefetch_groups(tx, &[(template, inventory)]).await?;
        Ok(self
            .job_groups
            .get(&(template, inventory))
            .cloned()
            .unwrap_or_default())
    }
}

/// The instance groups pending jobs were launched with (a prompt): read
/// through the partial index on exactly those launch configurations.
pub(super) async fn launched_groups(
    tx: &Transaction<'_>,
) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
    let rows = tx
        .query(
            "SELECT lc.job_id, array(SELECT g::bigint FROM jsonb_array_elements_text(lc.prompts->'instance_groups') g)
               FROM unified_job_launch_configs lc
               JOIN unified_jobs u ON u.id = lc.job_id AND u.status = 'pending'
              WHERE jsonb_typeof(lc.prompts->'instance_groups') = 'array'",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .filter(|(_, groups): &(i64, Vec<i64>)| !groups.is_empty())
        .collect())
}
