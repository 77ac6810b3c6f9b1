//! An inventory update's run, as AWX does it: `ansible-inventory --list
//! --export` through ansible-runner over the source (a file or directory of
//! a project, or a cloud plugin's configuration built from `source_vars`),
//! then the output imported with the source's rules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::dispatch::{AfterRun, Executor, Prepared, RunError, prepare_dirs, setup, write_private};
use crate::resource::validate::parse_vars;
use crate::store::inventory_updates::{self, ImportRules, UpdateSpec};
use crate::store::{Db, project_updates};

/// The inventory plugin behind each cloud source, and the file name its
/// configuration must have for the plugin to accept it.
const PLUGINS: &[(&str, &str, &str)] = &[
    ("ec2", "amazon.aws.aws_ec2", "aws_ec2.yml"),
    ("gce", "google.cloud.gcp_compute", "gcp_compute.yml"),
    ("azure_rm", "azure.azcollection.azure_rm", "azure_rm.yml"),
    (
        "vmware",
        "community.vmware.vmware_vm_inventory",
        "vmware_vm_inventory.yml",
    ),
    ("openstack", "openstack.cloud.openstack", "openstack.yml"),
    ("satellite6", "theforeman.foreman.foreman", "foreman.yml"),
    ("controller", "awx.awx.tower", "tower.yml"),
    (
        "insights",
        "redhatinsights.insights.insights",
        "insights.yml",
    ),
    ("rhv", "ovirt.ovirt.ovirt", "ovirt.yml"),
    (
        "terraform",
        "cloud.terraform.terraform_state",
        "terraform_state.yml",
    ),
    (
        "openshift_virtualization",
        "kubevirt.core.kubevirt",
        "kubevirt.yml",
    ),
];

/// What to import once the run succeeded.
pub struct Import {
    /// Where `ansible-inventory` writes its JSON.
    pub output: PathBuf,
    source: i64,
    inventory: i64,
    overwrite: bool,
    overwrite_vars: bool,
    enabled_var: String,
    enabled_value: String,
    host_filter: String,
}

impl Import {
    /// Parses and imports the output; the error is the job's explanation.
    pub async fn apply(&self, db: &Db, output: std::io::Result<Vec<u8>>) -> Result<(), String> {
        let bytes = output.map_err(|e| format!("ansible-inventory wrote no output: {e}"))?;
        let document: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("ansible-inventory's output is not JSON: {e}"))?;
        let rules = ImportRules {
            enabled_var: &self.enabled_var,
            enabled_value: &self.enabled_value,
            host_filter: &self.host_filter,
        };
        let found = inventory_updates::parse(&document, &rules).map_err(|e| e.to_string())?;
        let counts = inventory_updates::apply(
            db,
            self.source,
            self.inventory,
            &found,
            self.overwrite,
            self.overwrite_vars,
        )
        .await
        .map_err(|e| format!("importing the inventory: {e}"))?;
        tracing::info!(
            source = self.source,
            hosts = counts.hosts,
            groups = counts.groups,
            removed_hosts = counts.hosts_removed,
            removed_groups = counts.groups_removed,
            statements = counts.statements,
            "inventory imported"
        );
        Ok(())
    }
}

impl Executor {
    /// Writes the source (a project's files or a plugin configuration) and
    /// the runner's settings for inventory update `id`.
    pub(super) async fn prepare_inventory_update(
        &self,
        id: i64,
        pdd: &Path,
    ) -> Result<Prepared, RunError> {
        let spec = inventory_updates::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the inventory update is gone".into()))?;
        let inventory = spec
            .inventory
            .ok_or_else(|| RunError::Setup("the inventory source has no inventory".into()))?;
        prepare_dirs(pdd)?;
        let (source_path, playbook_dir) = self.source_files(&spec, pdd).await?;

        let injection = super::credentials::inject_unit(&self.db, &self.cipher, id, false, pdd)
            .await
            .map_err(|e| setup("credentials", e))?;
        // In the run's artifacts: on an execution node, they are what comes
        // back with the stream.
        let output = pdd
            .join("artifacts")
            .join(id.to_string())
            .join("inventory_output.json");
        let mut cmdline = vec![
            "--list".to_string(),
            "--export".into(),
            "--output".into(),
            output.display().to_string(),
            "--playbook-dir".into(),
            playbook_dir.display().to_string(),
        ];
        if spec.verbosity > 0 {
            cmdline.push(format!(
                "-{}",
                "v".repeat(spec.verbosity.clamp(0, 5) as usize)
            ));
        }
        let mut env = injection.env.clone();
        let mut shown_env = injection.safe_env.clone();
        for (key, value) in [
            ("INVENTORY_UPDATE_ID", spec.id.to_string()),
            ("INVENTORY_SOURCE_ID", spec.source_id.to_string()),
            ("INVENTORY_ID", inventory.to_string()),
            ("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True".into()),
            ("ANSIBLE_INVENTORY_EXPORT", "True".into()),
            ("ANSIBLE_VERBOSE_TO_STDERR", "True".into()),
        ] {
            env.insert(key.into(), Value::String(value.clone()));
            shown_env.insert(key.into(), Value::String(value));
        }
        let mut kwargs = Map::new();
        kwargs.insert("binary".into(), Value::String("ansible-inventory".into()));
        kwargs.insert("cmdline".into(), Value::String(cmdline.join(" ")));
        kwargs.insert(
            "inventory".into(),
            Value::String(source_path.display().to_string()),
        );
        if !spec.limit.is_empty() {
            kwargs.insert("limit".into(), Value::String(spec.limit.clone()));
        }
        kwargs.insert("envvars".into(), Value::Object(env));
        Ok(Prepared {
            created: spec.created,
            playbook: String::new(),
            kwargs,
            host_ids: HashMap::new(),
            timeout: spec.timeout,
            shown_env,
            after: AfterRun::InventoryUpdate(Box::new(Import {
                output,
                source: spec.source_id,
                inventory,
                overwrite: spec.overwrite,
                overwrite_vars: spec.overwrite_vars,
                enabled_var: spec.enabled_var.clone(),
                enabled_value: spec.enabled_value.clone(),
                host_filter: spec.host_filter.clone(),
            })),
        })
    }

    /// The path `ansible-inventory` reads, and the playbook dir for its
    /// relative lookups: a project's file or directory (its files copied at
    /// the project's revision), or a plugin configuration.
    async fn source_files(
        &self,
        spec: &UpdateSpec,
        pdd: &Path,
    ) -> Result<(PathBuf, PathBuf), RunError> {
        if spec.source == "scm" {
            let (project, scm_type, local_path) = spec.project.clone().ok_or_else(|| {
                RunError::Setup("the inventory source has no source project".into())
            })?;
            let dest = pdd.join("project");
            if scm_type.is_empty() {
                let dir = crate::scm::project_dir(&self.projects_root, project, "", &local_path)
                    .ok_or_else(|| {
                        RunError::Setup("the project's files are not on this node".into())
                    })?;
                std::os::unix::fs::symlink(&dir, &dest).map_err(|e| setup("project", e))?;
            } else {
                let cache = crate::scm::project_dir(&self.projects_root, project, &scm_type, "")
                    .ok_or_else(|| {
                        RunError::Setup("the source project has never been updated".into())
                    })?;
                let revision = project_updates::revision(&self.db, project).await?;
                let commit = if revision.is_empty() {
                    crate::scm::git::head(&cache)
                        .await
                        .map_err(|e| setup("project", e))?
                } else {
                    revision
                };
                crate::scm::git::copy_at(&cache, &dest, &commit)
                    .await
                    .map_err(|e| setup("project", e))?;
            }
            let relative = spec.source_path.trim_start_matches('/');
            if relative.split('/').any(|part| part == "..") {
                return Err(RunError::Setup(format!(
                    "source_path {} leaves the project",
                    spec.source_path
                )));
            }
            let path = if relative.is_empty() {
                dest.clone()
            } else {
                dest.join(relative)
            };
            if !path.exists() {
                return Err(RunError::Setup(format!(
                    "source_path {} is not in the project",
                    spec.source_path
                )));
            }
            let playbook_dir = if path.is_dir() {
                path.clone()
            } else {
                path.parent().map_or(dest.clone(), Path::to_path_buf)
            };
            return Ok((path, playbook_dir));
        }
        let (_, plugin, file) = PLUGINS
            .iter()
            .find(|(source, _, _)| *source == spec.source)
            .ok_or_else(|| RunError::Setup(format!("rawx cannot sync {} sources", spec.source)))?;
        let mut config = parse_vars(&spec.source_vars).map_err(|e| setup("source_vars", e))?;
        config.insert("plugin".into(), Value::String((*plugin).into()));
        let yaml = serde_yaml_ng::to_string(&Value::Object(config))
            .map_err(|e| setup("plugin configuration", e))?;
        let path = pdd.join("inventory").join(file);
        write_private(&path, yaml.as_bytes(), 0o600)?;
        Ok((path, pdd.join("inventory")))
    }
}
