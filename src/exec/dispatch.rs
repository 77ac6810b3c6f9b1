//! Runs one job on this node: its private data dir, ansible-runner's
//! streaming worker, its events to the CallbackReceiver, its outcome.

use std::collections::HashMap;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use actors::Supervised;
use actors::callback_receiver::{CallbackReceiver, EventRows, Ingest};
use actors::ports::{JobRunner, PortError, PortFuture, Scheduler};
use serde_json::{Map, Value, json};

use super::event::JobEvent;
use super::runner::{RunSpec, RunnerMessage, start};
use crate::resource::validate::parse_vars;
use crate::store::jobs::{self, HostStats, JobSpec};
use crate::store::{Db, events};

/// Events sent to the CallbackReceiver at once, at most.
const EVENTS_PER_MESSAGE: usize = 200;

/// Everything a job run on this node needs.
pub struct Executor {
    pub db: Db,
    pub node: String,
    pub jobs_root: PathBuf,
    pub projects_root: PathBuf,
    pub venv: PathBuf,
    pub receiver: Supervised<CallbackReceiver>,
    /// Decrypts the credentials' secrets for injection.
    pub cipher: crate::crypto::fields::Cipher,
}

/// Why a run could not happen (the job ends as `error`, with this reason).
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Scheduler for Executor {
    fn schedule(&self) -> PortFuture<'_, Vec<i64>> {
        Box::pin(async move {
            jobs::schedule(&self.db, &self.node, 100)
                .await
                .map_err(|err| PortError(err.to_string()))
        })
    }
}

impl JobRunner for Executor {
    fn run(&self, id: i64) -> PortFuture<'_, ()> {
        Box::pin(async move {
            let outcome = self.run_job(id).await;
            if let Err(err) = &outcome {
                // A system failure is `error` with the reason, never a silent stall.
                let _ = jobs::finish(&self.db, id, "error", &err.to_string(), 0, &Vec::new()).await;
            }
            outcome.map_err(|err| PortError(err.to_string()))
        })
    }
}

fn setup(what: &str, err: impl std::fmt::Display) -> RunError {
    RunError::Setup(format!("{what}: {err}"))
}

impl Executor {
    async fn run_job(&self, id: i64) -> Result<(), RunError> {
        let spec = jobs::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the job is gone".into()))?;
        events::ensure_partition(&self.db, "job", spec.created).await?;
        let pdd = self.jobs_root.join(id.to_string());
        let prepared = self.private_data_dir(&spec, &pdd).await;
        let (kwargs, host_ids) = match prepared {
            Ok(prepared) => prepared,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&pdd);
                return Err(err);
            }
        };
        if !jobs::mark_running(
            &self.db,
            id,
            &spec.playbook,
            &pdd.join("project").display().to_string(),
        )
        .await?
        {
            let _ = std::fs::remove_dir_all(&pdd);
            return Ok(());
        }
        let result = self.stream(&spec, &pdd, kwargs, &host_ids).await;
        // The data dir may hold secrets (credentials come next): never leave it.
        let _ = std::fs::remove_dir_all(&pdd);
        let (status, explanation, count, stats) = result?;
        jobs::finish(&self.db, id, &status, &explanation, count, &stats).await?;
        Ok(())
    }

    /// Writes `project/` (a link to the project's files), `inventory/hosts`
    /// and `env/`; returns the runner's kwargs.
    async fn private_data_dir(
        &self,
        spec: &JobSpec,
        pdd: &Path,
    ) -> Result<(Map<String, Value>, HashMap<String, i64>), RunError> {
        let project = spec
            .project
            .ok_or_else(|| RunError::Setup("the job has no project".into()))?;
        let source = crate::scm::project_dir(
            &self.projects_root,
            project,
            &spec.scm_type,
            &spec.local_path,
        )
        .ok_or_else(|| RunError::Setup("the project's files are not on this node".into()))?;
        let _ = std::fs::remove_dir_all(pdd);
        for dir in ["env", "inventory"] {
            std::fs::create_dir_all(pdd.join(dir)).map_err(|e| setup("private data dir", e))?;
        }
        std::fs::set_permissions(pdd, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| setup("private data dir", e))?;
        std::os::unix::fs::symlink(&source, pdd.join("project"))
            .map_err(|e| setup("project", e))?;

        let inventory = spec
            .inventory
            .ok_or_else(|| RunError::Setup("the job has no inventory".into()))?;
        let (script, host_ids) = inventory_script(&self.db, inventory).await?;
        write_private(&pdd.join("inventory/hosts"), script.as_bytes(), 0o700)?;

        let injection = super::credentials::inject(&self.db, &self.cipher, spec, pdd)
            .await
            .map_err(|e| setup("credentials", e))?;
        let mut extra_vars = parse_vars(&spec.extra_vars).map_err(|e| setup("extra_vars", e))?;
        extra_vars.extend(injection.extra_vars.clone());
        extra_vars.insert("awx_job_id".into(), Value::from(spec.id));
        extra_vars.insert("tower_job_id".into(), Value::from(spec.id));
        write_private(
            &pdd.join("env/extravars"),
            Value::Object(extra_vars).to_string().as_bytes(),
            0o600,
        )?;
        // The timeout is not runner's job_timeout: see `CancelState`.
        let mut settings = Map::new();
        settings.insert("suppress_ansible_output".into(), Value::Bool(true));
        write_private(
            &pdd.join("env/settings"),
            Value::Object(settings).to_string().as_bytes(),
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
        for (key, value) in [
            ("JOB_ID", spec.id.to_string()),
            ("INVENTORY_ID", inventory.to_string()),
            ("ANSIBLE_FORCE_COLOR", "True".into()),
            ("ANSIBLE_HOST_KEY_CHECKING", "False".into()),
        ] {
            envvars.insert(key.into(), Value::String(value));
        }
        kwargs.insert("envvars".into(), Value::Object(envvars));
        Ok((kwargs, host_ids))
    }

    /// Runs the worker and hands its events over as they come; returns the
    /// final status, its explanation, the event count and the host stats.
    async fn stream(
        &self,
        spec: &JobSpec,
        pdd: &Path,
        kwargs: Map<String, Value>,
        host_ids: &HashMap<String, i64>,
    ) -> Result<(String, String, i64, HostStats), RunError> {
        let run_spec = RunSpec {
            private_data_dir: pdd.to_path_buf(),
            ident: spec.id.to_string(),
            playbook: spec.playbook.clone(),
            kwargs,
            venv: self.venv.clone(),
        };
        let mut run = start(&run_spec)
            .await
            .map_err(|e| setup("ansible-runner", e))?;
        let created = spec.created.to_rfc3339();
        let mut status = String::from("error");
        let mut explanation = String::new();
        let mut count = 0i64;
        let mut stats = Vec::new();
        let mut batch = EventRows {
            job_id: spec.id,
            last_counter: 0,
            count: 0,
            rows: Vec::new(),
        };
        let mut ended = false;
        // rawx enforces the timeout itself, like a cancel, so the whole
        // process tree goes (runner's own timeout misses setsid() forks).
        let mut cancel = CancelState {
            deadline: u64::try_from(spec.timeout)
                .ok()
                .filter(|t| *t > 0)
                .map(|t| std::time::Instant::now() + std::time::Duration::from_secs(t)),
            ..CancelState::default()
        };
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            let message = tokio::select! {
                message = run.messages.recv() => message,
                _ = tick.tick() => {
                    cancel.step(&self.db, spec.id, run.child.id()).await;
                    continue;
                }
            };
            let Some(message) = message else {
                break;
            };
            match message {
                Ok(RunnerMessage::Event(value)) => {
                    if let Some(event) = JobEvent::from_runner(&value) {
                        if event.event == "playbook_on_stats" {
                            stats = jobs::stats_from_event(&event.event_data);
                        }
                        let host = host_ids.get(&event.host_name).copied();
                        event.encode(spec.id, &created, host, &mut batch.rows);
                        batch.count += 1;
                        batch.last_counter = event.counter;
                        count += 1;
                    }
                }
                Ok(RunnerMessage::Status {
                    status: s,
                    explanation: e,
                }) => {
                    if s != "starting" && s != "running" {
                        status = s;
                        explanation = e;
                    }
                }
                Ok(RunnerMessage::Artifacts(_)) => {}
                Ok(RunnerMessage::Eof) => {
                    ended = true;
                }
                Err(err) => {
                    status = "error".into();
                    explanation = err.to_string();
                    ended = true;
                }
            }
            // Hand over what has come when the stream pauses or a batch is full.
            if batch.count >= EVENTS_PER_MESSAGE
                || (batch.count > 0 && run.messages.is_empty())
                || ended
            {
                self.hand_over(&mut batch).await?;
            }
            if ended {
                break;
            }
        }
        self.hand_over(&mut batch).await?;
        let _ = run.child.wait().await;
        if cancel.timed_out {
            status = "timeout".into();
        } else if cancel.requested.is_some() {
            // Whatever the worker said last, the run ends canceled.
            status = "canceled".into();
            explanation = String::new();
        }
        let (status, explanation) = match status.as_str() {
            "timeout" => (
                "failed".to_string(),
                "Job terminated due to timeout".to_string(),
            ),
            "successful" | "failed" | "canceled" | "error" => (status, explanation),
            other => (
                "error".to_string(),
                format!("ansible-runner ended with status {other}"),
            ),
        };
        Ok((status, explanation, count, stats))
    }

    /// Sends the batch and waits until it is committed.
    async fn hand_over(&self, batch: &mut EventRows) -> Result<(), RunError> {
        if batch.count == 0 {
            return Ok(());
        }
        let rows = std::mem::replace(
            batch,
            EventRows {
                job_id: batch.job_id,
                last_counter: batch.last_counter,
                count: 0,
                rows: Vec::new(),
            },
        );
        self.receiver
            .send(Ingest(rows))
            .await
            .map_err(|e| setup("callback receiver", e))?
            .map_err(|e| setup("storing events", e))
    }
}

fn write_private(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RunError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| setup(&path.display().to_string(), e))?;
    file.write_all(bytes)
        .map_err(|e| setup(&path.display().to_string(), e))
}

/// The inventory as the executable script AWX gives a job: one JSON
/// document with `all`, every group and `_meta.hostvars`.
async fn inventory_script(
    db: &Db,
    inventory: i64,
) -> Result<(String, HashMap<String, i64>), RunError> {
    let (hosts, groups, variables) = jobs::inventory(db, inventory).await?;
    let mut hostvars = Map::new();
    for (_, name, vars) in &hosts {
        hostvars.insert(
            name.clone(),
            Value::Object(parse_vars(vars).unwrap_or_default()),
        );
    }
    let grouped: std::collections::HashSet<&String> =
        groups.iter().flat_map(|g| g.2.iter()).collect();
    let ungrouped: Vec<&String> = hosts
        .iter()
        .map(|h| &h.1)
        .filter(|h| !grouped.contains(h))
        .collect();
    let mut document = Map::new();
    document.insert(
        "all".into(),
        json!({"hosts": ungrouped, "children": groups.iter().map(|g| &g.0).collect::<Vec<_>>(),
               "vars": parse_vars(&variables).unwrap_or_default()}),
    );
    for (name, vars, members, children) in &groups {
        document.insert(
            name.clone(),
            json!({"hosts": members, "children": children, "vars": parse_vars(vars).unwrap_or_default()}),
        );
    }
    document.insert("_meta".into(), json!({"hostvars": hostvars}));
    let json = Value::Object(document).to_string();
    let ids = hosts
        .iter()
        .map(|(id, name, _)| (name.clone(), *id))
        .collect();
    let script = format!("#!/bin/sh\ncat <<'RAWX_INVENTORY_END'\n{json}\nRAWX_INVENTORY_END\n");
    Ok((script, ids))
}

/// How long a canceled run gets after each signal before the next one.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Cancelling a run: SIGINT to the whole process tree, then SIGTERM, then
/// SIGKILL, each after a grace period; the tree is snapshotted when the
/// cancel starts, before any parent dies and orphans its children.
#[derive(Default)]
struct CancelState {
    /// When the template's timeout runs out, if it has one.
    deadline: Option<std::time::Instant>,
    timed_out: bool,
    requested: Option<std::time::Instant>,
    tree: Vec<u32>,
    stage: u8,
}

impl CancelState {
    async fn step(&mut self, db: &Db, job: i64, worker: Option<u32>) {
        use nix::sys::signal::Signal;
        let Some(worker) = worker else {
            return;
        };
        if self.requested.is_none() {
            self.timed_out = self
                .deadline
                .is_some_and(|at| std::time::Instant::now() >= at);
            if !self.timed_out && !jobs::cancel_requested(db, job).await.unwrap_or(false) {
                return;
            }
            self.requested = Some(std::time::Instant::now());
            self.tree = super::runner::process_tree(worker);
            super::runner::signal_all(&self.tree, Signal::SIGINT);
            self.stage = 1;
            return;
        }
        let since = self.requested.map(|at| at.elapsed()).unwrap_or_default();
        // Forks that appeared since still belong to the run.
        for pid in super::runner::process_tree(worker) {
            if !self.tree.contains(&pid) {
                self.tree.push(pid);
            }
        }
        if self.stage == 1 && since >= CANCEL_GRACE {
            super::runner::signal_all(&self.tree, Signal::SIGTERM);
            self.stage = 2;
        } else if self.stage == 2 && since >= CANCEL_GRACE * 2 {
            super::runner::signal_all(&self.tree, Signal::SIGKILL);
            self.stage = 3;
        }
    }
}
