//! Runs one unified job on this node: its private data dir (prepared by
//! the job's kind: `job`, `project_update`), ansible-runner's streaming
//! worker, its events to the CallbackReceiver, its outcome.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use actors::Supervised;
use actors::callback_receiver::{CallbackReceiver, EventRows, Ingest};
use actors::ports::{JobRunner, PortError, PortFuture, Scheduler};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::event::{EventTable, JobEvent};
use super::runner::{RunSpec, RunnerMessage};
use crate::node::mesh::{ANSIBLE_RUNNER, LOCAL};
use crate::store::jobs::{self, HostStats};
use crate::store::{Db, events, project_updates, schedule};

/// Events sent to the CallbackReceiver at once, at most.
const EVENTS_PER_MESSAGE: usize = 200;

/// Tries of one hand-over before the run ends as `error` (the receiver's
/// supervisor restarts it within seconds).
const HAND_OVER_ATTEMPTS: u32 = 8;

/// Tries of writing a run's end (a second apart, then longer: about ten
/// minutes in all) before the node's restart is left to reap it.
const FINISH_ATTEMPTS: u32 = 64;

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
    /// Asks the TaskManager for a pass (set once it exists): a finished
    /// run may unblock others.
    pub wake: OnceCell<Rc<dyn Fn()>>,
    /// Which runs were asked to cancel, read once for all of them.
    pub cancels: CancelBoard,
    /// The MeshRouter that carries every run: this node's own as `local`
    /// units of its own executor, an execution node's through the mesh.
    pub mesh: super::remote::MeshExec,
}

/// The jobs asked to cancel, read with one query per interval for every run
/// of the node (a query per run and tick would keep the pool busy with a
/// hundred runs going).
#[derive(Default)]
pub struct CancelBoard {
    canceled: std::cell::RefCell<std::collections::HashSet<i64>>,
    read_at: std::cell::Cell<Option<std::time::Instant>>,
    reading: std::cell::Cell<bool>,
}

struct ClearOnDrop<'a>(&'a std::cell::Cell<bool>);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// How old the board may get before a run reads it again.
const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(500);

impl CancelBoard {
    /// Whether job `id` was asked to cancel, as of at most `CANCEL_POLL` ago.
    async fn requested(&self, db: &Db, id: i64) -> bool {
        let stale = self
            .read_at
            .get()
            .is_none_or(|at| at.elapsed() >= CANCEL_POLL);
        if stale && !self.reading.replace(true) {
            // Cleared however the read ends, even if its future is dropped:
            // a flag left set would stop every later read.
            let _reading = ClearOnDrop(&self.reading);
            // A failed read keeps the previous answer; the next tick tries again.
            if let Ok(ids) = jobs::cancel_requested(db).await {
                *self.canceled.borrow_mut() = ids;
                self.read_at.set(Some(std::time::Instant::now()));
            }
        }
        self.canceled.borrow().contains(&id)
    }
}

/// Why a run could not happen (the job ends as `error`, with this reason).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A run's private data dir, ready for the worker.
pub(super) struct Prepared {
    pub created: DateTime<Utc>,
    pub playbook: String,
    pub kwargs: Map<String, Value>,
    /// Inventory host names to host ids, for the events.
    pub host_ids: HashMap<String, i64>,
    /// Seconds the run may take (0: no limit).
    pub timeout: i32,
    /// The run's environment as the API shows it (`job_env`): secrets hidden.
    pub shown_env: Map<String, Value>,
    /// What the kind does with a run's result.
    pub after: AfterRun,
}

/// What a kind of unified job does once its run has ended.
pub(super) enum AfterRun {
    /// Host summaries from `playbook_on_stats`, and the facts the run
    /// cached (jobs).
    Job {
        facts: Option<super::fact_cache::FactCache>,
    },
    /// Nothing beyond the status (ad hoc commands).
    Nothing,
    /// Record the revision the update checked out on its project.
    ProjectUpdate { project: i64, cache: PathBuf },
    /// Import `ansible-inventory`'s output file (read before the private
    /// data dir goes).
    InventoryUpdate(Box<super::inventory_update::Import>),
}

/// How a run ended.
struct Outcome {
    status: String,
    explanation: String,
    events: i64,
    stats: HostStats,
    /// The commit a project update reported (`scm_version`).
    scm_version: Option<String>,
}

impl Scheduler for Executor {
    fn schedule(&self) -> PortFuture<'_, Vec<i64>> {
        Box::pin(async move {
            let pass = schedule::run(&self.db, &self.node)
                .await
                .map_err(|err| PortError(err.to_string()))?;
            if !pass.failed.is_empty() {
                tracing::info!(jobs = ?pass.failed, "failed jobs whose dependency failed");
            }
            if pass.more
                && let Some(wake) = self.wake.get()
            {
                wake();
            }
            Ok(pass.started)
        })
    }
}

impl JobRunner for Executor {
    fn run(&self, id: i64) -> PortFuture<'_, ()> {
        Box::pin(async move {
            let outcome = self.run_unit(id).await;
            if let Err(err) = &outcome {
                // A system failure is `error` with the reason, never a silent stall.
                let failed = Outcome {
                    status: "error".into(),
                    explanation: err.to_string(),
                    events: 0,
                    stats: Vec::new(),
                    scm_version: None,
                };
                let _ = self.finish(id, &failed, &HashMap::new()).await;
            }
            if let Some(wake) = self.wake.get() {
                wake();
            }
            outcome.map_err(|err| PortError(err.to_string()))
        })
    }

    fn recover(&self) -> PortFuture<'_, Vec<i64>> {
        Box::pin(async move {
            let recovered = jobs::recover(&self.db, &self.node)
                .await
                .map_err(|err| PortError(err.to_string()))?;
            // The executor reloaded those units as failed; their files stay
            // until released, and nothing will read them again.
            for unit in recovered.lost_units {
                match ::mesh::WorkUnitId::new(unit.clone()) {
                    Ok(unit) => self.mesh.release_unit(unit),
                    Err(err) => tracing::warn!(%unit, %err, "not a work unit id"),
                }
            }
            Ok(recovered.jobs)
        })
    }
}

pub(super) fn setup(what: &str, err: impl std::fmt::Display) -> RunError {
    RunError::Setup(format!("{what}: {err}"))
}

/// A fresh private data dir with `env/` and `inventory/`, readable by this
/// user only.
pub(super) fn prepare_dirs(pdd: &Path) -> Result<(), RunError> {
    let _ = std::fs::remove_dir_all(pdd);
    for dir in ["env", "inventory", "cp"] {
        std::fs::create_dir_all(pdd.join(dir)).map_err(|e| setup("private data dir", e))?;
    }
    std::fs::set_permissions(pdd, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| setup("private data dir", e))
}

impl Executor {
    async fn run_unit(&self, id: i64) -> Result<(), RunError> {
        let placed = jobs::placed(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the job is gone".into()))?;
        if placed.status == "running" {
            // Handed back after this node restarted: its unit goes on on
            // the execution node.
            return self.resume(id, placed).await;
        }
        let jobs::Placed {
            kind,
            created,
            execution_node,
            ..
        } = placed;
        // Where the run goes: this node's own executor, or an execution
        // node the TaskManager placed it on.
        let target = match execution_node.as_str() {
            "" => None,
            node if node == self.node => None,
            node => Some(
                ::mesh::NodeId::new(node)
                    .map_err(|e| setup(&format!("execution node {node}"), e))?,
            ),
        };
        let table = EventTable::of_kind(&kind)
            .ok_or_else(|| RunError::Setup(format!("rawx does not run {kind} jobs")))?;
        events::ensure_partition(&self.db, &kind, created).await?;
        let pdd = self.jobs_root.join(id.to_string());
        let prepared = match kind.as_str() {
            "project_update" => self.prepare_update(id, &pdd).await,
            "inventory_update" => self.prepare_inventory_update(id, &pdd).await,
            "ad_hoc_command" => self.prepare_ad_hoc(id, &pdd).await,
            _ => self.prepare_job(id, &pdd).await,
        };
        let mut prepared = match prepared {
            Ok(prepared) => prepared,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&pdd);
                return Err(err);
            }
        };
        // SSH connections are the run's own: never shared with another job
        // (the default path depends only on host, port and user).
        let control_path = pdd.join("cp").display().to_string();
        if let Some(Value::Object(env)) = prepared.kwargs.get_mut("envvars") {
            env.insert(
                "ANSIBLE_SSH_CONTROL_PATH_DIR".into(),
                Value::String(control_path),
            );
        }
        if !jobs::mark_running(
            &self.db,
            id,
            &prepared.playbook,
            &pdd.join("project").display().to_string(),
            &Value::Object(prepared.shown_env.clone()),
        )
        .await?
        {
            let _ = std::fs::remove_dir_all(&pdd);
            return Ok(());
        }
        let result = self.stream(id, table, &prepared, &pdd, target).await;
        let inventory_output = match (&prepared.after, &result) {
            (AfterRun::InventoryUpdate(import), Ok(outcome)) if outcome.status == "successful" => {
                Some(std::fs::read(&import.output))
            }
            _ => None,
        };
        let facts = match &prepared.after {
            AfterRun::Job { facts: Some(cache) } => Some(cache.collect()),
            _ => None,
        };
        // What outlives the run (ssh masters, the agent holding its key) goes
        // with it; the data dir may hold secrets: never leave it.
        super::runner::signal_all(
            &super::runner::processes_mentioning(&pdd),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = std::fs::remove_dir_all(&pdd);
        let mut outcome = result?;
        match &prepared.after {
            AfterRun::ProjectUpdate { project, cache } if outcome.status == "successful" => {
                let revision = match &outcome.scm_version {
                    Some(revision) => revision.clone(),
                    None => crate::scm::git::head(cache)
                        .await
                        .map_err(|e| setup("project", e))?,
                };
                let playbooks = crate::scm::playbooks(&self.projects_root, *project, "git", "")
                    .unwrap_or_default();
                project_updates::record_revision(&self.db, id, *project, &revision, &playbooks)
                    .await?;
            }
            AfterRun::Job { .. } => {
                if let Some(facts) = facts {
                    facts.save(&self.db).await?;
                }
            }
            AfterRun::InventoryUpdate(import) => {
                if let Some(output) = inventory_output
                    && let Err(err) = import.apply(&self.db, output).await
                {
                    // The run worked but its result could not be taken in.
                    outcome.status = "failed".into();
                    outcome.explanation = err;
                }
            }
            _ => {}
        }
        self.finish(id, &outcome, &prepared.host_ids).await
    }

    /// Records how a run ended, trying again while the database is away or
    /// the pool is exhausted: a run whose end is not written would stay
    /// `running` until the node restarts.
    async fn finish(
        &self,
        id: i64,
        outcome: &Outcome,
        host_ids: &HashMap<String, i64>,
    ) -> Result<(), RunError> {
        let mut attempt = 0u32;
        loop {
            let written = jobs::finish(
                &self.db,
                id,
                &outcome.status,
                &outcome.explanation,
                outcome.events,
                &outcome.stats,
                host_ids,
            )
            .await;
            match written {
                Ok(()) => return Ok(()),
                Err(err) if attempt >= FINISH_ATTEMPTS => return Err(err.into()),
                Err(err) => {
                    attempt += 1;
                    tracing::warn!(job = id, attempt, %err, "could not record the end of a run; trying again");
                    tokio::time::sleep(std::time::Duration::from_secs(u64::from(attempt.min(10))))
                        .await;
                }
            }
        }
    }

    /// Runs the worker and hands its events over as they come; returns the
    /// final status, its explanation, the event count and the host stats.
    async fn stream(
        &self,
        id: i64,
        table: EventTable,
        prepared: &Prepared,
        pdd: &Path,
        target: Option<::mesh::NodeId>,
    ) -> Result<Outcome, RunError> {
        let run_spec = RunSpec {
            private_data_dir: pdd.to_path_buf(),
            ident: id.to_string(),
            playbook: prepared.playbook.clone(),
            kwargs: prepared.kwargs.clone(),
            venv: self.venv.clone(),
        };
        let mesh = &self.mesh;
        let remote = target.is_some();
        let (dest, work_type, payload) = match target {
            // The data dir is here: only the kwargs travel (AWX's
            // `only_transmit_kwargs` for control-plane work).
            None => (
                mesh.local.clone(),
                LOCAL,
                super::remote::kwargs_payload(&run_spec)
                    .await
                    .map_err(|e| setup("ansible-runner", e))?,
            ),
            Some(dest) => (
                dest,
                ANSIBLE_RUNNER,
                super::remote::transmit(&run_spec)
                    .await
                    .map_err(|e| setup("ansible-runner transmit", e))?,
            ),
        };
        let unit = ::mesh::WorkUnitId::random();
        // Recorded first: whoever looks at the job can find its unit.
        jobs::record_work_unit(&self.db, id, unit.as_str()).await?;
        let run = mesh
            .run(&dest, unit, work_type, payload)
            .await
            .map_err(|e| setup(&format!("work unit on {dest}"), e))?;
        self.follow(id, table, prepared, run, remote, 0).await
    }

    /// Follows job `id` again after this node restarted: its unit, still
    /// going (or done) on its execution node, is read from its first byte;
    /// the events the database has are skipped, the rest stored, and the
    /// job ends as usual.
    async fn resume(&self, id: i64, placed: jobs::Placed) -> Result<(), RunError> {
        let table = EventTable::of_kind(&placed.kind)
            .ok_or_else(|| RunError::Setup(format!("rawx does not run {} jobs", placed.kind)))?;
        let unit = placed
            .work_unit_id
            .as_deref()
            .and_then(|u| ::mesh::WorkUnitId::new(u).ok())
            .ok_or_else(|| RunError::Setup("the job has no work unit to follow".into()))?;
        let dest = ::mesh::NodeId::new(placed.execution_node.as_str())
            .map_err(|e| setup(&format!("execution node {}", placed.execution_node), e))?;
        let spec = jobs::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the job is gone".into()))?;
        let host_ids = match spec.inventory {
            Some(inventory) => super::job::inventory_script(&self.db, inventory).await?.1,
            None => HashMap::new(),
        };
        let prepared = Prepared {
            created: placed.created,
            playbook: spec.playbook.clone(),
            kwargs: Map::new(),
            host_ids,
            // The rest of the timeout is not known here: it counts again.
            timeout: spec.timeout,
            shown_env: Map::new(),
            after: AfterRun::Job { facts: None },
        };
        let committed = events::last_counter(&self.db, table, id, placed.created)
            .await?
            .unwrap_or(0);
        tracing::info!(job = id, unit = %unit, node = %dest, committed, "following a job's unit again");
        let run = self
            .mesh
            .attach(&dest, unit)
            .await
            .map_err(|e| setup(&format!("work unit on {dest}"), e))?;
        let outcome = self
            .follow(id, table, &prepared, run, true, committed)
            .await;
        // What the run before the restart left here (secrets included).
        let _ = std::fs::remove_dir_all(self.jobs_root.join(id.to_string()));
        self.finish(id, &outcome?, &prepared.host_ids).await
    }

    /// Reads a run's unit to its end: hands its events over (those after
    /// counter `committed`: the database has the others), stops it on a
    /// cancel or its timeout, and releases it.
    async fn follow(
        &self,
        id: i64,
        table: EventTable,
        prepared: &Prepared,
        mut run: super::remote::RemoteRun,
        remote: bool,
        committed: i64,
    ) -> Result<Outcome, RunError> {
        let pdd = self.jobs_root.join(id.to_string());
        let created = prepared.created.to_rfc3339();
        let mut status = String::from("error");
        let mut explanation = String::new();
        let mut count = 0i64;
        let mut stats = Vec::new();
        let mut scm_version = None;
        let mut batch = EventRows {
            table: table.name(),
            job_id: id,
            last_counter: 0,
            count: 0,
            rows: Vec::new(),
        };
        // Where each event of the batch ends in its bytes, with its counter:
        // what a resumed hand-over cuts at.
        let mut marks: Vec<(i64, usize)> = Vec::new();
        let mut ended = false;
        // rawx enforces the timeout itself, like a cancel, so the whole
        // process tree goes (runner's own timeout misses setsid() forks).
        let mut cancel = CancelState {
            deadline: u64::try_from(prepared.timeout)
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
                    if cancel.due(&self.db, &self.cancels, id).await {
                        self.mesh.cancel(&run);
                    }
                    continue;
                }
            };
            let Some(message) = message else {
                break;
            };
            match message {
                Ok(RunnerMessage::Event(value)) => {
                    if let Some(event) = JobEvent::from_runner(&value) {
                        if event.event == "playbook_on_stats"
                            && matches!(prepared.after, AfterRun::Job { .. })
                        {
                            stats = jobs::stats_from_event(&event.event_data);
                        }
                        if let Some(version) = event
                            .event_data
                            .pointer("/res/ansible_facts/scm_version")
                            .and_then(Value::as_str)
                        {
                            scm_version = Some(version.to_string());
                        }
                        count += 1;
                        if event.counter > committed {
                            let host = prepared.host_ids.get(&event.host_name).copied();
                            event.encode(table, id, &created, host, &mut batch.rows);
                            marks.push((event.counter, batch.rows.len()));
                            batch.count += 1;
                            batch.last_counter = event.counter;
                        }
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
                Ok(RunnerMessage::Artifacts(zip)) => {
                    // A remote run's artifacts come back only in the stream:
                    // the cached facts and an inventory update's output are
                    // read from them.
                    let wanted = matches!(
                        prepared.after,
                        AfterRun::Job { facts: Some(_) } | AfterRun::InventoryUpdate(_)
                    );
                    if remote && wanted {
                        let dir = pdd.join("artifacts").join(id.to_string());
                        if let Err(err) =
                            super::remote::unpack_artifacts(&self.venv, &zip, &dir).await
                        {
                            tracing::warn!(job = id, %err, "cannot unpack a remote run's artifacts");
                        }
                    }
                }
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
                self.hand_over(&mut batch, &mut marks, prepared.created)
                    .await?;
            }
            if ended {
                break;
            }
        }
        self.hand_over(&mut batch, &mut marks, prepared.created)
            .await?;
        // The stream was read to its end, or given up: the unit's files go,
        // and a run still going over there (its node was out of reach) is
        // stopped once the node answers again. The job's end waits for none
        // of it.
        self.mesh.release(&run);
        if cancel.timed_out {
            status = "timeout".into();
        } else if cancel.requested {
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
        Ok(Outcome {
            status,
            explanation,
            events: count,
            stats,
            scm_version,
        })
    }

    /// Sends the batch and waits until it is committed. If the receiver
    /// fails (it restarts, the database is away), the hand-over resumes
    /// from the last counter the database holds: nothing committed is sent
    /// twice, nothing is lost.
    async fn hand_over(
        &self,
        batch: &mut EventRows,
        marks: &mut Vec<(i64, usize)>,
        created: DateTime<Utc>,
    ) -> Result<(), RunError> {
        if batch.count == 0 {
            return Ok(());
        }
        let table = batch.table;
        let mut pending = std::mem::replace(
            batch,
            EventRows {
                table,
                job_id: batch.job_id,
                last_counter: batch.last_counter,
                count: 0,
                rows: Vec::new(),
            },
        );
        let mut pending_marks = std::mem::take(marks);
        let mut attempt = 0u32;
        loop {
            let sent = self
                .receiver
                .send(Ingest(pending.clone()))
                .await
                .map_err(|e| e.to_string())
                .and_then(|stored| stored.map_err(|e| e.to_string()));
            let Err(reason) = sent else {
                return Ok(());
            };
            attempt += 1;
            if attempt >= HAND_OVER_ATTEMPTS {
                return Err(setup("storing events", reason));
            }
            tracing::warn!(job = pending.job_id, attempt, %reason, "event hand-over failed; resuming");
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
            let Some(table) = EventTable::from_name(table) else {
                return Err(setup("storing events", reason));
            };
            let committed = events::last_counter(&self.db, table, pending.job_id, created)
                .await
                .map_err(|e| setup("storing events", e))?
                .unwrap_or(-1);
            drop_committed(&mut pending.rows, &mut pending_marks, committed);
            pending.count = pending_marks.len();
            if pending.count == 0 {
                return Ok(());
            }
        }
    }
}

/// Keeps only the events after counter `committed` (the database holds
/// the rest): `marks` are each event's counter and end offset in `rows`.
fn drop_committed(rows: &mut Vec<u8>, marks: &mut Vec<(i64, usize)>, committed: i64) {
    let cut = marks
        .iter()
        .take_while(|(counter, _)| *counter <= committed)
        .last()
        .map_or(0, |(_, end)| *end);
    marks.retain(|(counter, _)| *counter > committed);
    for mark in marks.iter_mut() {
        mark.1 -= cut;
    }
    rows.drain(..cut.min(rows.len()));
}

pub(super) fn write_private(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RunError> {
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

/// A run's stop: a cancel asked through the API, or its timeout. The
/// executor that runs the unit stops the whole process tree.
#[derive(Default)]
struct CancelState {
    /// When the template's timeout runs out, if it has one.
    deadline: Option<std::time::Instant>,
    timed_out: bool,
    requested: bool,
}

impl CancelState {
    /// Whether the run must stop now (a cancel or its timeout); true once.
    async fn due(&mut self, db: &Db, board: &CancelBoard, job: i64) -> bool {
        if self.requested {
            return false;
        }
        self.timed_out = self
            .deadline
            .is_some_and(|at| std::time::Instant::now() >= at);
        if !self.timed_out && !board.requested(db, job).await {
            return false;
        }
        self.requested = true;
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_resumed_hand_over_sends_only_what_is_not_committed() {
        let mut rows = b"1\n22\n333\n".to_vec();
        let mut marks = vec![(1, 2), (2, 5), (3, 9)];
        super::drop_committed(&mut rows, &mut marks, 2);
        assert_eq!(rows, b"333\n");
        assert_eq!(marks, [(3, 4)]);
        super::drop_committed(&mut rows, &mut marks, -1);
        assert_eq!(rows, b"333\n");
        super::drop_committed(&mut rows, &mut marks, 3);
        assert!(rows.is_empty() && marks.is_empty());
    }
}
