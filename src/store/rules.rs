//! SQL for the cross-field rules of `api::resource::rules`: the facts about
//! related objects (a template's project, a host's inventory, a
//! credential's type) those rules check a write against.

use crate::store::StoreError;
use crate::store::pool::Queryable;

/// What a job template's rules need to know about its project.
#[derive(Debug, Clone)]
pub struct ProjectSource {
    pub allow_override: bool,
    pub scm_type: String,
    pub local_path: String,
}

/// Project `id`'s branch override flag, SCM type and local path; `None`
/// when there is no such project.
pub async fn project_source(
    client: &impl Queryable,
    id: i64,
) -> Result<Option<ProjectSource>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT p.allow_override, p.scm_type, p.local_path FROM projects p WHERE p.id = $1",
            &[&id],
        )
        .await?;
    Ok(match row {
        Some(row) => Some(ProjectSource {
            allow_override: row.try_get(0)?,
            scm_type: row.try_get(1)?,
            local_path: row.try_get(2)?,
        }),
        None => None,
    })
}

/// Project `id`'s SCM type (`""` for a manual project); `None` when there is
/// no such project.
pub async fn project_scm_type(
    client: &impl Queryable,
    id: i64,
) -> Result<Option<String>, StoreError> {
    let row = client
        .fetch_opt("SELECT scm_type FROM projects WHERE id = $1", &[&id])
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Inventory `id`'s kind (`""`, `smart` or `constructed`); `None` when there
/// is no such inventory.
pub async fn inventory_kind(
    client: &impl Queryable,
    id: i64,
) -> Result<Option<String>, StoreError> {
    let row = client
        .fetch_opt("SELECT kind FROM inventories WHERE id = $1", &[&id])
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Whether any credential is of credential type `type_id`.
pub async fn credential_type_in_use(
    client: &impl Queryable,
    type_id: i64,
) -> Result<bool, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT 1 FROM credentials WHERE credential_type_id = $1 LIMIT 1",
            &[&type_id],
        )
        .await?;
    Ok(row.is_some())
}

/// The kind of credential `id`'s type (`registry`, `ssh`, ...); `None` when
/// there is no such credential.
pub async fn credential_kind(
    client: &impl Queryable,
    id: i64,
) -> Result<Option<String>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT t.kind FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}
