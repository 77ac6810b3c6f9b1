//! The execution side of work units: verifies submissions, stores payloads,
//! runs [`Worker`]s and serves their output from disk.
//!
//! One task (the core) owns the table of units and handles every request in
//! order; each running worker and each output reader is its own task, so a
//! slow controller or a long job never holds up another unit. The core
//! hears requests through a bounded queue that the node's dispatcher fills
//! with `try_send`: a request dropped when the queue is full is repeated by
//! the controller (every request is idempotent and retried), so the core
//! may wait on the network while replying without ever stalling the links.
//!
//! Output flow control: a reader sends from the offset the controller asked
//! for ([`Message::Read`]) and stops when [`OUTPUT_WINDOW`] bytes or
//! [`OUTPUT_FRAMES`] frames are unacknowledged ([`Message::Ack`]), so a unit
//! has a bounded amount in flight whatever its output's size.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::frame::{Message, WorkState};
use crate::id::{NodeId, WorkUnitId};
use crate::node::{Delivery, Node};
use crate::unit::{self, OUTPUT_FILE, PAYLOAD_FILE, StoreError, UnitStatus};
use crate::work::{PayloadHasher, SignedSubmission, TrustedKeys};
use crate::worker::{CancelSource, OutputWriter, WorkContext, WorkerRegistry};

/// Most output bytes a unit has in flight before the controller acks.
/// 256 KiB kept one stream at 0.31 of TLS over TCP on loopback, waiting on
/// acks (`benches/mesh_throughput.rs`); 2 MiB a unit still bounds memory.
pub const OUTPUT_WINDOW: u64 = 2 * 1024 * 1024;
/// Most output frames a unit has in flight before the controller acks, so
/// many small writes cannot flood the controller's queue either.
pub const OUTPUT_FRAMES: usize = 128;
/// Largest output or payload chunk in one frame. 64 KiB rather than 32:
/// fewer frames, acks and wake-ups per byte (100 units at once streamed
/// 12–20% faster in `benches/mesh_throughput.rs`), at ~1.5× the memory a
/// unit holds in flight; 128 KiB slowed the relays.
pub const CHUNK: usize = 64 * 1024;
/// Output chunks read from disk in one go: each read is a trip to tokio's
/// blocking pool, so a reader takes up to four frames' worth at a time.
const READ_CHUNKS: usize = 4;
/// Requests waiting for the executor core.
pub(crate) const REQUEST_QUEUE: usize = 256;

/// What an execution node needs to run work.
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// Where units' files live.
    pub dir: PathBuf,
    /// The controller keys work is accepted from.
    pub trusted: TrustedKeys,
    /// The work types this node runs.
    pub workers: WorkerRegistry,
    /// Largest payload accepted, in bytes.
    pub max_payload: u64,
}

/// Why the executor could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Its directory could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A payload still arriving.
struct Receiving {
    file: tokio::fs::File,
    hasher: PayloadHasher,
}

/// The controller reading a unit's output, and how far it has acked.
struct Reader {
    task: AbortHandle,
    acked: watch::Sender<u64>,
}

struct Unit {
    signed: SignedSubmission,
    dir: PathBuf,
    receiving: Option<Receiving>,
    status: Arc<watch::Sender<UnitStatus>>,
    size: Arc<watch::Sender<u64>>,
    cancel: CancelSource,
    worker: Option<AbortHandle>,
    reader: Option<Reader>,
}

impl Unit {
    fn submitter(&self) -> &NodeId {
        &self.signed.submission.submitter
    }

    fn stop_tasks(&mut self) {
        self.cancel.cancel();
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
        if let Some(reader) = self.reader.take() {
            reader.task.abort();
        }
    }
}

/// The executor core; see the module docs.
pub(crate) struct Executor {
    me: NodeId,
    config: ExecutorConfig,
    node: Weak<Node>,
    units: HashMap<WorkUnitId, Unit>,
    tasks: JoinSet<()>,
}

impl Executor {
    /// Loads the units on disk. Units that were running when the executor
    /// stopped are failed: their worker is gone, and a worker that could
    /// resume would need to say so (not supported yet).
    pub(crate) async fn load(
        me: NodeId,
        config: ExecutorConfig,
        node: Weak<Node>,
    ) -> Result<Self, ExecutorError> {
        let mut units = HashMap::new();
        for stored in unit::load_all(&config.dir).await? {
            let mut status = stored.status;
            let received = stored.payload.len();
            let complete = received == stored.signed.submission.payload_len;
            let receiving = match status.state {
                WorkState::Pending if !complete => {
                    let path = stored.dir.join(PAYLOAD_FILE);
                    match tokio::fs::OpenOptions::new().append(true).open(&path).await {
                        Ok(file) => Some(Receiving {
                            file,
                            hasher: stored.payload,
                        }),
                        Err(e) => {
                            warn!(path = %path.display(), error = %e, "payload not reopened");
                            status = UnitStatus::new(WorkState::Failed, "payload lost");
                            None
                        }
                    }
                }
                WorkState::Pending | WorkState::Running => {
                    status = UnitStatus::new(WorkState::Failed, "executor restarted");
                    None
                }
                _ => None,
            };
            if receiving.is_none() && !status.state.is_final() {
                status = UnitStatus::new(WorkState::Failed, "executor restarted");
            }
            if let Err(e) = unit::write_status(&stored.dir, &status).await {
                warn!(error = %e, "status not recorded");
            }
            let (cancel, _) = CancelSource::new();
            let id = stored.signed.submission.unit.clone();
            info!(unit = %id, state = ?status.state, "work unit reloaded");
            units.insert(
                id,
                Unit {
                    signed: stored.signed,
                    dir: stored.dir,
                    receiving,
                    status: Arc::new(watch::channel(status).0),
                    size: Arc::new(watch::channel(stored.output_len).0),
                    cancel,
                    worker: None,
                    reader: None,
                },
            );
        }
        Ok(Self {
            me,
            config,
            node,
            units,
            tasks: JoinSet::new(),
        })
    }

    /// Handles requests until the queue closes.
    pub(crate) async fn run(mut self, mut requests: mpsc::Receiver<Delivery>) {
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(d) => self.handle(d.source, d.message).await,
                    None => break,
                },
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
    }

    async fn send(&self, dest: &NodeId, message: Message) {
        let Some(node) = self.node.upgrade() else {
            return;
        };
        // A lost reply is repeated when the controller repeats its request.
        if let Err(e) = node.send(dest, message).await {
            debug!(%dest, error = %e, "work reply not sent");
        }
    }

    async fn send_status(&self, dest: &NodeId, unit: &Unit) {
        let status = unit.status.borrow().clone();
        let message = Message::Status {
            unit: unit.signed.submission.unit.clone(),
            state: status.state,
            detail: status.detail,
            output_size: *unit.size.borrow(),
        };
        self.send(dest, message).await;
    }

    async fn handle(&mut self, source: NodeId, message: Message) {
        match message {
            Message::Submit(signed) => self.submit(source, *signed).await,
            Message::Payload {
                unit,
                offset,
                payload,
            } => self.payload(source, unit, offset, payload).await,
            Message::Read { unit, offset } => self.read(source, unit, offset).await,
            Message::Ack { unit, offset } => {
                if let Some(reader) = self.units.get(&unit).and_then(|u| u.reader.as_ref()) {
                    reader.acked.send_modify(|a| *a = (*a).max(offset));
                }
            }
            Message::QueryStatus { unit } => match self.owned(&source, &unit) {
                Some(u) => self.send_status(&source, u).await,
                None => self.send(&source, Message::Gone { unit }).await,
            },
            Message::Cancel { unit } => self.cancel(source, unit).await,
            Message::Release { unit } => self.release(source, unit).await,
            other => debug!(?other, "not an executor request"),
        }
    }

    /// The unit, if it exists and `source` submitted it. Reads, cancels and
    /// releases come from the submitting controller only: the output may
    /// hold secrets. (The source is as trustworthy as the mesh's members,
    /// which relay it; requests other than the submission are not signed.)
    fn owned(&self, source: &NodeId, unit: &WorkUnitId) -> Option<&Unit> {
        self.units.get(unit).filter(|u| u.submitter() == source)
    }

    async fn refuse(&self, dest: &NodeId, unit: WorkUnitId, reason: String) {
        info!(%unit, %dest, %reason, "work submission refused");
        self.send(dest, Message::Refused { unit, reason }).await;
    }

    async fn submit(&mut self, source: NodeId, signed: SignedSubmission) {
        let id = signed.submission.unit.clone();
        if let Some(existing) = self.units.get(&id) {
            // A repeated submission asks how far the payload got.
            if existing.signed == signed {
                let offset = match &existing.receiving {
                    Some(r) => r.hasher.len(),
                    None => existing.signed.submission.payload_len,
                };
                self.send(&source, Message::PayloadAck { unit: id, offset })
                    .await;
            } else {
                self.refuse(&source, id, "unit id already in use".into())
                    .await;
            }
            return;
        }
        if let Err(e) = self.config.trusted.verify(&signed, SystemTime::now()) {
            return self.refuse(&source, id, e.to_string()).await;
        }
        let submission = &signed.submission;
        let reason = if submission.executor != self.me {
            Some(format!(
                "submitted to {}, not to this node",
                submission.executor
            ))
        } else if self.config.workers.get(&submission.work_type).is_none() {
            Some(format!("unknown work type {:?}", submission.work_type))
        } else if submission.payload_len > self.config.max_payload {
            Some(format!(
                "payload of {} bytes exceeds this node's limit of {}",
                submission.payload_len, self.config.max_payload
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.refuse(&source, id, reason).await;
        }
        let dir = match unit::create(&self.config.dir, &signed).await {
            Ok(dir) => dir,
            Err(e) => {
                warn!(unit = %id, error = %e, "work unit not stored");
                return self
                    .refuse(&source, id, format!("cannot store the unit: {e}"))
                    .await;
            }
        };
        let path = dir.join(PAYLOAD_FILE);
        let file = match tokio::fs::OpenOptions::new().append(true).open(&path).await {
            Ok(file) => file,
            Err(e) => {
                let _ = unit::remove(&dir).await;
                return self
                    .refuse(&source, id, format!("cannot store the payload: {e}"))
                    .await;
            }
        };
        info!(unit = %id, work_type = %submission.work_type, submitter = %source, "work unit accepted");
        let (cancel, _) = CancelSource::new();
        self.units.insert(
            id.clone(),
            Unit {
                signed,
                dir,
                receiving: Some(Receiving {
                    file,
                    hasher: PayloadHasher::new(),
                }),
                status: Arc::new(
                    watch::channel(UnitStatus::new(WorkState::Pending, "receiving payload")).0,
                ),
                size: Arc::new(watch::channel(0).0),
                cancel,
                worker: None,
                reader: None,
            },
        );
        // An empty payload is complete at once.
        self.payload(source, id, 0, Bytes::new()).await;
    }

    async fn payload(&mut self, source: NodeId, id: WorkUnitId, offset: u64, bytes: Bytes) {
        let Some(unit) = self.units.get_mut(&id).filter(|u| *u.submitter() == source) else {
            return self.send(&source, Message::Gone { unit: id }).await;
        };
        let expected = unit.signed.submission.payload_len;
        let Some(receiving) = unit.receiving.as_mut() else {
            // Already complete: a late duplicate.
            let message = Message::PayloadAck {
                unit: id,
                offset: expected,
            };
            return self.send(&source, message).await;
        };
        let received = receiving.hasher.len();
        if offset != received || received + bytes.len() as u64 > expected {
            // Out of order (a chunk was lost), or more than was signed: say
            // where we stand; the controller rewinds after its retry delay.
            let message = Message::PayloadAck {
                unit: id,
                offset: received,
            };
            return self.send(&source, message).await;
        }
        if let Err(e) = receiving.file.write_all(&bytes).await {
            warn!(unit = %id, error = %e, "payload not stored");
            return self
                .send(
                    &source,
                    Message::PayloadAck {
                        unit: id,
                        offset: received,
                    },
                )
                .await;
        }
        receiving.hasher.update(&bytes);
        let received = receiving.hasher.len();
        if received < expected {
            return self
                .send(
                    &source,
                    Message::PayloadAck {
                        unit: id,
                        offset: received,
                    },
                )
                .await;
        }
        self.payload_complete(source, id).await;
    }

    async fn payload_complete(&mut self, source: NodeId, id: WorkUnitId) {
        let Some(unit) = self.units.get_mut(&id) else {
            return;
        };
        let Some(mut receiving) = unit.receiving.take() else {
            return;
        };
        let flushed = receiving.file.flush().await;
        let (len, sha) = receiving.hasher.finish();
        let checked = unit.signed.submission.check_payload(len, sha);
        if let Err(e) = checked
            .map_err(|e| e.to_string())
            .and(flushed.map_err(|e| e.to_string()))
        {
            let dir = unit.dir.clone();
            self.units.remove(&id);
            if let Err(e) = unit::remove(&dir).await {
                warn!(unit = %id, error = %e, "refused unit's files not removed");
            }
            return self.refuse(&source, id, e).await;
        }
        let Some(worker) = self.config.workers.get(&unit.signed.submission.work_type) else {
            return;
        };
        let output_path = unit.dir.join(OUTPUT_FILE);
        let file = tokio::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&output_path)
            .await;
        let running = UnitStatus::new(WorkState::Running, "");
        let status = match file {
            Ok(file) => {
                let (cancel, token) = CancelSource::new();
                unit.cancel = cancel;
                let context = WorkContext {
                    unit: id.clone(),
                    payload: unit.dir.join(PAYLOAD_FILE),
                    output: OutputWriter::new(file, unit.size.clone()),
                    cancel: token.clone(),
                };
                let future = worker.run(context);
                let dir = unit.dir.clone();
                let status = unit.status.clone();
                let unit_id = id.clone();
                let handle = self.tasks.spawn(async move {
                    // Its own task, so a panicking worker fails its unit
                    // instead of leaving it running forever; the guard
                    // aborts it when this task is aborted (release, stop).
                    let mut worker = AbortOnDrop(tokio::spawn(future));
                    let outcome = match (&mut worker.0).await {
                        Ok(outcome) => outcome,
                        Err(e) => Err(format!("worker failed: {e}")),
                    };
                    let done = if token.is_canceled() {
                        UnitStatus::new(WorkState::Canceled, "canceled")
                    } else {
                        match outcome {
                            Ok(detail) => UnitStatus::new(WorkState::Succeeded, detail),
                            Err(detail) => UnitStatus::new(WorkState::Failed, detail),
                        }
                    };
                    info!(unit = %unit_id, state = ?done.state, detail = %done.detail, "work unit finished");
                    // On disk first: a reader told "finished" must find the
                    // same after a restart.
                    if let Err(e) = unit::write_status(&dir, &done).await {
                        warn!(unit = %unit_id, error = %e, "status not recorded");
                    }
                    status.send_replace(done);
                });
                unit.worker = Some(handle);
                running
            }
            Err(e) => UnitStatus::new(WorkState::Failed, format!("cannot open the output: {e}")),
        };
        if let Err(e) = unit::write_status(&unit.dir, &status).await {
            warn!(unit = %id, error = %e, "status not recorded");
        }
        // Only if the worker has not finished already (a very short one).
        unit.status.send_if_modified(|s| {
            if s.state.is_final() {
                false
            } else {
                *s = status;
                true
            }
        });
        let len = unit.signed.submission.payload_len;
        self.send(
            &source,
            Message::PayloadAck {
                unit: id,
                offset: len,
            },
        )
        .await;
    }

    async fn read(&mut self, source: NodeId, id: WorkUnitId, offset: u64) {
        let Some(unit) = self.units.get_mut(&id).filter(|u| *u.submitter() == source) else {
            return self.send(&source, Message::Gone { unit: id }).await;
        };
        if let Some(old) = unit.reader.take() {
            old.task.abort();
        }
        let (acked, acked_rx) = watch::channel(offset);
        let task = self.tasks.spawn(stream_output(OutputReader {
            node: self.node.clone(),
            dest: source,
            unit: id,
            path: unit.dir.join(OUTPUT_FILE),
            offset,
            acked: acked_rx,
            size: unit.size.subscribe(),
            status: unit.status.subscribe(),
        }));
        unit.reader = Some(Reader { task, acked });
    }

    async fn cancel(&mut self, source: NodeId, id: WorkUnitId) {
        let Some(unit) = self.units.get_mut(&id).filter(|u| *u.submitter() == source) else {
            return self.send(&source, Message::Gone { unit: id }).await;
        };
        if !unit.cancel.is_canceled() {
            info!(unit = %id, "work unit canceled");
        }
        unit.cancel.cancel();
        if unit.receiving.take().is_some() {
            // Not started: nothing to wait for.
            let canceled = UnitStatus::new(WorkState::Canceled, "canceled before it started");
            if let Err(e) = unit::write_status(&unit.dir, &canceled).await {
                warn!(unit = %id, error = %e, "status not recorded");
            }
            unit.status.send_replace(canceled);
        }
        if let Some(unit) = self.units.get(&id) {
            self.send_status(&source, unit).await;
        }
    }

    async fn release(&mut self, source: NodeId, id: WorkUnitId) {
        if self.owned(&source, &id).is_some()
            && let Some(mut unit) = self.units.remove(&id)
        {
            unit.stop_tasks();
            info!(unit = %id, "work unit released");
            if let Err(e) = unit::remove(&unit.dir).await {
                warn!(unit = %id, error = %e, "released unit's files not removed");
            }
        }
        // Released, or never here: either way the controller may forget it.
        self.send(&source, Message::Gone { unit: id }).await;
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Answers every request of a node that runs no work: submissions are
/// refused with a reason instead of timing out.
pub(crate) async fn refuse_all(node: Weak<Node>, mut requests: mpsc::Receiver<Delivery>) {
    while let Some(d) = requests.recv().await {
        let reply = match d.message {
            Message::Submit(signed) => Message::Refused {
                unit: signed.submission.unit,
                reason: "this node is not an execution node".into(),
            },
            Message::Payload { unit, .. }
            | Message::Read { unit, .. }
            | Message::QueryStatus { unit }
            | Message::Cancel { unit }
            | Message::Release { unit } => Message::Gone { unit },
            _ => continue,
        };
        let Some(node) = node.upgrade() else {
            return;
        };
        let _ = node.send(&d.source, reply).await;
    }
}

struct OutputReader {
    node: Weak<Node>,
    dest: NodeId,
    unit: WorkUnitId,
    path: PathBuf,
    offset: u64,
    acked: watch::Receiver<u64>,
    size: watch::Receiver<u64>,
    status: watch::Receiver<UnitStatus>,
}

/// Sends a unit's output from the asked offset, within the window, then its
/// status whenever the state changes; ends when the unit is released, the
/// controller asks again, or the controller cannot be reached (it asks
/// again after its retry delay).
async fn stream_output(mut r: OutputReader) {
    let mut file: Option<std::fs::File> = None;
    let mut last_sent: Option<WorkState> = None;
    // End offsets of frames not yet acknowledged.
    let mut in_flight: VecDeque<u64> = VecDeque::new();
    loop {
        let acked = *r.acked.borrow_and_update();
        let size = *r.size.borrow_and_update();
        let status = r.status.borrow_and_update().clone();
        while in_flight.front().is_some_and(|&end| end <= acked) {
            in_flight.pop_front();
        }
        while r.offset < size && r.offset < acked + OUTPUT_WINDOW && in_flight.len() < OUTPUT_FRAMES
        {
            let frames = (OUTPUT_FRAMES - in_flight.len()).min(READ_CHUNKS);
            let want = (size - r.offset)
                .min(acked + OUTPUT_WINDOW - r.offset)
                .min((frames * CHUNK) as u64);
            let block = match read_at(&mut file, &r.path, r.offset, want).await {
                Ok(block) if block.is_empty() => break,
                Ok(block) => block,
                Err(e) => {
                    warn!(unit = %r.unit, error = %e, "output not readable");
                    return;
                }
            };
            for start in (0..block.len()).step_by(CHUNK) {
                let payload = block.slice(start..block.len().min(start + CHUNK));
                let n = payload.len() as u64;
                let message = Message::Data {
                    unit: r.unit.clone(),
                    offset: r.offset,
                    payload,
                };
                if !send(&r.node, &r.dest, message).await {
                    return;
                }
                r.offset += n;
                in_flight.push_back(r.offset);
            }
            if (block.len() as u64) < want {
                break;
            }
        }
        // A final state is sent once all output is out, so the controller
        // that has everything up to `output_size` knows it is done.
        let caught_up = r.offset >= size;
        if last_sent != Some(status.state) && (caught_up || !status.state.is_final()) {
            let message = Message::Status {
                unit: r.unit.clone(),
                state: status.state,
                detail: status.detail,
                output_size: size,
            };
            if !send(&r.node, &r.dest, message).await {
                return;
            }
            last_sent = Some(status.state);
        }
        let changed = tokio::select! {
            c = r.acked.changed() => c,
            c = r.size.changed() => c,
            c = r.status.changed() => c,
        };
        if changed.is_err() {
            // The unit is gone (released).
            return;
        }
    }
}

async fn send(node: &Weak<Node>, dest: &NodeId, message: Message) -> bool {
    let Some(node) = node.upgrade() else {
        return false;
    };
    match node.send(dest, message).await {
        Ok(()) => true,
        Err(e) => {
            debug!(%dest, error = %e, "output not sent; the controller will ask again");
            false
        }
    }
}

/// Reads up to `len` bytes of the output at `offset` (fewer at its end),
/// opening the file on first use, in one trip to the blocking pool.
async fn read_at(
    file: &mut Option<std::fs::File>,
    path: &std::path::Path,
    offset: u64,
    len: u64,
) -> std::io::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let (open, path) = (file.take(), path.to_owned());
    let (f, block) = tokio::task::spawn_blocking(move || {
        let f = match open {
            Some(f) => f,
            None => std::fs::File::open(&path)?,
        };
        let mut block = bytes::BytesMut::zeroed(len);
        let mut got = 0;
        while got < len {
            match f.read_at(&mut block[got..], offset + got as u64)? {
                0 => break,
                n => got += n,
            }
        }
        block.truncate(got);
        Ok::<_, std::io::Error>((f, block.freeze()))
    })
    .await
    .map_err(std::io::Error::other)??;
    *file = Some(f);
    Ok(block)
}
