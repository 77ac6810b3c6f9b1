//! Ad hoc commands: one module run over an inventory's hosts, a kind of
//! unified job without a template.

use chrono::{DateTime, Utc};

use super::pool::Queryable;
use super::{Db, StoreError};

/// What an ad hoc command runs (as checked by the API).
#[derive(Debug, Clone, Default)]
pub struct NewCommand {
    pub inventory: i64,
    pub credential: Option<i64>,
    pub job_type: String,
    pub module_name: String,
    pub module_args: String,
    pub limit: String,
    pub forks: i32,
    pub verbosity: i32,
    pub extra_vars: String,
    pub become_enabled: bool,
    pub diff_mode: bool,
}

/// Creates a pending ad hoc command for `user`; returns its id.
pub async fn create(
    client: &impl Queryable,
    command: &NewCommand,
    user: i64,
    launch_type: &str,
) -> Result<i64, StoreError> {
    let row = client
        .fetch_one(
            "WITH parent AS (
                 INSERT INTO unified_jobs (kind, name, organization_id, launch_type, launched_by_id, status,
                                           task_impact, created_by, modified_by)
                 SELECT 'ad_hoc_command', $3, i.organization_id, $13, $2, 'pending',
                        -- AWX's task impact: the forks that can be busy at once, plus one.
                        1 + least(CASE WHEN $7 > 0 THEN $7 ELSE 5 END,
                                  (SELECT count(*) FROM hosts h WHERE h.inventory_id = i.id)),
                        $2, $2
                   FROM inventories i WHERE i.id = $1
                 RETURNING id
             )
             INSERT INTO ad_hoc_commands (id, job_type, inventory_id, credential_id, module_name, module_args,
                                          \"limit\", forks, verbosity, extra_vars, become_enabled, diff_mode)
             SELECT parent.id, $4, $1, $5, $3, $6, $8, $7, $9, $10, $11, $12 FROM parent
             RETURNING id",
            &[
                &command.inventory,
                &user,
                &command.module_name,
                &command.job_type,
                &command.credential,
                &command.module_args,
                &command.forks,
                &command.limit,
                &command.verbosity,
                &command.extra_vars,
                &command.become_enabled,
                &command.diff_mode,
                &launch_type,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    if let Some(credential) = command.credential {
        client
            .run(
                "INSERT INTO job_credentials (job_id, credential_id) VALUES ($1, $2)",
                &[&id, &credential],
            )
            .await?;
    }
    client
        .run("SELECT pg_notify($1, '')", &[&super::schedule::CHANNEL])
        .await?;
    Ok(id)
}

/// What a relaunch repeats of ad hoc command `id`.
pub async fn relaunch_of(db: &Db, id: i64) -> Result<Option<NewCommand>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt(
            "SELECT inventory_id, credential_id, job_type, module_name, module_args, \"limit\", forks, verbosity,
                    extra_vars, become_enabled, diff_mode
               FROM ad_hoc_commands WHERE id = $1 AND inventory_id IS NOT NULL",
            &[&id],
        )
        .await?
        .map(|r| NewCommand {
            inventory: r.get(0),
            credential: r.get(1),
            job_type: r.get(2),
            module_name: r.get(3),
            module_args: r.get(4),
            limit: r.get(5),
            forks: r.get(6),
            verbosity: r.get(7),
            extra_vars: r.get(8),
            become_enabled: r.get(9),
            diff_mode: r.get(10),
        }))
}

/// What the dispatcher needs to run a command.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub id: i64,
    pub created: DateTime<Utc>,
    pub inventory: Option<i64>,
    pub job_type: String,
    pub module_name: String,
    pub module_args: String,
    pub limit: String,
    pub forks: i32,
    pub verbosity: i32,
    pub extra_vars: String,
    pub become_enabled: bool,
    pub diff_mode: bool,
}

/// The command's settings.
pub async fn spec(db: &Db, id: i64) -> Result<Option<CommandSpec>, StoreError> {
    let conn = db.get().await?;
    Ok(conn
        .query_opt(
            "SELECT u.id, u.created, a.inventory_id, a.job_type, a.module_name, a.module_args, a.\"limit\",
                    a.forks, a.verbosity, a.extra_vars, a.become_enabled, a.diff_mode
               FROM unified_jobs u JOIN ad_hoc_commands a ON a.id = u.id WHERE u.id = $1",
            &[&id],
        )
        .await?
        .map(|r| CommandSpec {
            id: r.get(0),
            created: r.get(1),
            inventory: r.get(2),
            job_type: r.get(3),
            module_name: r.get(4),
            module_args: r.get(5),
            limit: r.get(6),
            forks: r.get(7),
            verbosity: r.get(8),
            extra_vars: r.get(9),
            become_enabled: r.get(10),
            diff_mode: r.get(11),
        }))
}
