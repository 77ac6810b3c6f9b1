//! What an execution node runs: a [`Worker`] per work type, handed the
//! payload's path, an [`OutputWriter`] and a [`CancelToken`].
//!
//! The binary plugs `ansible-runner worker` in here: its worker spawns the
//! process with the payload file as stdin, copies stdout into the
//! [`OutputWriter`] ([`OutputWriter::copy_from`]), and kills the process when
//! [`CancelToken::canceled`] fires. The output goes to disk, never to a
//! memory buffer: the file is the buffer a slow or absent controller reads
//! from later.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::id::WorkUnitId;

/// How a worker's run ended: `Ok(detail)` for success, `Err(detail)` for
/// failure; the detail is shown to the controller (e.g. an exit status).
pub type WorkOutcome = Result<String, String>;

/// The future a [`Worker`] returns.
pub type WorkFuture = Pin<Box<dyn Future<Output = WorkOutcome> + Send + 'static>>;

/// Runs work units of one type on an execution node.
pub trait Worker: Send + Sync + 'static {
    /// Runs one unit to its end. The payload is complete and verified when
    /// this is called. A worker that sees the cancel token fire should stop
    /// and return soon; the unit is then reported canceled whatever it
    /// returns.
    fn run(&self, work: WorkContext) -> WorkFuture;
}

/// What a [`Worker`] is given for one unit.
#[derive(Debug)]
pub struct WorkContext {
    /// The unit's id.
    pub unit: WorkUnitId,
    /// The verified payload, on disk.
    pub payload: PathBuf,
    /// Where the unit's output goes.
    pub output: OutputWriter,
    /// Fires when the controller cancels or releases the unit.
    pub cancel: CancelToken,
}

/// The work types an executor accepts, by name.
#[derive(Clone, Default)]
pub struct WorkerRegistry {
    workers: HashMap<String, Arc<dyn Worker>>,
}

impl std::fmt::Debug for WorkerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.workers.keys()).finish()
    }
}

impl WorkerRegistry {
    /// An empty registry: such an executor refuses every submission.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs units of `work_type` with `worker`.
    pub fn register(&mut self, work_type: &str, worker: impl Worker) -> &mut Self {
        self.workers.insert(work_type.to_owned(), Arc::new(worker));
        self
    }

    /// The worker for `work_type`.
    pub fn get(&self, work_type: &str) -> Option<Arc<dyn Worker>> {
        self.workers.get(work_type).cloned()
    }
}

/// Appends a unit's output to its file and tells readers how far it goes.
#[derive(Debug)]
pub struct OutputWriter {
    file: tokio::fs::File,
    size: Arc<watch::Sender<u64>>,
}

impl OutputWriter {
    /// A writer appending to `file`, whose current length is in `size`.
    pub(crate) fn new(file: tokio::fs::File, size: Arc<watch::Sender<u64>>) -> Self {
        Self { file, size }
    }

    /// Bytes of output so far.
    pub fn len(&self) -> u64 {
        *self.size.borrow()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `bytes`. They are in the file (not in a userspace buffer)
    /// before readers hear of them, so a reader never sees a size the file
    /// does not have, and a restarted executor keeps them.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all(bytes).await?;
        self.file.flush().await?;
        self.size.send_modify(|n| *n += bytes.len() as u64);
        Ok(())
    }

    /// Copies everything `reader` yields (a process's stdout) into the
    /// output, 64 KiB at a time; returns the number of bytes copied.
    pub async fn copy_from<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
    ) -> std::io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Ok(total);
            }
            self.write(&buf[..n]).await?;
            total += n as u64;
        }
    }
}

/// Fires once, when the unit is canceled or released.
#[derive(Clone, Debug)]
pub struct CancelToken {
    rx: watch::Receiver<bool>,
}

/// The executor's side of a [`CancelToken`].
#[derive(Debug)]
pub(crate) struct CancelSource {
    tx: watch::Sender<bool>,
}

impl CancelSource {
    /// A source and its token.
    pub(crate) fn new() -> (Self, CancelToken) {
        let (tx, rx) = watch::channel(false);
        (Self { tx }, CancelToken { rx })
    }

    /// Fires the token.
    pub(crate) fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the token was fired.
    pub(crate) fn is_canceled(&self) -> bool {
        *self.tx.borrow()
    }
}

impl CancelToken {
    /// Whether the unit was canceled.
    pub fn is_canceled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until the unit is canceled; never returns if it is not (also
    /// not when the executor drops the source: the executor then aborts the
    /// worker itself).
    pub async fn canceled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
