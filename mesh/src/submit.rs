//! The controller side of work units: submit a payload, read the output
//! from any offset, ask the status, cancel, release.
//!
//! Every request is idempotent and repeated after [`ClientConfig::retry`]
//! without an answer, so a frame lost when a link or a relay dies costs a
//! delay, never data: output is asked for by offset ([`Message::Read`]) and
//! bytes at any other offset than the next one expected are dropped, so the
//! reader sees each byte exactly once and in order.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use crate::executor::{CHUNK, OUTPUT_WINDOW};
use crate::frame::{Message, WorkState};
use crate::id::{NodeId, WorkUnitId};
use crate::node::{Delivery, Node};
use crate::work::{PayloadHasher, SigningKey, Submission, WorkError};

/// Payload bytes in flight before the executor acks.
const PAYLOAD_WINDOW: u64 = 256 * 1024;
/// Output bytes or frames received before the reader acks.
const ACK_BYTES: u64 = OUTPUT_WINDOW / 4;
const ACK_FRAMES: u32 = 8;
/// Messages for one request waiting to be read; above what the executor's
/// window lets it send, so it is reached only by a reader that stopped
/// reading (whose messages are then dropped, and asked for again).
const SUBSCRIBER_QUEUE: usize = 128;

/// How a controller waits for executors.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// A request without an answer this long is sent again.
    pub retry: Duration,
    /// A request without any answer this long fails with
    /// [`ClientError::TimedOut`]; reading can be resumed afterwards.
    pub give_up: Duration,
    /// How long a signed submission stays valid.
    pub submission_ttl: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            retry: Duration::from_secs(2),
            give_up: Duration::from_secs(120),
            submission_ttl: Duration::from_secs(600),
        }
    }
}

/// Why a work unit request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The executor refused the submission.
    #[error("work unit refused by {node}: {reason}")]
    Refused {
        /// The executor.
        node: NodeId,
        /// Its reason.
        reason: String,
    },
    /// The executor does not have the unit (released, or never submitted).
    #[error("work unit {0} is unknown to its executor")]
    Gone(WorkUnitId),
    /// No answer within [`ClientConfig::give_up`].
    #[error("no answer from {0} in time")]
    TimedOut(NodeId),
    /// Reading the payload failed, or it changed while being sent.
    #[error("payload: {0}")]
    Payload(#[from] std::io::Error),
    /// The submission could not be signed.
    #[error(transparent)]
    Work(#[from] WorkError),
    /// The local node has stopped.
    #[error("the mesh node has stopped")]
    Stopped,
}

/// A unit's state as its executor reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// Where the unit is in its life.
    pub state: WorkState,
    /// A human reason.
    pub detail: String,
    /// Output bytes so far (all of them once the state is final).
    pub output_size: u64,
}

type Key = (NodeId, WorkUnitId);
/// The requests waiting on one unit: (subscription id, queue).
type Subscribers = Vec<(u64, mpsc::Sender<Message>)>;

/// Routes replies from executors to the requests waiting for them.
pub(crate) struct Client {
    node: Weak<Node>,
    config: ClientConfig,
    subscribers: Mutex<HashMap<Key, Subscribers>>,
    next: AtomicU64,
}

impl Client {
    pub(crate) fn new(node: Weak<Node>, config: ClientConfig) -> Self {
        Self {
            node,
            config,
            subscribers: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }

    /// Hands a reply to every request about its unit; never waits (a full
    /// queue drops the message, which its request will ask for again).
    pub(crate) fn dispatch(&self, delivery: Delivery) {
        let unit = match &delivery.message {
            Message::Data { unit, .. }
            | Message::Status { unit, .. }
            | Message::PayloadAck { unit, .. }
            | Message::Refused { unit, .. }
            | Message::Gone { unit } => unit.clone(),
            _ => return,
        };
        let subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = subs.get(&(delivery.source, unit)) {
            for (_, tx) in list {
                if tx.try_send(delivery.message.clone()).is_err() {
                    debug!("work reply dropped: its reader is behind");
                }
            }
        }
    }

    fn subscribe(self: &Arc<Self>, key: Key) -> Subscription {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .push((id, tx));
        Subscription {
            client: self.clone(),
            key,
            id,
            rx,
        }
    }

    async fn send(&self, dest: &NodeId, message: Message) -> Result<(), ClientError> {
        let node = self.node.upgrade().ok_or(ClientError::Stopped)?;
        // No route (a relay is down) is not fatal: the request is repeated.
        if let Err(e) = node.send(dest, message).await {
            debug!(%dest, error = %e, "work request not sent");
        }
        Ok(())
    }

    /// Submits `payload` to `dest` as unit `unit` of `work_type`, signed
    /// with `key`, and returns once the executor has the whole payload and
    /// has started the unit.
    pub(crate) async fn submit<R>(
        self: &Arc<Self>,
        dest: NodeId,
        unit: WorkUnitId,
        work_type: &str,
        mut payload: R,
        key: &SigningKey,
    ) -> Result<UnitHandle, ClientError>
    where
        R: AsyncRead + AsyncSeek + Unpin + Send,
    {
        let me = self
            .node
            .upgrade()
            .ok_or(ClientError::Stopped)?
            .id()
            .clone();
        // One pass to sign the digest, one to send: the payload is never
        // held whole in memory.
        payload.seek(SeekFrom::Start(0)).await?;
        let mut hasher = PayloadHasher::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = payload.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let digest = hasher.finish();
        let len = digest.0;
        let submission = Submission::for_digest(
            unit.clone(),
            work_type,
            me,
            dest.clone(),
            digest,
            self.config.submission_ttl,
        )?;
        let submit = Message::Submit(Box::new(key.sign(submission)?));
        let mut sub = self.subscribe((dest.clone(), unit.clone()));

        let mut acked: Option<u64> = None;
        let mut sent = 0u64;
        let mut position: Option<u64> = None;
        self.send(&dest, submit.clone()).await?;
        let mut last_answer = Instant::now();
        let mut last_progress = Instant::now();
        loop {
            if let Some(acked) = acked {
                while sent < len && sent < acked + PAYLOAD_WINDOW {
                    if position != Some(sent) {
                        payload.seek(SeekFrom::Start(sent)).await?;
                    }
                    let want = usize::try_from(len - sent).unwrap_or(CHUNK).min(CHUNK);
                    let n = payload.read(&mut buf[..want]).await?;
                    if n == 0 {
                        return Err(ClientError::Payload(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the payload shrank while being sent",
                        )));
                    }
                    position = Some(sent + n as u64);
                    let message = Message::Payload {
                        unit: unit.clone(),
                        offset: sent,
                        payload: Bytes::copy_from_slice(&buf[..n]),
                    };
                    self.send(&dest, message).await?;
                    sent += n as u64;
                }
            }
            let deadline = last_progress.max(last_answer) + self.config.retry;
            match tokio::time::timeout_at(deadline, sub.rx.recv()).await {
                Ok(Some(message)) => match message {
                    Message::PayloadAck { offset, .. } => {
                        last_answer = Instant::now();
                        if offset >= len {
                            break;
                        }
                        if acked.is_none_or(|a| offset > a) {
                            last_progress = Instant::now();
                        }
                        if acked.is_none() {
                            sent = offset;
                        }
                        acked = Some(acked.unwrap_or(0).max(offset));
                    }
                    Message::Status { state, .. } if state != WorkState::Pending => break,
                    Message::Refused { reason, .. } => {
                        return Err(ClientError::Refused { node: dest, reason });
                    }
                    Message::Gone { .. } => return Err(ClientError::Gone(unit)),
                    _ => {}
                },
                Ok(None) => return Err(ClientError::Stopped),
                Err(_) => {
                    if last_answer.elapsed() >= self.config.give_up {
                        return Err(ClientError::TimedOut(dest));
                    }
                    // Nothing moved: ask where the executor stands and
                    // resend from there.
                    debug!(%unit, "payload stalled; submitting again");
                    sent = acked.unwrap_or(0);
                    acked = None;
                    last_progress = Instant::now();
                    self.send(&dest, submit.clone()).await?;
                }
            }
        }
        Ok(self.unit(dest, unit))
    }

    /// A handle on a unit submitted earlier (also by a previous run of
    /// this controller).
    pub(crate) fn unit(self: &Arc<Self>, dest: NodeId, unit: WorkUnitId) -> UnitHandle {
        UnitHandle {
            client: self.clone(),
            dest,
            unit,
        }
    }
}

/// One request's view of the replies about its unit; unsubscribes on drop.
struct Subscription {
    client: Arc<Client>,
    key: Key,
    id: u64,
    rx: mpsc::Receiver<Message>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut subs = self
            .client
            .subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(list) = subs.get_mut(&self.key) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                subs.remove(&self.key);
            }
        }
    }
}

/// A work unit on an executor, as its controller sees it.
#[derive(Clone)]
pub struct UnitHandle {
    client: Arc<Client>,
    dest: NodeId,
    unit: WorkUnitId,
}

impl std::fmt::Debug for UnitHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitHandle")
            .field("dest", &self.dest)
            .field("unit", &self.unit)
            .finish()
    }
}

impl UnitHandle {
    /// The unit's id.
    pub fn id(&self) -> &WorkUnitId {
        &self.unit
    }

    /// The node that runs it.
    pub fn executor(&self) -> &NodeId {
        &self.dest
    }

    /// The unit's output from byte `offset` on, as it is produced, until
    /// the unit has finished and everything was read.
    pub fn output_from(&self, offset: u64) -> OutputStream {
        OutputStream {
            sub: self
                .client
                .subscribe((self.dest.clone(), self.unit.clone())),
            handle: self.clone(),
            expected: offset,
            unacked_bytes: 0,
            unacked_frames: 0,
            status: None,
            asked: None,
            gap_asked: false,
            last_answer: Instant::now(),
            done: false,
        }
    }

    /// Sends `request` until an answer that `accept` takes, or `Gone`.
    async fn ask<T>(
        &self,
        request: Message,
        mut accept: impl FnMut(&Message) -> Option<T>,
    ) -> Result<T, ClientError> {
        let client = &self.client;
        let mut sub = client.subscribe((self.dest.clone(), self.unit.clone()));
        let mut last_answer = Instant::now();
        loop {
            client.send(&self.dest, request.clone()).await?;
            let deadline = Instant::now() + client.config.retry;
            loop {
                match tokio::time::timeout_at(deadline, sub.rx.recv()).await {
                    Ok(Some(message)) => {
                        if let Some(answer) = accept(&message) {
                            return Ok(answer);
                        }
                        match message {
                            Message::Gone { .. } => {
                                return Err(ClientError::Gone(self.unit.clone()));
                            }
                            Message::Status { .. } => last_answer = Instant::now(),
                            _ => {}
                        }
                    }
                    Ok(None) => return Err(ClientError::Stopped),
                    Err(_) => break,
                }
            }
            if last_answer.elapsed() >= client.config.give_up {
                return Err(ClientError::TimedOut(self.dest.clone()));
            }
        }
    }

    /// The unit's status, asked of its executor.
    pub async fn status(&self) -> Result<StatusReport, ClientError> {
        let request = Message::QueryStatus {
            unit: self.unit.clone(),
        };
        self.ask(request, status_report).await
    }

    /// Cancels the unit and waits until it has stopped (its worker saw the
    /// cancel and returned); returns the final status, which is not
    /// `Canceled` if the unit had finished already.
    pub async fn cancel(&self) -> Result<StatusReport, ClientError> {
        let request = Message::Cancel {
            unit: self.unit.clone(),
        };
        self.ask(request, |m| status_report(m).filter(|s| s.state.is_final()))
            .await
    }

    /// Stops the unit if it runs and deletes its files on the executor.
    pub async fn release(&self) -> Result<(), ClientError> {
        let request = Message::Release {
            unit: self.unit.clone(),
        };
        self.ask(request, |m| matches!(m, Message::Gone { .. }).then_some(()))
            .await
    }
}

fn status_report(message: &Message) -> Option<StatusReport> {
    match message {
        Message::Status {
            state,
            detail,
            output_size,
            ..
        } => Some(StatusReport {
            state: *state,
            detail: detail.clone(),
            output_size: *output_size,
        }),
        _ => None,
    }
}

/// A unit's output as `(offset, bytes)` pieces, each byte once and in
/// order; see [`OutputStream::next`].
pub struct OutputStream {
    sub: Subscription,
    handle: UnitHandle,
    expected: u64,
    unacked_bytes: u64,
    unacked_frames: u32,
    status: Option<StatusReport>,
    /// When output was last asked for; `None` before the first ask.
    asked: Option<Instant>,
    /// A Read for a gap is out; further gaps wait for its answer.
    gap_asked: bool,
    last_answer: Instant,
    done: bool,
}

impl std::fmt::Debug for OutputStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputStream")
            .field("unit", &self.handle)
            .field("offset", &self.expected)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl OutputStream {
    /// The offset of the next byte this stream will return: where to resume
    /// from with [`UnitHandle::output_from`] after an error or a restart.
    pub fn offset(&self) -> u64 {
        self.expected
    }

    /// The last status the executor reported.
    pub fn status(&self) -> Option<&StatusReport> {
        self.status.as_ref()
    }

    async fn ask_from(&mut self, offset: u64) -> Result<(), ClientError> {
        self.asked = Some(Instant::now());
        self.unacked_bytes = 0;
        self.unacked_frames = 0;
        let unit = self.handle.unit.clone();
        self.handle
            .client
            .send(&self.handle.dest, Message::Read { unit, offset })
            .await
    }

    /// The next piece of output at [`OutputStream::offset`]; `None` once the
    /// unit has finished and all of its output was returned. An error
    /// (no answer in time, unit gone) leaves the stream usable: calling
    /// `next` again keeps trying from the same offset.
    pub async fn next(&mut self) -> Option<Result<(u64, Bytes), ClientError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(s) = &self.status
                && s.state.is_final()
                && self.expected >= s.output_size
            {
                self.done = true;
                return None;
            }
            let Some(asked) = self.asked else {
                self.last_answer = Instant::now();
                if let Err(e) = self.ask_from(self.expected).await {
                    return Some(Err(e));
                }
                continue;
            };
            let retry = self.handle.client.config.retry;
            let deadline = asked.max(self.last_answer) + retry;
            match tokio::time::timeout_at(deadline, self.sub.rx.recv()).await {
                Ok(Some(message)) => {
                    if let Some(piece) = self.take(message).await {
                        return Some(piece);
                    }
                }
                Ok(None) => return Some(Err(ClientError::Stopped)),
                Err(_) => {
                    if self.last_answer.elapsed() >= self.handle.client.config.give_up {
                        // Start the clock again for a caller who keeps going.
                        self.last_answer = Instant::now();
                        return Some(Err(ClientError::TimedOut(self.handle.dest.clone())));
                    }
                    // Nothing came: what was in flight is lost, or the
                    // executor never heard us. Ask again from where we are.
                    self.gap_asked = false;
                    if let Err(e) = self.ask_from(self.expected).await {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Takes one message; returns a piece of output to hand out, if any.
    async fn take(&mut self, message: Message) -> Option<Result<(u64, Bytes), ClientError>> {
        match message {
            Message::Data {
                offset, payload, ..
            } => {
                let end = offset + payload.len() as u64;
                if offset <= self.expected && self.expected < end {
                    self.last_answer = Instant::now();
                    self.gap_asked = false;
                    let skip = usize::try_from(self.expected - offset).unwrap_or(0);
                    let at = self.expected;
                    let piece = payload.slice(skip..);
                    self.expected = end;
                    self.unacked_bytes += piece.len() as u64;
                    self.unacked_frames += 1;
                    if self.unacked_bytes >= ACK_BYTES || self.unacked_frames >= ACK_FRAMES {
                        self.unacked_bytes = 0;
                        self.unacked_frames = 0;
                        let ack = Message::Ack {
                            unit: self.handle.unit.clone(),
                            offset: self.expected,
                        };
                        if let Err(e) = self.handle.client.send(&self.handle.dest, ack).await {
                            return Some(Err(e));
                        }
                    }
                    return Some(Ok((at, piece)));
                }
                if offset > self.expected && !self.gap_asked {
                    // Something before this frame was lost: ask again from
                    // the gap, once, and drop what follows until it is filled.
                    debug!(unit = %self.handle.unit, expected = self.expected, offset, "gap in output");
                    self.gap_asked = true;
                    if let Err(e) = self.ask_from(self.expected).await {
                        return Some(Err(e));
                    }
                }
                None
            }
            Message::Status {
                state,
                detail,
                output_size,
                ..
            } => {
                self.last_answer = Instant::now();
                self.status = Some(StatusReport {
                    state,
                    detail,
                    output_size,
                });
                None
            }
            Message::Gone { unit } => {
                self.done = true;
                Some(Err(ClientError::Gone(unit)))
            }
            _ => None,
        }
    }
}
