//! An ad hoc command's run: one module over an inventory's hosts, through
//! ansible-runner with the same inventory script and credentials a job gets.

use std::path::Path;

use serde_json::{Map, Value};

use super::dispatch::{AfterRun, Executor, Prepared, RunError, prepare_dirs, setup, write_private};
use super::job::inventory_script;
use crate::resource::validate::parse_vars;
use crate::store::ad_hoc_commands;

impl Executor {
    /// Writes the inventory, variables and credentials for ad hoc command `id`.
    pub(super) async fn prepare_ad_hoc(&self, id: i64, pdd: &Path) -> Result<Prepared, RunError> {
        let spec = ad_hoc_commands::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the ad hoc command is gone".into()))?;
        let inventory = spec
            .inventory
            .ok_or_else(|| RunError::Setup("the ad hoc command has no inventory".into()))?;
        prepare_dirs(pdd)?;
        // ansible-runner runs from the project dir; an ad hoc command has none.
        std::fs::create_dir_all(pdd.join("project")).map_err(|e| setup("private data dir", e))?;
        let (script, host_ids) = inventory_script(&self.db, inventory).await?;
        write_private(&pdd.join("inventory/hosts"), script.as_bytes(), 0o700)?;
        let injection =
            super::credentials::inject_unit(&self.db, &self.cipher, id, spec.become_enabled, pdd)
                .await
                .map_err(|e| setup("credentials", e))?;
        let mut extra_vars = parse_vars(&spec.extra_vars).map_err(|e| setup("extra_vars", e))?;
        extra_vars.extend(injection.extra_vars.clone());
        write_private(
            &pdd.join("env/extravars"),
            Value::Object(extra_vars).to_string().as_bytes(),
            0o600,
        )?;
        let mut cmdline = injection.cmdline.clone();
        if spec.job_type == "check" {
            cmdline.push("--check".into());
        }
        if spec.diff_mode {
            cmdline.push("--diff".into());
        }
        let mut kwargs = Map::new();
        kwargs.insert("module".into(), Value::String(spec.module_name.clone()));
        if !spec.module_args.is_empty() {
            kwargs.insert(
                "module_args".into(),
                Value::String(spec.module_args.clone()),
            );
        }
        // AWX runs the command on its limit, or on every host.
        let pattern = if spec.limit.is_empty() {
            "all".to_string()
        } else {
            spec.limit.clone()
        };
        kwargs.insert("host_pattern".into(), Value::String(pattern));
        if !cmdline.is_empty() {
            kwargs.insert("cmdline".into(), Value::String(cmdline.join(" ")));
        }
        if spec.forks > 0 {
            kwargs.insert("forks".into(), Value::from(spec.forks));
        }
        if spec.verbosity > 0 {
            kwargs.insert("verbosity".into(), Value::from(spec.verbosity));
        }
        let mut env = injection.env.clone();
        let mut shown_env = injection.safe_env.clone();
        for (key, value) in [
            ("AD_HOC_COMMAND_ID", spec.id.to_string()),
            ("INVENTORY_ID", inventory.to_string()),
            ("ANSIBLE_FORCE_COLOR", "True".into()),
            ("ANSIBLE_HOST_KEY_CHECKING", "False".into()),
        ] {
            env.insert(key.into(), Value::String(value.clone()));
            shown_env.insert(key.into(), Value::String(value));
        }
        kwargs.insert("envvars".into(), Value::Object(env));
        Ok(Prepared {
            created: spec.created,
            playbook: String::new(),
            kwargs,
            host_ids,
            timeout: 0,
            shown_env,
            after: AfterRun::Nothing,
        })
    }
}
