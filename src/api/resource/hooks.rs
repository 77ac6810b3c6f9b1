//! What some resources do beyond their declaration: hashing passwords,
//! guarding privileged flags.

use crate::store::pool::Queryable;
use serde_json::{Map, Value};

use super::{credentials, rules};
use crate::api::State;
use crate::api::error::ApiError;
use crate::crypto::password;
use crate::rbac::Caller;
use crate::resource::validate::{self, FieldErrors};
use crate::resource::{Field, Resource};
use crate::store::StoreError;

/// Adjusts checked values before they are written.
pub async fn prepare(
    state: &State,
    resource: &Resource,
    caller: &Caller,
    values: &mut Vec<(&'static Field, Value)>,
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    match resource.type_name {
        "user" => prepare_user(caller, values, existing).await,
        "credential" => {
            if existing.is_none() {
                credentials::require_owner(values)?;
            }
            credentials::prepare(state, values, existing).await
        }
        "credential_type" => {
            credentials::prepare_type(values, existing)?;
            let inputs_change = values.iter().any(|(f, v)| {
                f.name == "inputs" && existing.and_then(|e| e.get("inputs")) != Some(v)
            });
            if let Some(existing) = existing
                && inputs_change
                && rules::credential_type_in_use(state, existing).await?
            {
                return Err(ApiError::Forbidden(
                    "Modifications to inputs are not allowed for credential types that are in use"
                        .into(),
                ));
            }
            Ok(())
        }
        "execution_environment" => rules::execution_environment(state, values).await,
        "inventory_source" => rules::inventory_source(state, values, existing).await,
        "job_template" => {
            organization_from_project(state, resource, values).await?;
            rules::job_template(state, values, existing).await
        }
        "project" => rules::project(values, existing),
        "instance" => rules::instance(values, existing),
        "inventory" => rules::inventory(values, existing),
        "host" => rules::inventory_member(state, "Host", values).await,
        "group" => rules::inventory_member(state, "Group", values).await,
        _ => Ok(()),
    }
}

/// Adjusts a copy's values as saving the model does in AWX: a job
/// template's organization follows its project.
pub async fn prepare_copy(
    state: &State,
    resource: &Resource,
    values: &mut Vec<(&'static Field, Value)>,
) -> Result<(), ApiError> {
    match resource.type_name {
        "job_template" => organization_from_project(state, resource, values).await,
        _ => Ok(()),
    }
}

/// A job template belongs to its project's organization, as in AWX.
async fn organization_from_project(
    state: &State,
    resource: &Resource,
    values: &mut Vec<(&'static Field, Value)>,
) -> Result<(), ApiError> {
    let Some(project) = values
        .iter()
        .find(|(f, _)| f.name == "project")
        .and_then(|(_, v)| v.as_i64())
    else {
        return Ok(());
    };
    let Some(field) = resource.own_field("organization") else {
        return Ok(());
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let organization: Option<i64> = conn
        .query_opt(
            "SELECT organization_id FROM unified_job_templates WHERE id = $1",
            &[&project],
        )
        .await
        .map_err(StoreError::from)?
        .and_then(|row| row.get(0));
    values.retain(|(f, _)| f.name != "organization");
    values.push((field, organization.map(Value::from).unwrap_or(Value::Null)));
    Ok(())
}

/// Refuses deletions the declaration cannot express.
pub async fn before_delete(
    state: &State,
    resource: &Resource,
    existing: &Map<String, Value>,
) -> Result<(), ApiError> {
    if matches!(resource.type_name, "job" | "project_update")
        && matches!(
            existing.get("status").and_then(Value::as_str),
            Some("new" | "pending" | "waiting" | "running")
        )
    {
        return Err(ApiError::Forbidden(
            "Cannot delete running job resource.".into(),
        ));
    }
    if resource.type_name == "credential_type" {
        if existing.get("managed") == Some(&Value::Bool(true)) {
            return Err(ApiError::Forbidden(
                "Deletion of managed credential types is not allowed.".into(),
            ));
        }
        if rules::credential_type_in_use(state, existing).await? {
            return Err(ApiError::Forbidden(
                "Credential types that are in use cannot be deleted".into(),
            ));
        }
    }
    Ok(())
}

async fn prepare_user(
    caller: &Caller,
    values: &mut Vec<(&'static Field, Value)>,
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    for (field, value) in values.iter() {
        if field.name == "username" {
            let name = value.as_str().unwrap_or_default();
            if !name
                .chars()
                .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
            {
                validate::push(
                    &mut errors,
                    "username",
                    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
                );
            }
        }
        if matches!(field.name, "is_superuser" | "is_system_auditor") && !caller.is_superuser() {
            let before = existing
                .and_then(|e| e.get(field.name))
                .cloned()
                .unwrap_or(Value::Bool(false));
            if *value != before {
                return Err(ApiError::Forbidden(format!(
                    "Only a superuser may change {}.",
                    field.name
                )));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    // An empty password keeps the old one (or, on create, leaves none usable).
    let mut hashed = None;
    if let Some((_, Value::String(plain))) = values.iter().find(|(f, _)| f.name == "password")
        && !plain.is_empty()
    {
        let plain = plain.clone();
        let hash = actix_web::web::block(move || password::hash(&plain))
            .await
            .map_err(|err| ApiError::Internal(err.to_string()))?
            .map_err(|err| ApiError::Internal(err.to_string()))?;
        hashed = Some(hash);
    }
    values.retain(|(f, _)| f.name != "password");
    if let (Some(hash), Some(field)) = (hashed, crate::resources::users::USER.field("password")) {
        values.push((field, Value::String(hash)));
    }
    Ok(())
}

/// A personal or team credential: its owner gets its admin role.
async fn grant_owner(
    client: &impl Queryable,
    id: i64,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    let admin = "SELECT id FROM roles WHERE content_type = 'credential' AND object_id = $1 AND role_field = 'admin_role'";
    if let Some(user) = values.get("user").and_then(Value::as_i64) {
        client
            .run(&format!("INSERT INTO role_users (role_id, user_id) SELECT id, $2 FROM ({admin}) r ON CONFLICT DO NOTHING"), &[&id, &user])
            .await?;
    }
    if let Some(team) = values.get("team").and_then(Value::as_i64) {
        client
            .run(&format!("INSERT INTO role_teams (role_id, team_id) SELECT id, $2 FROM ({admin}) r ON CONFLICT DO NOTHING"), &[&id, &team])
            .await?;
    }
    Ok(())
}

/// After an update or a deletion has committed: an instance enabled again,
/// or given more capacity, may start what waits, without waiting for the
/// periodic pass; a changed or deleted user's cached credentials go now
/// (the database's notice empties every node's cache a moment later).
pub fn after_write(state: &State, resource: &Resource) {
    if resource.type_name == "user" {
        state.auth_cache.forget_all();
    }
    if matches!(resource.type_name, "instance" | "instance_group") {
        state
            .actors
            .task_manager
            .do_send(actors::task_manager::Wake);
    }
}

const CREDENTIAL: &str = "credential";
const PROJECT: &str = "project";

/// Whether `after_create` may write anything for objects of `resource`
/// (beyond what their object roles bring).
pub fn acts_after_create(resource: &Resource) -> bool {
    matches!(resource.type_name, CREDENTIAL | PROJECT)
}

/// Runs after a new object's row and roles exist, in the same transaction.
pub async fn after_create(
    client: &impl Queryable,
    resource: &Resource,
    caller: &Caller,
    id: i64,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    // AWX makes a non-superuser who creates an organization-less object its
    // admin; organization-owned objects inherit admins from the organization.
    if resource.type_name == CREDENTIAL {
        grant_owner(client, id, values).await?;
    }
    // AWX updates an SCM project as soon as it is created.
    if resource.type_name == PROJECT
        && values
            .get("scm_type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
    {
        crate::store::project_updates::create(client, id, Some(caller.user.id), "manual").await?;
    }
    let orphan_admin = resource
        .roles
        .iter()
        .any(|role| role.field == "admin_role" && role.parents.is_empty());
    if !caller.is_superuser() && orphan_admin {
        client
            .run(
                "INSERT INTO role_users (role_id, user_id)
                 SELECT id, $3 FROM roles WHERE content_type = $1 AND object_id = $2 AND role_field = 'admin_role'
                 ON CONFLICT DO NOTHING",
                &[&resource.type_name, &id, &caller.user.id],
            )
            .await?;
    }
    Ok(())
}
