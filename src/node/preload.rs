//! First-start data as AWX's installer preloads it: the `Default`
//! organization, `Demo Inventory` with `localhost`, `Demo Credential`,
//! `Demo Project`, `Demo Job Template` and the `Ansible Galaxy` credential.
//! Scripts and the awx.awx collection's own tests look them up by name.

use crate::store::pool::Queryable;
use serde_json::{Map, Value, json};

use crate::rbac;
use crate::resource::Resource;
use crate::resource::validate::{self, Mode};
use crate::resources::{credentials, hosts, inventories, job_templates, organizations, projects};
use crate::store::{Db, StoreError, resource as store};

/// Marks that the data was loaded once, so deleting it sticks.
const DONE_KEY: &str = "RAWX_PRELOAD_DONE";

async fn create(
    client: &impl Queryable,
    resource: &Resource,
    body: Value,
) -> Result<i64, StoreError> {
    let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    let values = validate::body(resource, &body, Mode::Create).map_err(|errors| {
        StoreError::Migrate(format!("preload {}: {errors:?}", resource.type_name))
    })?;
    let id = store::insert(client, resource, &values, None).await?;
    let map: Map<String, Value> = values
        .iter()
        .map(|(f, v)| (f.name.to_string(), v.clone()))
        .collect();
    rbac::create_object_roles(client, resource, id, &map).await?;
    Ok(id)
}

async fn type_id(client: &impl Queryable, namespace: &str) -> Result<i64, StoreError> {
    let row = client
        .fetch_one(
            "SELECT id FROM credential_types WHERE managed AND namespace = $1",
            &[&namespace],
        )
        .await?;
    Ok(row.get(0))
}

/// Loads the data unless it was loaded before or organizations already exist.
pub async fn run(db: &Db) -> Result<bool, StoreError> {
    let mut conn = db.get().await?;
    let tx = conn.transaction().await?;
    // One node loads; the others wait here and then see it done.
    tx.execute("LOCK TABLE settings IN SHARE ROW EXCLUSIVE MODE", &[])
        .await?;
    let done = tx
        .query_opt("SELECT 1 FROM settings WHERE key = $1", &[&DONE_KEY])
        .await?
        .is_some();
    let has_orgs = tx
        .query_opt("SELECT 1 FROM organizations LIMIT 1", &[])
        .await?
        .is_some();
    if done || has_orgs {
        return Ok(false);
    }
    let org = create(
        &tx,
        &organizations::ORGANIZATION,
        json!({"name": "Default"}),
    )
    .await?;
    let galaxy = create(
        &tx,
        &credentials::CREDENTIAL,
        json!({"name": "Ansible Galaxy", "credential_type": type_id(&tx, "galaxy_api_token").await?,
               "inputs": {"url": "https://galaxy.ansible.com/"}}),
    )
    .await?;
    tx.execute(
        "UPDATE credentials SET managed = true WHERE id = $1",
        &[&galaxy],
    )
    .await?;
    tx.execute(
        "INSERT INTO organization_galaxy_credentials (organization_id, credential_id, position) VALUES ($1, $2, 0)",
        &[&org, &galaxy],
    )
    .await?;
    let credential = create(
        &tx,
        &credentials::CREDENTIAL,
        json!({"name": "Demo Credential", "credential_type": type_id(&tx, "ssh").await?,
               "inputs": {"username": "admin"}}),
    )
    .await?;
    let project = create(
        &tx,
        &projects::PROJECT,
        json!({"name": "Demo Project", "organization": org, "scm_type": "git",
               "scm_url": "https://github.com/ansible/ansible-tower-samples",
               "scm_update_on_launch": true}),
    )
    .await?;
    let inventory = create(
        &tx,
        &inventories::INVENTORY,
        json!({"name": "Demo Inventory", "organization": org}),
    )
    .await?;
    create(
        &tx,
        &hosts::HOST,
        json!({"name": "localhost", "inventory": inventory,
               "variables": "ansible_connection: local\nansible_python_interpreter: '{{ ansible_playbook_python }}'"}),
    )
    .await?;
    let template = create(
        &tx,
        &job_templates::JOB_TEMPLATE,
        json!({"name": "Demo Job Template", "project": project, "inventory": inventory,
               "playbook": "hello_world.yml"}),
    )
    .await?;
    tx.execute(
        "UPDATE unified_job_templates SET organization_id = $2 WHERE id = $1",
        &[&template, &org],
    )
    .await?;
    let template_values: Map<String, Value> = [("organization".to_string(), Value::from(org))]
        .into_iter()
        .collect();
    rbac::relink_object_roles(
        &tx,
        &job_templates::JOB_TEMPLATE,
        template,
        &template_values,
    )
    .await?;
    tx.execute(
        "INSERT INTO job_template_credentials (job_template_id, credential_id) VALUES ($1, $2)",
        &[&template, &credential],
    )
    .await?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, 'true')",
        &[&DONE_KEY],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
