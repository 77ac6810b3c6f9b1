//! A run carried over the mesh: ansible-runner's `transmit | worker |
//! process` split across nodes, as AWX does through Receptor.
//!
//! [`transmit`] packs the run's kwargs and its whole private data dir into
//! a payload file (the execution node has none of the job's files);
//! [`MeshExec::run`] submits it through this node's MeshRouter as an
//! `ansible-runner` work unit to an execution node, whose worker (`src/node/mesh.rs`) feeds it to
//! `ansible-runner worker`, and parses the unit's output with the same
//! parser a local run's stdout goes through
//! ([`super::runner::read_stream`]), so the caller gets the same
//! [`RunnerMessage`]s either way. A read that breaks (no answer from the
//! executor in time) resumes from the last byte received, so no event is
//! lost or repeated.
//!
//! The payload carries the job's secrets in clear text (ansible-runner puts
//! `envvars`, `passwords` and `ssh_key` in it); the file is unlinked as soon
//! as it is created and lives only as an open descriptor.

use std::io::{self, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ::mesh::{ClientError, NodeId, StatusReport, UnitHandle, WorkState, WorkUnitId};
use actors::Supervised;
use actors::mesh_router::{Attach, Cancel, MeshRouter, Release, RouterError, Submit};
use bytes::Bytes;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, BufReader, ReadBuf};
use tokio::sync::mpsc;

use super::runner::{RunSpec, RunnerError, RunnerMessage, clean_path, read_stream};

/// Messages waiting for the caller, as for a local run.
const MESSAGE_QUEUE: usize = 256;
/// Output pieces between the mesh reader and the parser.
const PIECE_QUEUE: usize = 16;
/// How much of `transmit`'s stderr an error quotes.
const STDERR_TAIL: usize = 2000;

/// Runs ansible-runner's transmitter on the kwargs given as JSON on stdin.
/// The payload is written to fd 1 (the payload file); fd 1 is then pointed
/// at stderr so nothing the library prints can corrupt the payload.
const TRANSMIT_SCRIPT: &str = r#"
import json, os, sys
out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
import ansible_runner
kwargs = json.load(sys.stdin)
# rawx's own first line: where the data dir was, so that the execution
# node can relocate the paths written into it (see RELOCATE_SCRIPT).
out.write(json.dumps({"rawx_private_data_dir": kwargs["private_data_dir"]}).encode() + b"\n")
# A manual project is a link to the controller's directory: the execution
# node gets its files, not the link.
import shutil
project = os.path.join(kwargs["private_data_dir"], "project")
if os.path.islink(project):
    source = os.path.realpath(project)
    os.unlink(project)
    shutil.copytree(source, project, symlinks=True)
ansible_runner.run(streamer="transmit", _output=out, **kwargs)
out.flush()
"#;

/// Unpacks the artifacts zip of a worker stream (argv[1]) into argv[2], as
/// ansible-runner's processing side does.
const UNPACK_SCRIPT: &str = r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    archive.extractall(sys.argv[2])
"#;

/// What a controller needs to run jobs as work units: its MeshRouter
/// (which signs them) and its own node id (where its own runs go).
#[derive(Clone)]
pub struct MeshExec {
    pub router: Supervised<MeshRouter>,
    /// This node's mesh id: the executor of the runs it carries itself.
    pub local: NodeId,
    /// How long a run's executor may stay out of reach before the run is
    /// given up.
    pub reconnect: Duration,
}

impl MeshExec {
    /// Submits `payload` to `dest` as unit `unit` of `work_type` (`local`
    /// for [`kwargs_payload`], `ansible-runner` for [`transmit`]) and
    /// streams its output as [`RunnerMessage`]s. Choose and record `unit`
    /// before calling: a controller that restarts finds the run again with
    /// [`MeshExec::attach`]. Returns once the executor has the whole
    /// payload and has started the unit.
    pub async fn run(
        &self,
        dest: &NodeId,
        unit: WorkUnitId,
        work_type: &str,
        payload: Payload,
    ) -> Result<RemoteRun, RemoteError> {
        let handle = self
            .router
            .send(Submit {
                dest: dest.clone(),
                unit,
                work_type: work_type.to_owned(),
                payload: Box::new(payload.file),
            })
            .await??;
        Ok(read(handle, self.reconnect))
    }

    /// The stream of a unit submitted earlier (by this controller before a
    /// restart), read again from its first byte: events come again, and
    /// their counters let the caller skip what it has stored.
    pub async fn attach(&self, dest: &NodeId, unit: WorkUnitId) -> Result<RemoteRun, RemoteError> {
        let handle = self.router.send(Attach(dest.clone(), unit)).await??;
        Ok(read(handle, self.reconnect))
    }

    /// Cancels `run` in the background: the executor stops the whole run,
    /// and its stream then ends with ansible-runner's `canceled`.
    pub fn cancel(&self, run: &RemoteRun) {
        let router = self.router.clone();
        let (dest, unit) = (run.unit.executor().clone(), run.unit.id().clone());
        tokio::spawn(async move {
            match router.send(Cancel(dest, unit.clone())).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(%unit, %err, "cancel of a work unit failed"),
                Err(err) => tracing::warn!(%unit, %err, "cancel of a work unit not sent"),
            }
        });
    }

    /// Releases `run`'s unit in the background (see [`release_eventually`]).
    pub fn release(&self, run: &RemoteRun) {
        tokio::spawn(release_eventually(
            self.router.clone(),
            run.unit.executor().clone(),
            run.unit.id().clone(),
        ));
    }

    /// Releases unit `unit` of this node's own executor in the background.
    pub fn release_unit(&self, unit: WorkUnitId) {
        tokio::spawn(release_eventually(
            self.router.clone(),
            self.local.clone(),
            unit,
        ));
    }
}

/// Unpacks a transmitted run on an execution node and relocates it: argv
/// is the payload ([`transmit`]'s: rawx's line naming the controller's data
/// dir, then ansible-runner's kwargs, zipfile and eof lines), the dir to
/// unpack into, and the file to write the worker's input to (the kwargs
/// and eof lines). Every path the controller wrote into the run (the
/// kwargs, `env/`, `inventory/`: credential files, `-e @file`, the SSH
/// control path) names its data dir; here it names the new one, as AWX's
/// container mount of the data dir at `/runner` does.
pub const RELOCATE_SCRIPT: &str = r#"
import json, os, sys
from ansible_runner.utils.streaming import unstream_dir
payload, dest, worker_input = sys.argv[1:4]
dest = os.path.abspath(dest)
with open(payload, "rb") as stream:
    source = json.loads(stream.readline())["rawx_private_data_dir"]
    kwargs = stream.readline().decode()
    archive = json.loads(stream.readline())
    if "zipfile" not in archive:
        sys.exit("the payload holds no private data dir")
    unstream_dir(stream, archive["zipfile"], dest)
def relocate(text):
    return text.replace(source, dest)
for top in ("env", "inventory"):
    for root, dirs, files in os.walk(os.path.join(dest, top)):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            try:
                text = data.decode()
            except UnicodeDecodeError:
                continue
            if source in text:
                mode = os.stat(path).st_mode
                os.chmod(path, 0o600)
                with open(path, "w") as f:
                    f.write(relocate(text))
                os.chmod(path, mode)
fd = os.open(worker_input, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as out:
    out.write(relocate(kwargs.rstrip("\n")) + "\n" + json.dumps({"eof": True}) + "\n")
"#;

/// Why a remote run could not be prepared, started or read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("python not found at {0}: build the venv (scripts/lib.sh ensure_venv)")]
    Missing(PathBuf),
    #[error("payload file {path}: {source}")]
    PayloadFile { path: PathBuf, source: io::Error },
    #[error("cannot run ansible-runner's transmitter: {0}")]
    Spawn(io::Error),
    #[error("ansible-runner transmit failed ({status}): {stderr}")]
    Transmit { status: String, stderr: String },
    /// Submitting, reading, canceling or releasing the unit failed.
    #[error("work unit: {0}")]
    Unit(#[from] ClientError),
    /// The MeshRouter refused the request.
    #[error("work unit: {0}")]
    Router(#[from] RouterError),
    /// The MeshRouter did not answer (it was restarting).
    #[error("the mesh router did not answer: {0}")]
    Mailbox(#[from] actix::MailboxError),
    /// The unit's output is not a well-formed worker stream.
    #[error(transparent)]
    Stream(#[from] RunnerError),
    /// The execution node was out of reach longer than the controller's
    /// `mesh_reconnect_timeout`.
    #[error(
        "the execution node {node} could not be reached for {secs} s (mesh_reconnect_timeout); the run's outcome there is unknown"
    )]
    Lost { node: NodeId, secs: u64 },
    /// The unit finished before ansible-runner's stream did (the worker
    /// died, the executor restarted, the run was killed).
    #[error(
        "the work unit ended ({state:?}: {detail}) before ansible-runner's stream did; check execution node health"
    )]
    Ended { state: WorkState, detail: String },
}

/// A transmitted run: kwargs and private data dir as ansible-runner's
/// worker reads them, in an unlinked temporary file.
#[derive(Debug)]
pub struct Payload {
    file: tokio::fs::File,
    len: u64,
}

impl Payload {
    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty (never, for a payload [`transmit`] made).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The open (unlinked) file, to submit through a mesh node directly.
    pub fn into_file(self) -> tokio::fs::File {
        self.file
    }
}

/// Packs `spec` (kwargs, playbook, ident and the whole private data dir)
/// with `ansible-runner`'s transmitter into a payload for [`MeshExec::run`].
///
/// The Python API is used rather than the `ansible-runner transmit` command
/// line, because that command line carries only some kwargs (no `envvars`,
/// `passwords`, `ssh_key`, `settings`, `tags`, `module`/`host_pattern`
/// pairs...), while rawx's runs are described by arbitrary kwargs exactly
/// as a local `ansible-runner worker` gets them. Like the command line, the
/// transmitter writes kwargs it keeps in files (`env/envvars`, ...) into
/// the private data dir first.
pub async fn transmit(spec: &RunSpec) -> Result<Payload, RemoteError> {
    let python = spec.venv.join("bin/python");
    if !python.exists() {
        return Err(RemoteError::Missing(python));
    }
    let mut kwargs = spec.kwargs.clone();
    if !spec.playbook.is_empty() {
        kwargs.insert("playbook".into(), Value::String(spec.playbook.clone()));
    }
    kwargs.insert("ident".into(), Value::String(spec.ident.clone()));
    kwargs.insert(
        "private_data_dir".into(),
        Value::String(spec.private_data_dir.display().to_string()),
    );
    let input = serde_json::to_vec(&Value::Object(kwargs))
        .map_err(|err| RemoteError::Stream(RunnerError::BadLine(err.to_string())))?;

    let file = payload_file(&spec.private_data_dir)?;
    let stdout = file
        .try_clone()
        .map_err(|source| RemoteError::PayloadFile {
            path: spec.private_data_dir.clone(),
            source,
        })?;
    let mut child = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(TRANSMIT_SCRIPT)
        .env_clear()
        .env("PATH", clean_path(&spec.venv))
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LANG", "C.UTF-8")
        .current_dir(&spec.private_data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(RemoteError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A transmitter that died early closes its stdin: its stderr then
        // says why, so a failed write is not the error to report.
        let _ = stdin.write_all(&input).await;
        drop(stdin);
    }
    let output = child.wait_with_output().await.map_err(RemoteError::Spawn)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let start = stderr
            .char_indices()
            .rev()
            .nth(STDERR_TAIL)
            .map(|(at, _)| at)
            .unwrap_or(0);
        return Err(RemoteError::Transmit {
            status: output.status.to_string(),
            stderr: stderr[start..].trim().to_owned(),
        });
    }
    let mut file = tokio::fs::File::from_std(file);
    let io_err = |source| RemoteError::PayloadFile {
        path: spec.private_data_dir.clone(),
        source,
    };
    let len = file.seek(SeekFrom::End(0)).await.map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).await.map_err(io_err)?;
    if len == 0 {
        return Err(RemoteError::Transmit {
            status: output.status.to_string(),
            stderr: "the transmitter wrote nothing".into(),
        });
    }
    Ok(Payload { file, len })
}

/// The payload of a run on this node's own executor (the `local` work
/// type): only the kwargs and eof lines ansible-runner's worker reads, with
/// the private data dir it was prepared in.
pub async fn kwargs_payload(spec: &RunSpec) -> Result<Payload, RemoteError> {
    let mut kwargs = spec.kwargs.clone();
    kwargs.insert(
        "private_data_dir".into(),
        Value::String(spec.private_data_dir.display().to_string()),
    );
    let spec = RunSpec {
        kwargs,
        ..spec.clone()
    };
    let input = super::runner::worker_input(&spec).map_err(RemoteError::Stream)?;
    let file = payload_file(&spec.private_data_dir)?;
    let mut file = tokio::fs::File::from_std(file);
    let io_err = |source| RemoteError::PayloadFile {
        path: spec.private_data_dir.clone(),
        source,
    };
    file.write_all(&input).await.map_err(io_err)?;
    file.flush().await.map_err(io_err)?;
    file.seek(SeekFrom::Start(0)).await.map_err(io_err)?;
    Ok(Payload {
        file,
        len: input.len() as u64,
    })
}

/// Unpacks a remote run's artifacts (the zip its stream ends with) into
/// `dir` (`<pdd>/artifacts/<ident>`), where a local run leaves them.
pub async fn unpack_artifacts(venv: &Path, zip: &[u8], dir: &Path) -> Result<(), RemoteError> {
    let python = venv.join("bin/python");
    if !python.exists() {
        return Err(RemoteError::Missing(python));
    }
    let io_err = |source| RemoteError::PayloadFile {
        path: dir.to_owned(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io_err)?;
    let file = dir.with_extension("zip");
    tokio::fs::write(&file, zip).await.map_err(io_err)?;
    let output = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(UNPACK_SCRIPT)
        .arg(&file)
        .arg(dir)
        .env_clear()
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(RemoteError::Spawn);
    let _ = tokio::fs::remove_file(&file).await;
    let output = output?;
    if !output.status.success() {
        return Err(RemoteError::Transmit {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

/// An empty file next to the private data dir (its parent is the
/// controller's own jobs dir: same disk, not a possibly small /tmp), mode
/// 0600, unlinked at once so a crash leaves no secrets behind.
fn payload_file(pdd: &Path) -> Result<std::fs::File, RemoteError> {
    let name = pdd
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = pdd.parent().unwrap_or_else(|| Path::new("/"));
    let path = dir.join(format!(".{name}.payload-{}", WorkUnitId::random().as_str()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| RemoteError::PayloadFile {
            path: path.clone(),
            source,
        })?;
    std::fs::remove_file(&path).map_err(|source| RemoteError::PayloadFile { path, source })?;
    Ok(file)
}

/// A run on an execution node: its unit, and the stream of its messages
/// (status, events, artifacts, eof), as [`super::runner::Run`] gives them
/// for a local run.
#[derive(Debug)]
pub struct RemoteRun {
    pub unit: UnitHandle,
    pub messages: mpsc::Receiver<Result<RunnerMessage, RemoteError>>,
}

/// Tries of [`release_eventually`], each waiting up to the client's
/// `give_up` for an answer.
const RELEASE_ATTEMPTS: u32 = 30;
/// Pause between two tries of a release.
const RELEASE_PAUSE: Duration = Duration::from_secs(10);

/// Releases unit `unit` on `dest` (stopping it if it still runs), trying
/// again while its executor is out of reach: a run the controller gave up
/// on must not go on, nor its files stay, once the node is back.
pub async fn release_eventually(router: Supervised<MeshRouter>, dest: NodeId, unit: WorkUnitId) {
    for attempt in 1..=RELEASE_ATTEMPTS {
        let err = match router.send(Release(dest.clone(), unit.clone())).await {
            Ok(Ok(()) | Err(RouterError::Unit(ClientError::Gone(_)))) => return,
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        tracing::debug!(%unit, attempt, %err, "work unit not released yet");
        tokio::time::sleep(RELEASE_PAUSE).await;
    }
    tracing::warn!(%unit, executor = %dest, "gave up releasing a work unit");
}

/// Reads `handle`'s output from byte 0 through the worker-stream parser;
/// a read that breaks resumes from the last byte received.
pub fn read(handle: UnitHandle, reconnect: Duration) -> RemoteRun {
    let (pieces_tx, pieces_rx) = mpsc::channel(PIECE_QUEUE);
    let ended = Arc::new(Mutex::new(None));
    tokio::spawn(pump(handle.clone(), pieces_tx, ended.clone(), reconnect));
    let (tx, rx) = mpsc::channel(MESSAGE_QUEUE);
    tokio::spawn(async move {
        let (parsed_tx, parsed_rx) = mpsc::channel(MESSAGE_QUEUE);
        let reader = BufReader::new(UnitReader {
            rx: pieces_rx,
            piece: Bytes::new(),
        });
        tokio::join!(
            read_stream(reader, parsed_tx),
            forward(parsed_rx, tx, ended)
        );
    });
    RemoteRun {
        unit: handle,
        messages: rx,
    }
}

/// Moves the unit's output, in order and each byte once, to the parser;
/// a read that times out starts again at the offset reached, until nothing
/// came for `reconnect`. At the end, records the unit's final status in
/// `ended` before closing the pieces.
async fn pump(
    handle: UnitHandle,
    tx: mpsc::Sender<io::Result<Bytes>>,
    ended: Arc<Mutex<Option<StatusReport>>>,
    reconnect: Duration,
) {
    let mut output = handle.output_from(0);
    let mut last_heard = Instant::now();
    loop {
        let next = tokio::select! {
            next = output.next() => next,
            // The caller dropped the run: stop asking the executor.
            () = tx.closed() => return,
        };
        match next {
            Some(Ok((_, bytes))) => {
                last_heard = Instant::now();
                if tx.send(Ok(bytes)).await.is_err() {
                    // The caller stopped reading.
                    return;
                }
            }
            None => {
                *ended.lock().unwrap_or_else(|p| p.into_inner()) = output.status().cloned();
                return;
            }
            Some(Err(ClientError::TimedOut(node))) => {
                if last_heard.elapsed() >= reconnect {
                    let lost = RemoteError::Lost {
                        node,
                        secs: reconnect.as_secs(),
                    };
                    let _ = tx.send(Err(io::Error::other(lost))).await;
                    return;
                }
                tracing::warn!(
                    unit = %handle.id(), %node, offset = output.offset(),
                    "no output from the execution node in time; reading again from the same offset"
                );
                output = handle.output_from(output.offset());
            }
            Some(Err(err)) => {
                let _ = tx.send(Err(io::Error::other(err))).await;
                return;
            }
        }
    }
}

/// Hands the parser's messages on, turning stream errors that the mesh
/// caused back into what they are.
async fn forward(
    mut parsed: mpsc::Receiver<Result<RunnerMessage, RunnerError>>,
    tx: mpsc::Sender<Result<RunnerMessage, RemoteError>>,
    ended: Arc<Mutex<Option<StatusReport>>>,
) {
    while let Some(message) = parsed.recv().await {
        let message = match message {
            Ok(message) => Ok(message),
            // The output ended without the eof line: say how the unit ended.
            Err(RunnerError::Truncated) => {
                match ended.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    Some(report) => Err(RemoteError::Ended {
                        state: report.state,
                        detail: report.detail,
                    }),
                    None => Err(RemoteError::Stream(RunnerError::Truncated)),
                }
            }
            Err(RunnerError::Io(err)) => match mesh_error(err) {
                Ok(mesh) => Err(mesh),
                Err(err) => Err(RemoteError::Stream(RunnerError::Io(err))),
            },
            Err(err) => Err(RemoteError::Stream(err)),
        };
        if tx.send(message).await.is_err() {
            return;
        }
    }
}

/// The mesh error [`pump`] wrapped into an I/O error for the parser, or the
/// I/O error as it was.
fn mesh_error(err: io::Error) -> Result<RemoteError, io::Error> {
    let ours = err
        .get_ref()
        .is_some_and(|inner| inner.is::<ClientError>() || inner.is::<RemoteError>());
    if !ours {
        return Err(err);
    }
    let kind = err.kind();
    let Some(inner) = err.into_inner() else {
        return Err(io::Error::from(kind));
    };
    match inner.downcast::<ClientError>() {
        Ok(client) => Ok(RemoteError::Unit(*client)),
        Err(other) => other
            .downcast::<RemoteError>()
            .map(|remote| *remote)
            .map_err(|other| io::Error::new(kind, other)),
    }
}

/// The unit's output pieces as one byte stream for the parser.
struct UnitReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    piece: Bytes,
}

impl AsyncRead for UnitReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.piece.is_empty() {
            match std::task::ready!(self.rx.poll_recv(cx)) {
                Some(Ok(piece)) => self.piece = piece,
                Some(Err(err)) => return Poll::Ready(Err(err)),
                // End of output: a read of zero bytes.
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = self.piece.len().min(buf.remaining());
        let head = self.piece.split_to(n);
        buf.put_slice(&head);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn pieces_read_as_one_stream_and_mesh_errors_come_back_out() {
        let (tx, rx) = mpsc::channel(4);
        let mut reader = UnitReader {
            rx,
            piece: Bytes::new(),
        };
        tx.send(Ok(Bytes::from_static(b"{\"a\"")))
            .await
            .expect("send");
        tx.send(Ok(Bytes::from_static(b": 1}\n")))
            .await
            .expect("send");
        drop(tx);
        let mut all = String::new();
        reader.read_to_string(&mut all).await.expect("read");
        assert_eq!(all, "{\"a\": 1}\n");

        let wrapped = io::Error::other(ClientError::Stopped);
        assert!(matches!(
            mesh_error(wrapped),
            Ok(RemoteError::Unit(ClientError::Stopped))
        ));
        let lost = io::Error::other(RemoteError::Lost {
            node: NodeId::new("exec-1").expect("id"),
            secs: 30,
        });
        assert!(matches!(
            mesh_error(lost),
            Ok(RemoteError::Lost { secs: 30, .. })
        ));
        let plain = io::Error::new(io::ErrorKind::BrokenPipe, "pipe");
        let back = mesh_error(plain).expect_err("not a mesh error");
        assert_eq!(back.kind(), io::ErrorKind::BrokenPipe);
    }
}
