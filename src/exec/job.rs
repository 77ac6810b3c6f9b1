//! A playbook job's private data dir: its project at the job's revision,
//! its inventory as AWX's script, its variables, options and credentials.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::dispatch::{AfterRun, Executor, Prepared, RunError, prepare_dirs, setup, write_private};
use super::fact_cache::FactCache;
use crate::inventory::script::{self, Options};
use crate::resource::validate::parse_vars;
use crate::store::jobs::{self, JobSpec};
use crate::store::{Db, project_updates};

impl Executor {
    /// Writes `project/`, `inventory/hosts` and `env/` for job `id`.
    pub(super) async fn prepare_job(&self, id: i64, pdd: &Path) -> Result<Prepared, RunError> {
        let spec = jobs::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the job is gone".into()))?;
        prepare_dirs(pdd)?;
        self.checkout(&spec, pdd).await?;

        let inventory = spec
            .inventory
            .ok_or_else(|| RunError::Setup("the job has no inventory".into()))?;
        let (script, host_ids) = inventory_script(&self.db, inventory).await?;
        write_private(&pdd.join("inventory/hosts"), script.as_bytes(), 0o700)?;

        let injection = super::credentials::inject(&self.db, &self.cipher, &spec, pdd)
            .await
            .map_err(|e| setup("credentials", e))?;
        let mut extra_vars = parse_vars(&spec.extra_vars).map_err(|e| setup("extra_vars", e))?;
        // Survey passwords are kept encrypted until the run needs them.
        if let Value::Object(passwords) = &spec.survey_passwords {
            for (name, stored) in passwords {
                let plain = stored
                    .as_str()
                    .ok_or_else(|| RunError::Setup(format!("survey password {name} is not stored")))
                    .and_then(|s| {
                        self.cipher
                            .decrypt(&format!("survey:{name}"), s)
                            .map_err(|e| setup(&format!("survey password {name}"), e))
                    })?;
                extra_vars.insert(name.clone(), Value::String(plain));
            }
        }
        extra_vars.extend(injection.extra_vars.clone());
        extra_vars.insert("awx_job_id".into(), Value::from(spec.id));
        extra_vars.insert("tower_job_id".into(), Value::from(spec.id));
        write_private(
            &pdd.join("env/extravars"),
            Value::Object(extra_vars).to_string().as_bytes(),
            0o600,
        )?;

        let mut cmdline: Vec<String> = injection.cmdline.clone();
        if spec.job_type == "check" {
            cmdline.push("--check".into());
        }
        if spec.diff_mode {
            cmdline.push("--diff".into());
        }
        let mut kwargs = Map::new();
        if !cmdline.is_empty() {
            kwargs.insert("cmdline".into(), Value::String(cmdline.join(" ")));
        }
        if !spec.limit.is_empty() {
            kwargs.insert("limit".into(), Value::String(spec.limit.clone()));
        }
        if spec.forks > 0 {
            kwargs.insert("forks".into(), Value::from(spec.forks));
        }
        if spec.verbosity > 0 {
            kwargs.insert("verbosity".into(), Value::from(spec.verbosity));
        }
        if !spec.job_tags.is_empty() {
            kwargs.insert("tags".into(), Value::String(spec.job_tags.clone()));
        }
        if !spec.skip_tags.is_empty() {
            kwargs.insert("skip_tags".into(), Value::String(spec.skip_tags.clone()));
        }
        let mut envvars = injection.env.clone();
        let mut shown_env = injection.safe_env.clone();
        // ansible-runner points ansible's jsonfile cache at this directory
        // for every run; only a job using the fact cache finds facts there.
        let facts = if spec.use_fact_cache {
            let dir = pdd
                .join("artifacts")
                .join(spec.id.to_string())
                .join("fact_cache");
            Some(FactCache::restore(&self.db, host_ids.clone(), dir).await?)
        } else {
            None
        };
        for (key, value) in [
            ("JOB_ID", spec.id.to_string()),
            ("INVENTORY_ID", inventory.to_string()),
            ("ANSIBLE_FORCE_COLOR", "True".into()),
            ("ANSIBLE_HOST_KEY_CHECKING", "False".into()),
        ] {
            envvars.insert(key.into(), Value::String(value.clone()));
            shown_env.insert(key.into(), Value::String(value));
        }
        kwargs.insert("envvars".into(), Value::Object(envvars));
        Ok(Prepared {
            created: spec.created,
            playbook: spec.playbook.clone(),
            kwargs,
            host_ids,
            timeout: spec.timeout,
            shown_env,
            after: AfterRun::Job { facts },
        })
    }

    /// Puts the project's files at `<pdd>/project`: a manual project's
    /// directory by a link; an SCM project's cache copied at the revision
    /// the job runs (the project's last update, or the job's own branch
    /// where the project allows an override).
    async fn checkout(&self, spec: &JobSpec, pdd: &Path) -> Result<(), RunError> {
        let project = spec
            .project
            .ok_or_else(|| RunError::Setup("the job has no project".into()))?;
        let dest = pdd.join("project");
        if spec.scm_type.is_empty() {
            let source = crate::scm::project_dir(
                &self.projects_root,
                project,
                &spec.scm_type,
                &spec.local_path,
            )
            .ok_or_else(|| RunError::Setup("the project's files are not on this node".into()))?;
            return std::os::unix::fs::symlink(&source, dest).map_err(|e| setup("project", e));
        }
        let cache = crate::scm::project_dir(&self.projects_root, project, &spec.scm_type, "")
            .ok_or_else(|| {
                RunError::Setup("the project has never been updated on this node".into())
            })?;
        let source = project_updates::job_source(&self.db, spec.id).await?;
        let commit = match source.branch_override {
            Some(branch) => crate::scm::git::resolve(&cache, &branch)
                .await
                .map_err(|e| setup(&format!("branch {branch}"), e))?,
            None if !source.revision.is_empty() => source.revision,
            None => crate::scm::git::head(&cache)
                .await
                .map_err(|e| setup("project", e))?,
        };
        crate::scm::git::copy_at(&cache, &dest, &commit)
            .await
            .map_err(|e| setup("project", e))?;
        project_updates::set_job_revision(&self.db, spec.id, &commit).await?;
        Ok(())
    }
}

/// The inventory as the executable script AWX gives a job (the same
/// document `/inventories/N/script/` serves), and its hosts' ids by name.
pub(super) async fn inventory_script(
    db: &Db,
    inventory: i64,
) -> Result<(String, HashMap<String, i64>), RunError> {
    let built = script::document(db, inventory, &Options::for_job(1, 1))
        .await
        .map_err(|e| setup("inventory", e))?;
    Ok((script::executable(&built.document), built.host_ids))
}
