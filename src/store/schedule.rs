//! The TaskManager's pass: which pending unified jobs start now, and the
//! project updates they need first. One leader per cluster (an advisory
//! lock); the decisions are made in Rust over one snapshot of the pending
//! jobs, and written back in a handful of statements, so a pass stays fast
//! however many jobs wait.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;

use super::placement::{self, Instances};
use super::{Db, StoreError};

/// The channel a TaskManager listens on: whoever creates pending work
/// notifies it, in the same transaction.
pub const CHANNEL: &str = "rawx_task_manager";

/// Records a new pending update as its template's current and last job,
/// and tells every TaskManager of the cluster (they hear it once the
/// caller's transaction commits).
pub async fn announce(
    tx: &impl super::pool::Queryable,
    job: i64,
    template: i64,
) -> Result<(), StoreError> {
    tx.run(
        "UPDATE unified_job_templates SET current_job_id = $1, last_job_id = $1, status = 'pending' WHERE id = $2",
        &[&job, &template],
    )
    .await?;
    tx.run("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
    Ok(())
}

/// Announces launched jobs for many launches at once: each launch's job is
/// committed on its own, and its template's `last_job`/`status` and the
/// cluster's notice are written by one statement per batch. Launches of one
/// template would otherwise queue on the template's row lock and on
/// PostgreSQL's notify lock, each until the previous commit was flushed.
#[derive(Clone)]
pub struct Announcer {
    queue: tokio::sync::mpsc::UnboundedSender<Notice>,
}

struct Notice {
    template: i64,
    job: i64,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl Announcer {
    /// Starts the batching task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (queue, mut notices) = tokio::sync::mpsc::unbounded_channel::<Notice>();
        tokio::spawn(async move {
            while let Some(first) = notices.recv().await {
                let mut batch = vec![first];
                while let Ok(next) = notices.try_recv() {
                    batch.push(next);
                }
                let (templates, jobs): (Vec<i64>, Vec<i64>) =
                    batch.iter().map(|n| (n.template, n.job)).unzip();
                let mut result = announce_jobs(&db, &templates, &jobs).await;
                if result.is_err() {
                    // Two nodes' batches can deadlock on template rows; one retry settles it.
                    result = announce_jobs(&db, &templates, &jobs).await;
                }
                let result = result.map_err(|err| err.to_string());
                for notice in batch {
                    let _ = notice.done.send(result.clone());
                }
            }
        });
        Announcer { queue }
    }

    /// Records `job` as `template`'s last job and tells every TaskManager;
    /// returns once that is committed.
    pub async fn announce(&self, template: i64, job: i64) -> Result<(), StoreError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Notice {
                template,
                job,
                done,
            })
            .map_err(|_| StoreError::Pool("the launch announcer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Pool("the launch announcer has stopped".into()))?
            .map_err(StoreError::Pool)
    }
}

async fn announce_jobs(db: &Db, templates: &[i64], jobs: &[i64]) -> Result<(), StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(
            "WITH latest AS (
                 SELECT t, max(j) AS j FROM unnest($1::bigint[], $2::bigint[]) AS n(t, j) GROUP BY t
             ), templates AS (
                 UPDATE unified_job_templates u SET last_job_id = latest.j, status = 'pending'
                   FROM latest WHERE u.id = latest.t AND (u.last_job_id IS NULL OR u.last_job_id < latest.j)
             )
             SELECT pg_notify($3, '')",
        )
        .await?;
    conn.execute(&statement, &[&templates, &jobs, &CHANNEL])
        .await?;
    Ok(())
}

/// New jobs whose dependencies one pass looks at, at most.
const DEPENDENCY_CHUNK: usize = 1_000;

/// The lock that makes one TaskManager the leader of a pass.
const LEADER_LOCK: i64 = 7268647801;

/// What a pass decided.
#[derive(Debug, Default)]
pub struct Pass {
    /// Unified jobs moved to `waiting` on this node, in launch order.
    pub started: Vec<i64>,
    /// Jobs failed because a job they depended on failed.
    pub failed: Vec<i64>,
    /// Project updates created as dependencies.
    pub created: Vec<i64>,
    /// False when another node held the leader lock.
    pub leader: bool,
    /// New jobs are left whose dependencies this pass did not look at:
    /// another pass should follow at once.
    pub more: bool,
}

/// One pending unified job, as the pass sees it.
#[derive(Debug)]
struct Pending {
    id: i64,
    kind: String,
    impact: i32,
    dependencies_processed: bool,
    template: Option<i64>,
    allow_simultaneous: bool,
    project: Option<i64>,
    /// The inventory a job, ad hoc command or inventory update works on.
    inventory: Option<i64>,
    /// An inventory update's source.
    source: Option<i64>,
    /// The job's project's SCM type (empty: manual).
    scm_type: String,
    update_on_launch: bool,
    cache_timeout: i32,
}

/// One scheduling pass for `node`.
pub async fn run(db: &Db, node: &str) -> Result<Pass, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let leader: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LEADER_LOCK])
        .await?
        .get(0);
    if !leader {
        return Ok(Pass::default());
    }
    let mut pass = Pass {
        leader: true,
        ..Pass::default()
    };
    let active = Active::load(&tx).await?;
    let mut instances = Instances::load(&tx, node, &active.by_node).await?;
    // With every instance full (or disabled) nothing can start: only new
    // jobs need a look (their dependencies), not every job already waiting
    // — what keeps a pass cheap under a burst of launches.
    let full = instances.full();
    let mut pending = pending(&tx, full).await?;
    // A burst of new jobs is taken a chunk per pass, so a pass stays short;
    // the jobs beyond the chunk are not candidates until their turn.
    let mut new: Vec<&Pending> = pending
        .iter()
        .filter(|j| j.kind == "job" && !j.dependencies_processed)
        .collect();
    let later: HashSet<i64> = new
        .split_off(new.len().min(DEPENDENCY_CHUNK))
        .iter()
        .map(|j| j.id)
        .collect();
    pass.more = !later.is_empty();
    let created = create_dependencies(&tx, &new).await?;
    if !created.is_empty() {
        pass.created = created;
        // The new updates are candidates of this same pass.
        pending = self::pending(&tx, full).await?;
    }
    let dependencies = dependency_states(&tx).await?;
    let mut failed = Vec::new();
    let mut blocked_by_dependency = HashSet::new();
    for (job, states) in &dependencies {
        if let Some((kind, name, id)) = states.iter().find_map(|d| d.failed.clone()) {
            failed.push((
                *job,
                format!(
                    "Previous Task Failed: {{\"job_type\": \"{kind}\", \"job_name\": \"{name}\", \"job_id\": \"{id}\"}}"
                ),
            ));
        } else if states.iter().any(|d| !d.successful) {
            blocked_by_dependency.insert(*job);
        }
    }
    for (job, explanation) in &failed {
        tx.execute(
            "UPDATE unified_jobs SET status = 'failed', failed = true, finished = now(), job_explanation = $2,
                    event_processing_finished = true, modified = now()
              WHERE id = $1 AND status = 'pending'",
            &[job, explanation],
        )
        .await?;
        pass.failed.push(*job);
    }
    let failed: HashSet<i64> = failed.into_iter().map(|(id, _)| id).collect();

    if full {
        pending.clear();
    }
    let mut busy_templates = active.templates;
    let mut updating_projects = active.updating_projects;
    let mut updating_sources = active.updating_sources;
    let mut busy_inventories = active.busy_inventories;
    let launched = if pending.is_empty() {
        HashMap::new()
    } else {
        placement::launched_groups(&tx).await?
    };
    // The groups of every (template, inventory) pair that may be placed,
    // read at once.
    let pairs: HashSet<(Option<i64>, Option<i64>)> = pending
        .iter()
        .filter(|j| {
            matches!(
                j.kind.as_str(),
                "job" | "ad_hoc_command" | "inventory_update"
            )
        })
        .filter(|j| !launched.contains_key(&j.id) && !later.contains(&j.id))
        .map(|j| (j.template.filter(|_| j.kind == "job"), j.inventory))
        .collect();
    instances
        .prefetch_groups(&tx, &pairs.into_iter().collect::<Vec<_>>())
        .await?;
    // Where each started job goes, by node.
    let mut placed: HashMap<(String, Option<i64>), Vec<i64>> = HashMap::new();
    for job in &pending {
        if failed.contains(&job.id)
            || blocked_by_dependency.contains(&job.id)
            || later.contains(&job.id)
        {
            continue;
        }
        // AWX's blocking rules (the first of two conflicting tasks wins).
        let blocked = match job.kind.as_str() {
            "project_update" => job.project.is_some_and(|p| updating_projects.contains(&p)),
            "inventory_update" => job.source.is_some_and(|s| updating_sources.contains(&s)),
            "ad_hoc_command" => job.inventory.is_some_and(|i| busy_inventories.contains(&i)),
            _ => {
                job.project.is_some_and(|p| updating_projects.contains(&p))
                    || job.inventory.is_some_and(|i| busy_inventories.contains(&i))
                    || (!job.allow_simultaneous
                        && job.template.is_some_and(|t| busy_templates.contains(&t)))
            }
        };
        if blocked {
            continue;
        }
        let target = match job.kind.as_str() {
            // Project updates stay on the control plane (they fill its
            // project cache); the rest go where their groups say.
            "job" | "ad_hoc_command" | "inventory_update" => {
                let groups = match launched.get(&job.id) {
                    Some(groups) => groups.clone(),
                    None => {
                        let template = job.template.filter(|_| job.kind == "job");
                        instances.groups_of(&tx, template, job.inventory).await?
                    }
                };
                instances.place(&groups, job.impact)
            }
            _ => instances.place_local(job.impact),
        };
        let Some(target) = target else {
            continue;
        };
        placed.entry(target).or_default().push(job.id);
        match job.kind.as_str() {
            "project_update" => updating_projects.extend(job.project),
            "inventory_update" => {
                updating_sources.extend(job.source);
                // Jobs and commands on the inventory wait for its update.
                busy_inventories.extend(job.inventory);
            }
            "ad_hoc_command" => busy_inventories.extend(job.inventory),
            _ => busy_templates.extend(job.template),
        }
        pass.started.push(job.id);
    }
    // This node controls every run it starts, on itself or on an
    // execution node through the mesh.
    for ((target, group), ids) in &placed {
        tx.execute(
            "UPDATE unified_jobs SET status = 'waiting', execution_node = $1, controller_node = $2,
                    instance_group_id = coalesce($3, instance_group_id), modified = now()
              WHERE id = ANY($4) AND status = 'pending'",
            &[target, &node, group, ids],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(pass)
}

/// The pending unified jobs a pass reads, without its order (a macro so
/// both queries below are literals: `concat!` takes no constants).
macro_rules! pending_select {
    () => {
        "SELECT u.id, u.kind, u.task_impact, u.dependencies_processed, j.job_template_id,
                coalesce(j.allow_simultaneous, false), coalesce(j.project_id, pu.project_id),
                coalesce(p.scm_type, ''), coalesce(p.scm_update_on_launch, false),
                coalesce(p.scm_update_cache_timeout, 0), coalesce(j.inventory_id, a.inventory_id, iu.inventory_id),
                iu.inventory_source_id
           FROM unified_jobs u
           LEFT JOIN jobs j ON j.id = u.id
           LEFT JOIN project_updates pu ON pu.id = u.id
           LEFT JOIN inventory_updates iu ON iu.id = u.id
           LEFT JOIN ad_hoc_commands a ON a.id = u.id
           LEFT JOIN projects p ON p.id = j.project_id
          WHERE u.status = 'pending'
            AND u.kind IN ('job', 'project_update', 'inventory_update', 'ad_hoc_command')"
    };
}

/// The pass's read of every pending unified job (public for the benchmark
/// that compares a pass with this read alone).
pub const PENDING_SQL: &str = concat!(pending_select!(), " ORDER BY u.id");

/// The jobs whose dependencies no pass has looked at yet: what a pass reads
/// when nothing can start. A text of its own, so the partial index on
/// exactly those rows serves it (a parameter in the condition would keep
/// the generic plan off the index).
const PENDING_NEW_SQL: &str = concat!(
    pending_select!(),
    " AND NOT u.dependencies_processed ORDER BY u.id"
);

async fn pending(tx: &Transaction<'_>, only_new: bool) -> Result<Vec<Pending>, StoreError> {
    let sql = if only_new {
        PENDING_NEW_SQL
    } else {
        PENDING_SQL
    };
    let rows = tx.query(sql, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| Pending {
            id: r.get(0),
            kind: r.get(1),
            impact: r.get(2),
            dependencies_processed: r.get(3),
            template: r.get(4),
            allow_simultaneous: r.get(5),
            project: r.get(6),
            scm_type: r.get(7),
            update_on_launch: r.get(8),
            cache_timeout: r.get(9),
            inventory: r.get(10),
            source: r.get(11),
        })
        .collect())
}

/// Gives each new job the project update it needs: an update already on
/// its way, or a new one when the project updates on launch and its last
/// successful update is older than the cache timeout (or it never had one).
async fn create_dependencies(
    tx: &Transaction<'_>,
    new: &[&Pending],
) -> Result<Vec<i64>, StoreError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let projects: Vec<i64> = new
        .iter()
        .filter(|j| !j.scm_type.is_empty())
        .filter_map(|j| j.project)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut state: HashMap<i64, (Option<i64>, Option<DateTime<Utc>>)> = HashMap::new();
    if !projects.is_empty() {
        for row in tx
            .query(
                "SELECT p.id,
                        (SELECT pu.id FROM project_updates pu JOIN unified_jobs u ON u.id = pu.id
                          WHERE pu.project_id = p.id AND pu.job_type = 'check'
                            AND u.status IN ('pending', 'waiting', 'running')
                          ORDER BY u.id DESC LIMIT 1),
                        (SELECT max(u.finished) FROM project_updates pu JOIN unified_jobs u ON u.id = pu.id
                          WHERE pu.project_id = p.id AND pu.job_type = 'check' AND u.status = 'successful')
                   FROM projects p WHERE p.id = ANY($1)",
                &[&projects],
            )
            .await?
        {
            state.insert(row.get(0), (row.get(1), row.get(2)));
        }
    }
    let now = Utc::now();
    let mut created = Vec::new();
    let mut links: Vec<(i64, i64)> = Vec::new();
    for job in new {
        let Some(project) = job.project.filter(|_| !job.scm_type.is_empty()) else {
            continue;
        };
        let Some((active, last_ok)) = state.get_mut(&project) else {
            continue;
        };
        let stale = match last_ok {
            None => true,
            Some(at) => {
                job.update_on_launch
                    && (job.cache_timeout == 0
                        || *at + chrono::Duration::seconds(i64::from(job.cache_timeout)) < now)
            }
        };
        let update = match active {
            Some(update) => *update,
            None if stale => {
                let update =
                    super::project_updates::create(tx, project, None, "dependency").await?;
                created.push(update);
                *active = Some(update);
                update
            }
            None => continue,
        };
        links.push((job.id, update));
    }
    for (job, update) in &links {
        tx.execute(
            "UPDATE jobs SET project_update_id = $2 WHERE id = $1",
            &[job, update],
        )
        .await?;
    }
    links.extend(inventory_dependencies(tx, new, now, &mut created).await?);
    if !links.is_empty() {
        let (jobs, updates): (Vec<i64>, Vec<i64>) = links.iter().copied().unzip();
        tx.execute(
            "INSERT INTO unified_job_dependencies (job_id, depends_on_id)
             SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING",
            &[&jobs, &updates],
        )
        .await?;
    }
    let ids: Vec<i64> = new.iter().map(|j| j.id).collect();
    tx.execute(
        "UPDATE unified_jobs SET dependencies_processed = true WHERE id = ANY($1)",
        &[&ids],
    )
    .await?;
    Ok(created)
}

/// The inventory updates new jobs need: one per `update_on_launch` source
/// of their inventory whose last successful update is older than its cache
/// timeout (or that never had one); an update already on its way is shared.
async fn inventory_dependencies(
    tx: &Transaction<'_>,
    new: &[&Pending],
    now: DateTime<Utc>,
    created: &mut Vec<i64>,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let inventories: Vec<i64> = new
        .iter()
        .filter(|j| j.kind == "job")
        .filter_map(|j| j.inventory)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if inventories.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT s.id, s.inventory_id, s.update_cache_timeout,
                    (SELECT iu.id FROM inventory_updates iu JOIN unified_jobs u ON u.id = iu.id
                      WHERE iu.inventory_source_id = s.id AND u.status IN ('pending', 'waiting', 'running')
                      ORDER BY u.id DESC LIMIT 1),
                    (SELECT max(u.finished) FROM inventory_updates iu JOIN unified_jobs u ON u.id = iu.id
                      WHERE iu.inventory_source_id = s.id AND u.status = 'successful')
               FROM inventory_sources s
              WHERE s.inventory_id = ANY($1) AND s.update_on_launch
              ORDER BY s.id",
            &[&inventories],
        )
        .await?;
    // Per inventory: each source with its update to depend on (made lazily).
    let mut sources: HashMap<i64, Vec<(i64, Option<i64>, bool)>> = HashMap::new();
    for row in rows {
        let timeout: i32 = row.get(2);
        let last_ok: Option<DateTime<Utc>> = row.get(4);
        let stale = match last_ok {
            None => true,
            Some(at) => timeout == 0 || at + chrono::Duration::seconds(i64::from(timeout)) < now,
        };
        sources
            .entry(row.get(1))
            .or_default()
            .push((row.get(0), row.get(3), stale));
    }
    let mut links = Vec::new();
    for job in new.iter().filter(|j| j.kind == "job") {
        let Some(list) = job.inventory.and_then(|i| sources.get_mut(&i)) else {
            continue;
        };
        for (source, active, stale) in list.iter_mut() {
            let update = match active {
                Some(update) => *update,
                None if *stale => {
                    let update =
                        super::inventory_updates::create(tx, *source, None, "dependency").await?;
                    created.push(update);
                    *active = Some(update);
                    update
                }
                None => continue,
            };
            links.push((job.id, update));
        }
    }
    Ok(links)
}

/// One dependency of a pending job.
struct DependencyState {
    successful: bool,
    /// Kind, name and id of a dependency that ended badly.
    failed: Option<(String, String, i64)>,
}

/// The dependencies of every pending job, with how far each has got.
async fn dependency_states(
    tx: &Transaction<'_>,
) -> Result<HashMap<i64, Vec<DependencyState>>, StoreError> {
    let rows = tx
        .query(
            "SELECT d.job_id, dep.id, dep.kind, dep.name, dep.status
               FROM unified_job_dependencies d
               JOIN unified_jobs u ON u.id = d.job_id
               JOIN unified_jobs dep ON dep.id = d.depends_on_id
              WHERE u.status = 'pending'",
            &[],
        )
        .await?;
    let mut states: HashMap<i64, Vec<DependencyState>> = HashMap::new();
    for row in rows {
        let status: String = row.get(4);
        let failed = matches!(status.as_str(), "failed" | "error" | "canceled")
            .then(|| (row.get(2), row.get(3), row.get(1)));
        states.entry(row.get(0)).or_default().push(DependencyState {
            successful: status == "successful",
            failed,
        });
    }
    Ok(states)
}

/// What is already running, and where.
struct Active {
    templates: HashSet<i64>,
    updating_projects: HashSet<i64>,
    updating_sources: HashSet<i64>,
    /// Inventories with an inventory update or an ad hoc command on the way.
    busy_inventories: HashSet<i64>,
    /// Each node's consumed capacity and count of runs.
    by_node: HashMap<String, (i64, i64)>,
}

impl Active {
    async fn load(tx: &Transaction<'_>) -> Result<Active, StoreError> {
        let rows = tx
            .query(
                "SELECT u.kind, coalesce(j.job_template_id, 0), coalesce(pu.project_id, 0), u.task_impact,
                        u.execution_node, coalesce(iu.inventory_source_id, 0),
                        coalesce(iu.inventory_id, a.inventory_id, 0)
                   FROM unified_jobs u
                   LEFT JOIN jobs j ON j.id = u.id
                   LEFT JOIN project_updates pu ON pu.id = u.id
                   LEFT JOIN inventory_updates iu ON iu.id = u.id
                   LEFT JOIN ad_hoc_commands a ON a.id = u.id
                  WHERE u.status IN ('waiting', 'running')",
                &[],
            )
            .await?;
        let mut active = Active {
            templates: HashSet::new(),
            updating_projects: HashSet::new(),
            updating_sources: HashSet::new(),
            busy_inventories: HashSet::new(),
            by_node: HashMap::new(),
        };
        for row in rows {
            let kind: String = row.get(0);
            match kind.as_str() {
                "job" => {
                    active.templates.insert(row.get(1));
                }
                "project_update" => {
                    active.updating_projects.insert(row.get(2));
                }
                "inventory_update" => {
                    active.updating_sources.insert(row.get(5));
                    active.busy_inventories.insert(row.get(6));
                }
                "ad_hoc_command" => {
                    active.busy_inventories.insert(row.get(6));
                }
                _ => {}
            }
            let used = active.by_node.entry(row.get(4)).or_default();
            used.0 += i64::from(row.get::<_, i32>(3));
            used.1 += 1;
        }
        Ok(active)
    }
}
