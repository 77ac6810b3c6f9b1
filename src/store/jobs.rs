//! Jobs: created from a template at launch, scheduled, run and finished.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Db, StoreError};

/// What a launch (or a relaunch) sets instead of the template's values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub inventory: Option<i64>,
    pub limit: Option<String>,
    /// The merged extra variables, as JSON text (survey passwords shown
    /// as `$encrypted$`).
    pub extra_vars: String,
    /// Survey password answers, encrypted, by variable.
    pub survey_passwords: serde_json::Map<String, Value>,
    pub job_type: Option<String>,
    pub job_tags: Option<String>,
    pub skip_tags: Option<String>,
    pub verbosity: Option<i32>,
    pub diff_mode: Option<bool>,
    pub scm_branch: Option<String>,
    pub forks: Option<i32>,
    pub timeout: Option<i32>,
    pub job_slice_count: Option<i32>,
    pub execution_environment: Option<i64>,
    pub credentials: Option<Vec<i64>>,
    pub labels: Option<Vec<i64>>,
    pub instance_groups: Option<Vec<i64>>,
    /// `manual`, or `relaunch`.
    pub launch_type: &'static str,
}

/// Jobs this node controlled that were waiting or running when it stopped:
/// nothing runs them now, so they fail with AWX's explanation — except
/// jobs running on an execution node, whose unit goes on there and is
/// followed again. Returns the ids of the jobs that failed, and the work
/// units of this node's own executor they leave behind (to release).
pub async fn reap(db: &Db, node: &str) -> Result<(Vec<i64>, Vec<String>), StoreError> {
    let conn = db.get().await?;
    let rows = conn
        .query(
            "UPDATE unified_jobs SET status = 'failed', failed = true, finished = now(),
                    elapsed = extract(epoch FROM now() - coalesce(started, created)),
                    job_explanation = 'Job reaped due to instance shutdown',
                    event_processing_finished = true, modified = now()
              WHERE controller_node = $1 AND status IN ('waiting', 'running')
                AND NOT (kind = 'job' AND work_unit_id IS NOT NULL AND execution_node NOT IN ('', controller_node))
              RETURNING work_unit_id, id",
            &[&node],
        )
        .await?;
    let jobs = rows.iter().map(|r| r.get(1)).collect();
    Ok((jobs, units_of(&rows)))
}

/// The work unit ids in the first column of `rows`, where there is one.
fn units_of(rows: &[tokio_postgres::Row]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.get::<_, Option<String>>(0))
        .filter(|unit| !unit.is_empty())
        .collect()
}

/// What a restarted node finds of its runs: the jobs to take back, and the
/// work units of its own executor whose runs it lost (failed here), to
/// release.
pub struct Recovered {
    pub jobs: Vec<i64>,
    pub lost_units: Vec<String>,
}

/// After the Dispatcher restarted: the runs it lost fail as AWX's reaper
/// fails them; the jobs waiting for it, and the jobs running on execution
/// nodes (their units go on there), are returned to be run or followed.
pub async fn recover(db: &Db, node: &str) -> Result<Recovered, StoreError> {
    let conn = db.get().await?;
    let lost = conn
        .query(
            "UPDATE unified_jobs SET status = 'failed', failed = true, finished = now(),
                elapsed = extract(epoch FROM now() - coalesce(started, created)),
                job_explanation = 'Task was marked as running but was not present in the job queue, so it has been marked as failed.',
                event_processing_finished = true, modified = now()
          WHERE controller_node = $1 AND status = 'running' AND NOT (kind = 'job' AND work_unit_id IS NOT NULL AND execution_node NOT IN ('', controller_node))
          RETURNING work_unit_id",
            &[&node],
        )
        .await?;
    let lost_units = units_of(&lost);
    let jobs = conn
        .query(
            "SELECT id FROM unified_jobs
              WHERE controller_node = $1 AND (status = 'waiting' OR (status = 'running' AND kind = 'job' AND work_unit_id IS NOT NULL AND execution_node NOT IN ('', controller_node)))
              ORDER BY id",
            &[&node],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Recovered { jobs, lost_units })
}

/// Creates a pending job from template `template` for `user`; returns its
/// id and creation time.
pub async fn create_from_template(
    db: &Db,
    template: i64,
    user: i64,
    overrides: &Overrides,
) -> Result<(i64, DateTime<Utc>), StoreError> {
    let conn = db.get().await?;
    let launch_type = if overrides.launch_type.is_empty() {
        "manual"
    } else {
        overrides.launch_type
    };
    let survey_passwords = Value::Object(overrides.survey_passwords.clone());
    // One statement (atomic on its own), prepared once per connection: a
    // launch costs one round trip here.
    let statement = conn
        .prepared(
            "WITH t AS (
                 SELECT u.name, u.description, u.organization_id, u.execution_environment_id, j.*
                   FROM job_templates j JOIN unified_job_templates u ON u.id = j.id WHERE j.id = $1
             ), parent AS (
                 INSERT INTO unified_jobs (kind, name, description, unified_job_template_id, organization_id,
                                           execution_environment_id, launch_type, launched_by_id, status,
                                           task_impact, dependencies_processed, created_by, modified_by)
                 SELECT 'job', t.name, t.description, t.id, t.organization_id,
                        coalesce($16, t.execution_environment_id), $6, $2, 'pending',
                        -- AWX's task impact: the forks that can be busy at once, plus one.
                        1 + least(CASE WHEN coalesce($14, t.forks) > 0 THEN coalesce($14, t.forks) ELSE 5 END,
                                  (SELECT count(*) FROM hosts h WHERE h.inventory_id = coalesce($3, t.inventory_id))),
                        -- A job that can need no update (a manual project, no source
                        -- updating on launch) is never new to the TaskManager: a burst
                        -- of launches adds nothing to its pass but the jobs to start.
                        NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = t.project_id AND p.scm_type <> '')
                          AND NOT EXISTS (SELECT 1 FROM inventory_sources s
                                           WHERE s.inventory_id = coalesce($3, t.inventory_id) AND s.update_on_launch),
                        $2, $2 FROM t
                 RETURNING id, created
             ), job AS (
                 INSERT INTO jobs (id, job_template_id, inventory_id, project_id, job_type, playbook, scm_branch,
                               forks, \"limit\", verbosity, extra_vars, job_tags, skip_tags, start_at_task,
                               timeout, become_enabled, diff_mode, force_handlers, use_fact_cache,
                               allow_simultaneous, job_slice_count, survey_passwords)
             SELECT parent.id, t.id, coalesce($3, t.inventory_id), t.project_id, coalesce($8, t.job_type), t.playbook,
                    coalesce($13, t.scm_branch), coalesce($14, t.forks), coalesce($4, t.\"limit\"),
                    coalesce($11, t.verbosity), $5, coalesce($9, t.job_tags), coalesce($10, t.skip_tags),
                    t.start_at_task, coalesce($15, t.timeout), t.become_enabled, coalesce($12, t.diff_mode),
                    t.force_handlers, t.use_fact_cache, t.allow_simultaneous, coalesce($17, t.job_slice_count), $7
               FROM parent, t
                 RETURNING id
             ), credentials AS (
                 -- The launch's credentials, or the template's.
                 INSERT INTO job_credentials (job_id, credential_id)
                 SELECT parent.id, c FROM parent,
                        unnest(coalesce($18::bigint[],
                               ARRAY(SELECT credential_id FROM job_template_credentials WHERE job_template_id = $1))) c
                 ON CONFLICT DO NOTHING
             ), labels AS (
                 INSERT INTO job_labels (job_id, label_id)
                 SELECT parent.id, l FROM parent,
                        unnest(coalesce($19::bigint[],
                               ARRAY(SELECT label_id FROM job_template_labels WHERE job_template_id = $1))) l
                 ON CONFLICT DO NOTHING
             )
             -- The template's `last_job` and the TaskManagers' notice are the
             -- caller's, through `schedule::Announcer` (a row lock and the notify
             -- lock here would queue every launch behind the previous commit).
             SELECT parent.id, parent.created FROM parent, job",
        )
        .await?;
    let row = conn
        .query_one(
            &statement,
            &[
                &template,
                &user,
                &overrides.inventory,
                &overrides.limit,
                &overrides.extra_vars,
                &launch_type,
                &survey_passwords,
                &overrides.job_type,
                &overrides.job_tags,
                &overrides.skip_tags,
                &overrides.verbosity,
                &overrides.diff_mode,
                &overrides.scm_branch,
                &overrides.forks,
                &overrides.timeout,
                &overrides.execution_environment,
                &overrides.job_slice_count,
                &overrides.credentials,
                &overrides.labels,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    let created: DateTime<Utc> = row.get(1);
    if let Some(groups) = &overrides.instance_groups {
        // Kept as the launch's prompt (AWX's launch config), for relaunch.
        conn.execute(
            "INSERT INTO unified_job_launch_configs (job_id, prompts) VALUES ($1, jsonb_build_object('instance_groups', $2::bigint[]))",
            &[&id, groups],
        )
        .await?;
    }
    Ok((id, created))
}

/// What a relaunch repeats of job `id`: its template and every value the
/// job ran with; `None` when the job or its template is gone.
pub async fn relaunch_of(db: &Db, id: i64) -> Result<Option<(i64, Overrides)>, StoreError> {
    let conn = db.get().await?;
    let Some(row) = conn
        .query_opt(
            "SELECT j.job_template_id, j.inventory_id, j.\"limit\", j.extra_vars, j.survey_passwords, j.job_type,
                    j.job_tags, j.skip_tags, j.verbosity, j.diff_mode, j.scm_branch, j.forks, j.timeout,
                    j.job_slice_count, u.execution_environment_id,
                    (SELECT coalesce(array_agg(credential_id), '{}') FROM job_credentials WHERE job_id = j.id),
                    (SELECT coalesce(array_agg(label_id), '{}') FROM job_labels WHERE job_id = j.id)
               FROM jobs j JOIN unified_jobs u ON u.id = j.id
              WHERE j.id = $1 AND j.job_template_id IS NOT NULL",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let survey_passwords = match row.get::<_, Value>(4) {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    Ok(Some((
        row.get(0),
        Overrides {
            inventory: row.get(1),
            limit: Some(row.get(2)),
            extra_vars: row.get(3),
            survey_passwords,
            job_type: Some(row.get(5)),
            job_tags: Some(row.get(6)),
            skip_tags: Some(row.get(7)),
            verbosity: Some(row.get(8)),
            diff_mode: Some(row.get(9)),
            scm_branch: Some(row.get(10)),
            forks: Some(row.get(11)),
            timeout: Some(row.get(12)),
            job_slice_count: Some(row.get(13)),
            execution_environment: row.get(14),
            credentials: Some(row.get(15)),
            labels: Some(row.get(16)),
            instance_groups: None,
            launch_type: "relaunch",
        },
    )))
}

/// The hosts that failed or were unreachable in job `id` (for a relaunch
/// on failed hosts).
pub async fn failed_hosts(db: &Db, id: i64) -> Result<Vec<String>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query(
            "SELECT host_name FROM job_host_summaries WHERE job_id = $1 AND (failed OR dark > 0 OR failures > 0)
              ORDER BY host_name",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// What the dispatcher needs to run a job.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub id: i64,
    pub created: DateTime<Utc>,
    pub playbook: String,
    pub inventory: Option<i64>,
    pub project: Option<i64>,
    pub scm_type: String,
    pub local_path: String,
    pub limit: String,
    pub forks: i32,
    pub verbosity: i32,
    pub job_tags: String,
    pub skip_tags: String,
    pub job_type: String,
    pub timeout: i32,
    pub extra_vars: String,
    pub template_extra_vars: String,
    pub diff_mode: bool,
    /// `--become` on the command line.
    pub become_enabled: bool,
    /// Survey password answers, encrypted, by variable.
    pub survey_passwords: Value,
    /// Restore and save facts through the jsonfile cache.
    pub use_fact_cache: bool,
}

/// The job's run settings.
pub async fn spec(db: &Db, id: i64) -> Result<Option<JobSpec>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            "SELECT u.id, u.created, j.playbook, j.inventory_id, j.project_id, coalesce(p.scm_type, ''),
                    coalesce(p.local_path, ''), j.\"limit\", j.forks, j.verbosity, j.job_tags, j.skip_tags,
                    j.job_type, j.timeout, j.extra_vars, coalesce(t.extra_vars, ''), j.diff_mode, j.become_enabled,
                    j.survey_passwords, j.use_fact_cache
               FROM unified_jobs u JOIN jobs j ON j.id = u.id
               LEFT JOIN projects p ON p.id = j.project_id
               LEFT JOIN job_templates t ON t.id = j.job_template_id
              WHERE u.id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| JobSpec {
        id: r.get(0),
        created: r.get(1),
        playbook: r.get(2),
        inventory: r.get(3),
        project: r.get(4),
        scm_type: r.get(5),
        local_path: r.get(6),
        limit: r.get(7),
        forks: r.get(8),
        verbosity: r.get(9),
        job_tags: r.get(10),
        skip_tags: r.get(11),
        job_type: r.get(12),
        timeout: r.get(13),
        extra_vars: r.get(14),
        template_extra_vars: r.get(15),
        diff_mode: r.get(16),
        become_enabled: r.get(17),
        survey_passwords: r.get(18),
        use_fact_cache: r.get(19),
    }))
}

/// The active jobs someone asked to cancel.
pub async fn cancel_requested(db: &Db) -> Result<std::collections::HashSet<i64>, StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(
            "SELECT id FROM unified_jobs WHERE cancel_flag AND status IN ('waiting', 'running')",
        )
        .await?;
    let rows = conn.query(&statement, &[]).await?;
    Ok(rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?)
}

/// Asks to cancel job `id`: a job not yet running is canceled at once; a
/// running one is stopped by the node running it. Returns whether the job
/// could be canceled.
pub async fn cancel(db: &Db, id: i64) -> Result<bool, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            "UPDATE unified_jobs SET cancel_flag = true, canceled_on = now(),
                    status = CASE WHEN status IN ('new', 'pending', 'waiting') THEN 'canceled' ELSE status END,
                    failed = failed OR status IN ('new', 'pending', 'waiting'),
                    finished = CASE WHEN status IN ('new', 'pending', 'waiting') THEN now() ELSE finished END,
                    event_processing_finished = event_processing_finished OR status IN ('new', 'pending', 'waiting'),
                    modified = now()
              WHERE id = $1 AND status IN ('new', 'pending', 'waiting', 'running')
             RETURNING id",
            &[&id],
        )
        .await?;
    Ok(row.is_some())
}

/// Moves a waiting job to `running`; false if it is no longer waiting.
pub async fn mark_running(
    db: &Db,
    id: i64,
    args: &str,
    cwd: &str,
    env: &Value,
) -> Result<bool, StoreError> {
    let conn = db.get().await?;
    // Only a job still waiting starts: one canceled meanwhile stays canceled.
    let statement = conn
        .prepared(
            "WITH job AS (
                 UPDATE unified_jobs SET status = 'running', started = now(), job_args = $2, job_cwd = $3,
                        job_env = $4, modified = now()
                  WHERE id = $1 AND status = 'waiting'
                 RETURNING unified_job_template_id
             ), template AS (
                 UPDATE unified_job_templates SET status = 'running'
                  WHERE id = (SELECT unified_job_template_id FROM job)
             )
             SELECT count(*) FROM job",
        )
        .await?;
    let started: i64 = conn
        .query_one(&statement, &[&id, &args, &cwd, env])
        .await?
        .try_get(0)?;
    Ok(started > 0)
}

/// Per-host counts from `playbook_on_stats`.
pub type HostStats = Vec<(String, [i32; 8], bool)>;

/// Finishes a job: status, explanation, timings, host summaries (linked
/// to the run's hosts, `host_ids` by name: a smart inventory's hosts live in
/// other inventories), and the template's and hosts' last job; events are
/// all stored by now. One statement: the template's and hosts' rows, which
/// every run of them updates, are locked only for its commit.
pub async fn finish(
    db: &Db,
    id: i64,
    status: &str,
    explanation: &str,
    events: i64,
    stats: &HostStats,
    host_ids: &std::collections::HashMap<String, i64>,
) -> Result<(), StoreError> {
    let names: Vec<&str> = stats.iter().map(|(host, _, _)| host.as_str()).collect();
    let count = |i: usize| -> Vec<i32> { stats.iter().map(|(_, counts, _)| counts[i]).collect() };
    let failed: Vec<bool> = stats.iter().map(|(_, _, failed)| *failed).collect();
    let hosts: Vec<Option<i64>> = stats
        .iter()
        .map(|(host, _, _)| host_ids.get(host).copied())
        .collect();
    let conn = db.get().await?;
    let statement = conn
        .prepared(
            "WITH job AS (
                 UPDATE unified_jobs SET status = $2, failed = $2 IN ('failed', 'error', 'canceled'),
                        finished = now(), elapsed = extract(epoch FROM now() - coalesce(started, created)),
                        job_explanation = $3, emitted_events = $4, event_processing_finished = true,
                        modified = now()
                  WHERE id = $1
                 RETURNING unified_job_template_id
             ), summaries AS (
                 INSERT INTO job_host_summaries (job_id, host_id, host_name, changed, dark, failures, ignored, ok,
                                                 processed, rescued, skipped, failed)
                 SELECT $1, h.id, s.host_name, s.changed, s.dark, s.failures, s.ignored, s.ok, s.processed,
                        s.rescued, s.skipped, s.failed
                   FROM unnest($5::text[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[],
                               $12::int[], $13::int[], $14::bool[], $15::bigint[])
                        AS s(host_name, changed, dark, failures, ignored, ok, processed, rescued, skipped, failed,
                             host_id)
                   LEFT JOIN hosts h ON h.id = s.host_id
                 ON CONFLICT (job_id, host_name) DO UPDATE SET changed = EXCLUDED.changed
                 RETURNING id, host_id
             ), hosts AS (
                 UPDATE hosts h SET last_job_id = $1, last_job_host_summary_id = summaries.id
                   FROM summaries WHERE h.id = summaries.host_id
             ), template AS (
                 UPDATE unified_job_templates SET status = $2, last_job_run = now(),
                        last_job_failed = $2 <> 'successful'
                  WHERE id = (SELECT unified_job_template_id FROM job)
             )
             SELECT 1",
        )
        .await?;
    conn.execute(
        &statement,
        &[
            &id,
            &status,
            &explanation,
            &events,
            &names,
            &count(0),
            &count(1),
            &count(2),
            &count(3),
            &count(4),
            &count(5),
            &count(6),
            &count(7),
            &failed,
            &hosts,
        ],
    )
    .await?;
    Ok(())
}

/// Per-host counts of a `playbook_on_stats` event's data.
pub fn stats_from_event(data: &Value) -> HostStats {
    let keys = [
        "changed",
        "dark",
        "failures",
        "ignored",
        "ok",
        "processed",
        "rescued",
        "skipped",
    ];
    let mut hosts: Vec<String> = Vec::new();
    for key in keys {
        if let Some(map) = data.get(key).and_then(Value::as_object) {
            for host in map.keys() {
                if !hosts.contains(host) {
                    hosts.push(host.clone());
                }
            }
        }
    }
    hosts
        .into_iter()
        .map(|host| {
            let mut counts = [0i32; 8];
            for (i, key) in keys.iter().enumerate() {
                counts[i] = data
                    .get(*key)
                    .and_then(|m| m.get(&host))
                    .and_then(Value::as_i64)
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or(0);
            }
            let failed = counts[1] > 0 || counts[2] > 0;
            (host, counts, failed)
        })
        .collect()
}

/// Where a unified job stands as the Dispatcher takes it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub kind: String,
    pub created: DateTime<Utc>,
    pub execution_node: String,
    pub status: String,
    pub work_unit_id: Option<String>,
}

/// A unified job's kind, creation time, execution node, status and unit.
pub async fn placed(db: &Db, id: i64) -> Result<Option<Placed>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt(
            "SELECT kind, created, execution_node, status, work_unit_id FROM unified_jobs WHERE id = $1",
            &[&id],
        )
        .await?
        .map(|r| Placed {
            kind: r.get(0),
            created: r.get(1),
            execution_node: r.get(2),
            status: r.get(3),
            work_unit_id: r.get(4),
        }))
}

/// Records the mesh work unit a job runs as (AWX's `work_unit_id`).
pub async fn record_work_unit(db: &Db, id: i64, unit: &str) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "UPDATE unified_jobs SET work_unit_id = $2 WHERE id = $1",
        &[&id, &unit],
    )
    .await?;
    Ok(())
}
