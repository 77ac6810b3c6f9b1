//! Project updates: a project's checkout refreshed from its SCM, a kind of
//! unified job (started by `/projects/N/update/` or as a job's dependency).

use super::pool::Queryable;
use super::{Db, StoreError};
use chrono::{DateTime, Utc};

/// Creates a pending update of `project` (a copy of its SCM settings, as
/// AWX keeps them on the update); returns its id.
pub async fn create(
    tx: &impl Queryable,
    project: i64,
    user: Option<i64>,
    launch_type: &str,
) -> Result<i64, StoreError> {
    let row = tx
        .fetch_one(
            "WITH p AS (
                 SELECT u.name, u.description, u.organization_id, pr.*
                   FROM projects pr JOIN unified_job_templates u ON u.id = pr.id WHERE pr.id = $1
             ), parent AS (
                 INSERT INTO unified_jobs (kind, name, description, unified_job_template_id, organization_id,
                                           launch_type, launched_by_id, status, task_impact, created_by, modified_by)
                 SELECT 'project_update', p.name, p.description, p.id, p.organization_id, $3, $2, 'pending', 1, $2, $2
                   FROM p
                 RETURNING id
             )
             INSERT INTO project_updates (id, project_id, job_type, local_path, scm_type, scm_url, scm_branch,
                                          scm_refspec, scm_clean, scm_delete_on_update, scm_track_submodules,
                                          credential_id, timeout)
             SELECT parent.id, p.id, 'check', p.local_path, p.scm_type, p.scm_url, p.scm_branch, p.scm_refspec,
                    p.scm_clean, p.scm_delete_on_update, p.scm_track_submodules, p.credential_id, p.timeout
               FROM parent, p
             RETURNING id",
            &[&project, &user, &launch_type],
        )
        .await?;
    let id: i64 = row.get(0);
    tx.run(
        "INSERT INTO job_credentials (job_id, credential_id)
         SELECT $1, credential_id FROM projects WHERE id = $2 AND credential_id IS NOT NULL",
        &[&id, &project],
    )
    .await?;
    super::schedule::announce(tx, id, project).await?;
    Ok(id)
}

/// Starts an update of `project` for `user` now (`POST /projects/N/update/`).
pub async fn launch(db: &Db, project: i64, user: i64) -> Result<i64, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    let id = create(&tx, project, Some(user), "manual").await?;
    tx.commit().await?;
    Ok(id)
}

/// What the dispatcher needs to run an update.
#[derive(Debug, Clone)]
pub struct UpdateSpec {
    pub id: i64,
    pub created: DateTime<Utc>,
    pub project: i64,
    pub scm_type: String,
    pub scm_url: String,
    pub scm_branch: String,
    pub scm_refspec: String,
    pub scm_clean: bool,
    pub scm_delete_on_update: bool,
    pub scm_track_submodules: bool,
    pub credential: Option<i64>,
    pub timeout: i32,
}

/// The update's settings.
pub async fn spec(db: &Db, id: i64) -> Result<Option<UpdateSpec>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            "SELECT u.id, u.created, pu.project_id, pu.scm_type, pu.scm_url, pu.scm_branch, pu.scm_refspec,
                    pu.scm_clean, pu.scm_delete_on_update, pu.scm_track_submodules, pu.credential_id, pu.timeout
               FROM unified_jobs u JOIN project_updates pu ON pu.id = u.id WHERE u.id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| UpdateSpec {
        id: r.get(0),
        created: r.get(1),
        project: r.get(2),
        scm_type: r.get(3),
        scm_url: r.get(4),
        scm_branch: r.get(5),
        scm_refspec: r.get(6),
        scm_clean: r.get(7),
        scm_delete_on_update: r.get(8),
        scm_track_submodules: r.get(9),
        credential: r.get(10),
        timeout: r.get(11),
    }))
}

/// Records the revision a successful update checked out, on the update and
/// on its project, with the playbooks found in the checkout.
pub async fn record_revision(
    db: &Db,
    id: i64,
    project: i64,
    revision: &str,
    playbooks: &[String],
) -> Result<(), StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "UPDATE project_updates SET scm_revision = $2 WHERE id = $1",
        &[&id, &revision],
    )
    .await?;
    tx.execute(
        "UPDATE projects SET scm_revision = $2, playbook_files = $3 WHERE id = $1",
        &[&project, &revision, &serde_json::json!(playbooks)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `project` has an update on its way (`pending`, `waiting`, `running`).
pub async fn active(db: &Db, project: i64) -> Result<Option<i64>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt(
            "SELECT pu.id FROM project_updates pu JOIN unified_jobs u ON u.id = pu.id
              WHERE pu.project_id = $1 AND u.status IN ('pending', 'waiting', 'running')
              ORDER BY pu.id DESC LIMIT 1",
            &[&project],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Which commit of its project a job runs.
#[derive(Debug, Clone)]
pub struct JobSource {
    /// The project's last updated revision.
    pub revision: String,
    /// The job's own branch, when the project allows it and it differs.
    pub branch_override: Option<String>,
}

/// Where job `job` takes its project's files from.
pub async fn job_source(db: &Db, job: i64) -> Result<JobSource, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_one(
            "SELECT p.scm_revision, j.scm_branch, p.scm_branch, p.allow_override
               FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.id = $1",
            &[&job],
        )
        .await?;
    let job_branch: String = row.get(1);
    let project_branch: String = row.get(2);
    let allow_override: bool = row.get(3);
    Ok(JobSource {
        revision: row.get(0),
        branch_override: (allow_override && !job_branch.is_empty() && job_branch != project_branch)
            .then_some(job_branch),
    })
}

/// Records the commit job `job` runs.
pub async fn set_job_revision(db: &Db, job: i64, revision: &str) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "UPDATE jobs SET scm_revision = $2 WHERE id = $1",
        &[&job, &revision],
    )
    .await?;
    Ok(())
}

/// The revision `project` was last updated to (empty: never).
pub async fn revision(db: &Db, project: i64) -> Result<String, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt(
            "SELECT scm_revision FROM projects WHERE id = $1",
            &[&project],
        )
        .await?
        .map(|r| r.get(0))
        .unwrap_or_default())
}
