//! Cross-field rules AWX enforces that a field declaration cannot express:
//! job templates, projects, inventories and what goes into them.

use serde_json::{Map, Value};

use crate::api::State;
use crate::api::error::ApiError;
use crate::resource::Field;
use crate::resource::validate::{self, FieldErrors};
use crate::store::{StoreError, rules};

/// The object as it will be after the write: existing values, then new ones.
pub fn merged(
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut out = existing.cloned().unwrap_or_default();
    for (field, value) in values {
        out.insert(field.name.to_string(), value.clone());
    }
    out
}

fn id(object: &Map<String, Value>, key: &str) -> Option<i64> {
    object.get(key).and_then(Value::as_i64)
}

fn flag(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Job templates: a project, an inventory or a prompt for one, a playbook
/// the project has, a branch only where the project allows it.
pub async fn job_template(
    state: &State,
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let after = merged(values, existing);
    let mut errors = FieldErrors::new();
    let Some(project) = id(&after, "project") else {
        validate::push(
            &mut errors,
            "project",
            "Job Templates must have a project assigned.",
        );
        return Err(ApiError::Fields(errors));
    };
    if id(&after, "inventory").is_none() && !flag(&after, "ask_inventory_on_launch") {
        validate::push(
            &mut errors,
            "inventory",
            "You must either set a default value or ask to prompt on launch.",
        );
    }
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let source = rules::project_source(&*conn, project).await?;
    if let Some(rules::ProjectSource {
        allow_override,
        scm_type,
        local_path,
    }) = source
    {
        if !text(&after, "scm_branch").is_empty() && !allow_override {
            validate::push(
                &mut errors,
                "scm_branch",
                "Project does not allow overriding branch.",
            );
        }
        let playbook = text(&after, "playbook");
        if playbook.is_empty() {
            validate::push(&mut errors, "playbook", "Must select playbook for project.");
        } else if let Some(known) =
            crate::scm::playbooks(&state.projects_root, project, &scm_type, &local_path)
        {
            // Only a project whose files rawx has can say what is not in it.
            if !known.iter().any(|p| p == playbook) {
                validate::push(&mut errors, "playbook", "Playbook not found for project.");
            }
        }
    }
    if flag(&after, "survey_enabled")
        && after
            .get("survey_spec")
            .is_some_and(|s| s.as_object().is_some_and(Map::is_empty))
    {
        // AWX accepts an enabled survey without questions; nothing to check.
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// Manual projects keep their SCM options off and need a local path.
pub fn project(
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let after = merged(values, existing);
    let mut errors = FieldErrors::new();
    if text(&after, "scm_type").is_empty() {
        for key in [
            "scm_clean",
            "scm_delete_on_update",
            "scm_track_submodules",
            "scm_update_on_launch",
        ] {
            if flag(&after, key) {
                validate::push(
                    &mut errors,
                    key,
                    "Update options must be set to false for manual projects.",
                );
            }
        }
        let local_path = text(&after, "local_path");
        if local_path.contains('/') || local_path.starts_with('.') {
            validate::push(
                &mut errors,
                "local_path",
                "Invalid path choice; use a directory name under the project base path.",
            );
        }
    } else if text(&after, "scm_url").is_empty() {
        validate::push(&mut errors, "scm_url", "SCM URL is required.");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// An instance's state changes only to `deprovisioning`, and only for the
/// nodes that joined through the mesh (AWX's rule): the node's certificate
/// is then refused by every control node.
pub fn instance(
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let Some(existing) = existing else {
        return Ok(());
    };
    let Some((_, wanted)) = values.iter().find(|(f, _)| f.name == "node_state") else {
        return Ok(());
    };
    if existing.get("node_state") == Some(wanted) {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    if wanted.as_str() != Some("deprovisioning") {
        validate::push(
            &mut errors,
            "node_state",
            "Can only change instances to the 'deprovisioning' state.",
        );
    } else if !matches!(text(existing, "node_type"), "execution" | "hop") {
        validate::push(
            &mut errors,
            "node_state",
            "Can only deprovision execution or hop nodes.",
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// Smart inventories are defined by their filter; regular ones have none.
pub fn inventory(
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let after = merged(values, existing);
    let mut errors = FieldErrors::new();
    let filter = text(&after, "host_filter");
    match text(&after, "kind") {
        "smart" if filter.trim().is_empty() => {
            validate::push(
                &mut errors,
                "host_filter",
                "Smart inventories need a host filter.",
            );
        }
        "" if !filter.is_empty() => {
            validate::push(
                &mut errors,
                "host_filter",
                "Only smart inventories have a host filter.",
            );
        }
        // The filter must compile now: a job or a host list is no place to
        // find out it does not.
        "smart" => {
            if let Err(err) = crate::inventory::host_filter::compile(filter) {
                validate::push(&mut errors, "host_filter", err.to_string());
            }
        }
        _ => {}
    }
    if let (Some(existing), true) = (existing, values.iter().any(|(f, _)| f.name == "kind"))
        && existing.get("kind") != after.get("kind")
    {
        validate::push(
            &mut errors,
            "kind",
            "The kind of an inventory cannot change.",
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// Hosts and groups live only in regular inventories.
pub async fn inventory_member(
    state: &State,
    what: &str,
    values: &[(&'static Field, Value)],
) -> Result<(), ApiError> {
    let Some(inventory) = values
        .iter()
        .find(|(f, _)| f.name == "inventory")
        .and_then(|(_, v)| v.as_i64())
    else {
        return Ok(());
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let kind = rules::inventory_kind(&*conn, inventory).await?;
    match kind.as_deref() {
        Some("smart") | Some("constructed") => {
            let mut errors = FieldErrors::new();
            validate::push(
                &mut errors,
                "inventory",
                format!("Cannot create {what} for Smart or Constructed Inventories"),
            );
            Err(ApiError::Fields(errors))
        }
        _ => Ok(()),
    }
}

/// Whether any credential uses this credential type.
pub async fn credential_type_in_use(
    state: &State,
    existing: &Map<String, Value>,
) -> Result<bool, ApiError> {
    let Some(type_id) = id(existing, "id") else {
        return Ok(false);
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    Ok(rules::credential_type_in_use(&*conn, type_id).await?)
}

/// An execution environment pulls with a Container Registry credential only.
pub async fn execution_environment(
    state: &State,
    values: &[(&'static Field, Value)],
) -> Result<(), ApiError> {
    let Some(credential) = values
        .iter()
        .find(|(f, _)| f.name == "credential")
        .and_then(|(_, v)| v.as_i64())
    else {
        return Ok(());
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let kind = rules::credential_kind(&*conn, credential).await?;
    match kind.as_deref() {
        Some("registry") | None => Ok(()),
        Some(_) => {
            let mut errors = FieldErrors::new();
            validate::push(
                &mut errors,
                "credential",
                "Only Container Registry credentials can be associated with an Execution Environment",
            );
            Err(ApiError::Fields(errors))
        }
    }
}

/// An SCM inventory source reads from an SCM project, never a manual one.
pub async fn inventory_source(
    state: &State,
    values: &[(&'static Field, Value)],
    existing: Option<&Map<String, Value>>,
) -> Result<(), ApiError> {
    let after = merged(values, existing);
    if text(&after, "source") != "scm" {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    let Some(project) = id(&after, "source_project") else {
        validate::push(
            &mut errors,
            "source_project",
            "Project required for scm type sources.",
        );
        return Err(ApiError::Fields(errors));
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let scm_type = rules::project_scm_type(&*conn, project).await?;
    if scm_type.as_deref() == Some("") {
        validate::push(
            &mut errors,
            "source_project",
            "Cannot use manual project for SCM-based inventory.",
        );
        return Err(ApiError::Fields(errors));
    }
    Ok(())
}
