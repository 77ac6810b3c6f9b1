//! The mesh in the binary: a [`mesh::WorkNode`] started from configuration,
//! the mesh CA a control node keeps, joining a node to a controller, and
//! the status file `rawx mesh status` reads.
//!
//! Files under the mesh dir (`mesh_dir`, default `<data_dir>/mesh`):
//! `node.pem`/`node.key` (this node's certificate and key, 0600),
//! `ca.pem` (the mesh CA), and on control nodes `ca.key` (0600) and
//! `controller.key` (the Ed25519 key work submissions are signed with,
//! PKCS#8, 0600); on joined nodes `controllers.json` (the controllers'
//! public keys, hex); `units/` (work units), `work/` (ansible-runner's
//! private data dirs), `status.json` (the mesh as this node sees it,
//! rewritten every [`STATUS_INTERVAL`]) and `revocations.json` (the newest
//! signed revocation list the node has applied, applied again at start).
//!
//! The CA lives in the control node's data dir, not in the database: one
//! control node signs joins. A second control node of the same cluster
//! needs a copy of `ca.pem` and `ca.key` (moving the CA into the database,
//! encrypted with SECRET_KEY, is the step that removes that).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::mesh::{
    CertDigest, ClientConfig, ExecutorConfig, MeshCa, NodeConfig, NodeId, NodeIdentity, NodeStatus,
    PeerConfig, PublicKey, SignedRevocations, SigningKey, Timers, TrustAnchor, TrustedKeys,
    WorkContext, WorkFuture, WorkNode, Worker, WorkerRegistry,
};
use actors::mesh_router::MeshRouter;
use actors::ports::{MeshObserver, PortError, PortFuture};
use rcgen::KeyPair;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::{Config, parse_peer};
use crate::exec::runner::{clean_path, process_tree, processes_mentioning, signal_all};
use crate::store::{self, Db};

/// How often a node rewrites `status.json` (and a control node marks the
/// nodes it sees ready).
pub const STATUS_INTERVAL: Duration = Duration::from_secs(2);
/// How long a joined node's certificate is valid.
const NODE_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// The work type execution nodes run jobs with.
pub const ANSIBLE_RUNNER: &str = "ansible-runner";
/// The work type a controller runs its own runs with (AWX's `local`): the
/// private data dir is already on this node, so the payload is only the
/// kwargs, as ansible-runner's worker reads them, naming that dir.
pub const LOCAL: &str = "local";
/// Largest `local` payload (kwargs only).
const MAX_LOCAL_PAYLOAD: u64 = 16 * 1024 * 1024;
/// The work type of a health check: `ansible-runner worker --worker-info`
/// (CPUs, memory, runner version, errors), as AWX checks execution nodes
/// through Receptor.
pub const WORKER_INFO: &str = "worker-info";
/// Largest work payload an execution node accepts (a job's kwargs and
/// private data dir as ansible-runner transmits them).
const MAX_PAYLOAD: u64 = 256 * 1024 * 1024;
/// How long a canceled run has between SIGTERM and SIGKILL: ansible-runner
/// notices the signal at its next poll (`pexpect_timeout`, 5 s by default)
/// and then writes its status and artifacts; Receptor also gives 10 s.
const CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How long the join request may take.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the mesh could not start, or a join failed.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    #[error("mesh dir {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mesh: {0}")]
    Tls(#[from] ::mesh::TlsError),
    #[error("mesh: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("mesh: {0}")]
    Work(#[from] ::mesh::WorkError),
    #[error("mesh: {0}")]
    Node(#[from] ::mesh::WorkNodeError),
    #[error("mesh: node name {0}")]
    Id(#[from] ::mesh::IdError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The operator must fix something (a missing identity, a bad address).
    #[error("{0}")]
    Config(String),
    /// The controller refused or could not be reached.
    #[error("join: {0}")]
    Join(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MeshError + '_ {
    move |source| MeshError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` with `mode`, through a temporary file and a
/// rename, so a crash never leaves half a key.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), MeshError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

fn read_file(path: &Path) -> Result<String, MeshError> {
    std::fs::read_to_string(path).map_err(io_error(path))
}

fn ensure_dir(path: &Path) -> Result<(), MeshError> {
    std::fs::create_dir_all(path).map_err(io_error(path))?;
    // The dir holds private keys: only the owner lists it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(io_error(path))
}

/// Lower-case hex of `bytes`, as keys and certificate digests are stored.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The keys in `hex_keys`; the first that is not a key is the error.
fn trusted_keys(hex_keys: &[String]) -> Result<TrustedKeys, String> {
    hex_keys
        .iter()
        .map(|key| public_key_from_hex(key).ok_or_else(|| key.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedKeys::new)
}

fn public_key_from_hex(text: &str) -> Option<PublicKey> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(PublicKey(key))
}

/// The mesh CA's files on a control node: the certificate, and its key for
/// signing joins.
pub struct MeshAuthority {
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for MeshAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshAuthority").finish_non_exhaustive()
    }
}

impl MeshAuthority {
    /// Loads `ca.pem` and `ca.key` from `dir`, creating them on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, MeshError> {
        ensure_dir(dir)?;
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca.key");
        if !cert_path.exists() && !key_path.exists() {
            let ca = MeshCa::generate()?;
            write_file(&key_path, ca.key_pem().as_bytes(), 0o600)?;
            write_file(&cert_path, ca.cert_pem().as_bytes(), 0o644)?;
        }
        let cert_pem = read_file(&cert_path)?;
        let key_pem = read_file(&key_path)?;
        // Checks the key belongs to the certificate.
        MeshCa::from_pem(&cert_pem, &key_pem)?;
        Ok(Self {
            cert_pem,
            key: KeyPair::from_pem(&key_pem)?,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    fn mesh_ca(&self) -> Result<MeshCa, MeshError> {
        Ok(MeshCa::from_pem(&self.cert_pem, &self.key.serialize_pem())?)
    }

    /// Certifies `public_key` (a P-256 point, 65 bytes starting 0x04) for
    /// `node`, with the usages the mesh expects (client and server auth).
    pub fn sign(&self, node: &NodeId, public_key: &[u8]) -> Result<String, MeshError> {
        Ok(self
            .mesh_ca()?
            .sign_public_key(node, public_key, NODE_CERT_VALIDITY)?)
    }
}

/// What a control node's API needs of the mesh: the CA for joins, the
/// controllers' keys, and the live node (when `mesh_listen` is set).
#[derive(Debug)]
pub struct ControlMesh {
    pub authority: MeshAuthority,
    /// This node's mesh id.
    pub node_id: NodeId,
    /// Where joining nodes dial this node; `None` without `mesh_listen`.
    pub address: Option<SocketAddr>,
    /// The running node: it carries every run this node controls.
    pub work_node: Arc<WorkNode>,
    /// The key this node signs work with.
    pub signing_key: Arc<SigningKey>,
}

/// Loads or creates the controller's Ed25519 work-signing key.
fn load_or_create_signing_key(dir: &Path) -> Result<SigningKey, MeshError> {
    let path = dir.join("controller.key");
    match std::fs::read(&path) {
        Ok(pkcs8) => Ok(SigningKey::from_pkcs8(&pkcs8)?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (key, pkcs8) = SigningKey::generate()?;
            write_file(&path, &pkcs8, 0o600)?;
            Ok(key)
        }
        Err(err) => Err(MeshError::Io { path, source: err }),
    }
}

fn node_id(config: &Config) -> Result<NodeId, MeshError> {
    NodeId::new(config.node_name()).map_err(|err| {
        MeshError::Config(format!(
            "node_name `{}` cannot be a mesh node id: {err}",
            config.node_name()
        ))
    })
}

fn peers(config: &Config) -> Result<Vec<PeerConfig>, MeshError> {
    config
        .mesh_peers
        .iter()
        .map(|peer| {
            parse_peer(peer)
                .map(|(_, addr)| PeerConfig { addr, cost: 1 })
                .map_err(|problem| MeshError::Config(format!("mesh_peers: {problem}")))
        })
        .collect()
}

/// The mesh timers, with the configured idle timeout.
fn timers(config: &Config) -> Timers {
    let mut timers = Timers::default();
    let idle = config.mesh_idle_timeout();
    timers.transport.idle_timeout = idle;
    timers.transport.keepalive = (idle / 4).max(Duration::from_millis(500));
    timers
}

fn mesh_listen(config: &Config) -> Result<Option<SocketAddr>, MeshError> {
    if config.mesh_listen.is_empty() {
        return Ok(None);
    }
    config
        .mesh_listen
        .parse()
        .map(Some)
        .map_err(|_| MeshError::Config(format!("mesh_listen: `{}`", config.mesh_listen)))
}

/// Starts a control node's side of the mesh: the CA (created on first
/// start), the work-signing key (recorded in the database for joins), and,
/// with `mesh_listen`, a mesh node whose certificate the CA issues itself.
pub async fn start_control(config: &Config, db: &Db) -> Result<ControlMesh, MeshError> {
    let dir = config.mesh_dir();
    let authority = MeshAuthority::load_or_create(&dir)?;
    let signing_key = Arc::new(load_or_create_signing_key(&dir)?);
    let node_id = node_id(config)?;
    store::mesh::record_controller_key(db, node_id.as_str(), &hex(&signing_key.public_key().0))
        .await?;
    // Every controller's revocation lists count (this one's among them).
    let controllers = trusted_keys(&store::mesh::controller_keys(db).await?)
        .map_err(|key| MeshError::Config(format!("a controller's key in the database: {key}")))?;
    let listen = mesh_listen(config)?;
    // The controller's own certificate is cheap to make: issue a fresh one
    // at every start instead of tracking its expiry.
    let identity = authority.mesh_ca()?.issue(&node_id, NODE_CERT_VALIDITY)?;
    let trust = TrustAnchor::from_pem(authority.cert_pem())?;
    // Every run this node controls is a work unit: its own as `local`
    // units of its own executor, an execution node's through the mesh.
    let running = RunningUnits::default();
    let mut workers = WorkerRegistry::new();
    workers.register(
        LOCAL,
        LocalRunner {
            venv: config.venv(),
            jobs_root: config.data_dir().join("jobs"),
            running,
        },
    );
    let executor = ExecutorConfig {
        dir: dir.join("units"),
        trusted: TrustedKeys::new(vec![signing_key.public_key()]),
        workers,
        max_payload: MAX_LOCAL_PAYLOAD,
    };
    let node = WorkNode::start(
        NodeConfig {
            identity,
            trust,
            listen,
            peers: peers(config)?,
            timers: timers(config),
            revocation_signers: controllers,
            revocations: saved_revocations(&dir),
        },
        Some(executor),
        ClientConfig {
            // A run's reader asks again after each give-up, until the
            // reconnect timeout: never later than that timeout.
            give_up: ClientConfig::default()
                .give_up
                .min(config.mesh_reconnect_timeout()),
            ..ClientConfig::default()
        },
    )
    .await?;
    let address = node.node().local_addr();
    let work_node = Arc::new(node);
    tracing::info!(node = %node_id, listen = ?address, "mesh node started");
    Ok(ControlMesh {
        authority,
        node_id,
        address,
        work_node,
        signing_key,
    })
}

/// Runs an execution or hop node until SIGINT or SIGTERM: no database, no
/// Redis, no API; the identity `rawx node join` stored in the mesh dir.
pub async fn serve_node(config: &Config) -> Result<(), MeshError> {
    let dir = config.mesh_dir();
    let node_id = node_id(config)?;
    let cert_path = dir.join("node.pem");
    if !cert_path.exists() {
        return Err(MeshError::Config(format!(
            "{}: no mesh identity; join the node first with `rawx node join`",
            cert_path.display()
        )));
    }
    let identity = NodeIdentity::from_pem(
        node_id.clone(),
        &read_file(&cert_path)?,
        &read_file(&dir.join("node.key"))?,
    )?;
    let trust = TrustAnchor::from_pem(&read_file(&dir.join("ca.pem"))?)?;
    // The controllers sign the work an execution node runs and the
    // revocation lists every node applies.
    let keys: Vec<String> = serde_json::from_str(&read_file(&dir.join("controllers.json"))?)
        .map_err(|err| MeshError::Config(format!("controllers.json: {err}")))?;
    let controllers = trusted_keys(&keys)
        .map_err(|key| MeshError::Config(format!("controllers.json: bad key {key}")))?;
    let executor = match config.role {
        actors::NodeRole::Execution => {
            stop_crashed_runs(&dir.join("work"));
            let mut workers = WorkerRegistry::new();
            workers.register(
                ANSIBLE_RUNNER,
                AnsibleRunner {
                    venv: config.venv(),
                    work_dir: dir.join("work"),
                    running: RunningUnits::default(),
                },
            );
            workers.register(
                WORKER_INFO,
                WorkerInfo {
                    venv: config.venv(),
                    work_dir: dir.join("work"),
                },
            );
            Some(ExecutorConfig {
                dir: dir.join("units"),
                trusted: controllers.clone(),
                workers,
                max_payload: MAX_PAYLOAD,
            })
        }
        // A hop runs nothing: every submission to it is refused.
        _ => None,
    };
    let node = WorkNode::start(
        NodeConfig {
            identity,
            trust,
            listen: mesh_listen(config)?,
            peers: peers(config)?,
            timers: timers(config),
            revocation_signers: controllers,
            revocations: saved_revocations(&dir),
        },
        executor,
        ClientConfig::default(),
    )
    .await?;
    let node = Arc::new(node);
    let observer = Rc::new(StatusObserver::new(dir.clone(), config.role.as_str(), None));
    let weak = Arc::downgrade(&node);
    let router = actors::supervise("mesh_router", move |incarnation| {
        MeshRouter::new(
            incarnation,
            weak.clone(),
            None,
            observer.clone(),
            STATUS_INTERVAL,
        )
    });
    tracing::info!(
        node = %node_id,
        role = %config.role,
        listen = ?node.node().local_addr(),
        peers = ?config.mesh_peers,
        "rawx mesh node is running"
    );
    wait_for_shutdown().await;
    tracing::info!("shutting down");
    router.shutdown();
    drop(node);
    Ok(())
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(err) => {
            tracing::warn!(%err, "cannot watch SIGTERM; stopping on SIGINT only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// What a node does with its view of the mesh every [`STATUS_INTERVAL`]
/// (the MeshRouter's tick): rewrites `path`; with `db` (a control node),
/// also marks the mesh nodes it sees ready, records each one's peers, and
/// returns the revoked certificates for the MeshRouter to publish.
pub struct StatusObserver {
    dir: PathBuf,
    role: &'static str,
    db: Option<Db>,
    /// When the revocation list last saved was issued.
    saved: std::cell::Cell<u64>,
}

/// Where a node keeps its revocation list across restarts.
const REVOCATIONS_FILE: &str = "revocations.json";

impl StatusObserver {
    /// Writes into the mesh dir `dir`; `db` on control nodes.
    pub fn new(dir: PathBuf, role: &'static str, db: Option<Db>) -> Self {
        Self {
            dir,
            role,
            db,
            saved: std::cell::Cell::new(0),
        }
    }

    /// Saves the node's revocation list when a newer one came.
    fn save_revocations(&self, status: &NodeStatus) {
        let Some(list) = &status.revocations else {
            return;
        };
        if list.list.issued_ms <= self.saved.get() {
            return;
        }
        let written = serde_json::to_vec(list)
            .map_err(|err| err.to_string())
            .and_then(|bytes| {
                write_file(&self.dir.join(REVOCATIONS_FILE), &bytes, 0o644)
                    .map_err(|err| err.to_string())
            });
        match written {
            Ok(()) => self.saved.set(list.list.issued_ms),
            Err(err) => tracing::warn!(%err, "cannot save the mesh revocation list"),
        }
    }
}

/// The revocation list saved before the last stop, if any (and readable).
fn saved_revocations(dir: &Path) -> Option<SignedRevocations> {
    let path = dir.join(REVOCATIONS_FILE);
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(list) => Some(list),
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "ignoring an unreadable revocation list");
            None
        }
    }
}

impl MeshObserver for StatusObserver {
    fn observe(&self, status: NodeStatus) -> PortFuture<'_, Option<BTreeSet<CertDigest>>> {
        Box::pin(async move {
            let written = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            self.save_revocations(&status);
            let doc = json!({"written": written, "role": self.role, "status": &status});
            match serde_json::to_vec_pretty(&doc) {
                Ok(bytes) => {
                    if let Err(err) = write_file(&self.dir.join("status.json"), &bytes, 0o644) {
                        tracing::warn!(%err, "cannot write the mesh status file");
                    }
                }
                Err(err) => tracing::warn!(%err, "cannot encode the mesh status"),
            }
            let Some(db) = &self.db else {
                return Ok(None);
            };
            let seen: Vec<(String, Vec<String>)> = status
                .nodes
                .iter()
                .map(|n| {
                    let peers = n.links.iter().map(|l| l.peer.as_str().to_owned()).collect();
                    (n.node.as_str().to_owned(), peers)
                })
                .collect();
            store::mesh::record_seen(db, &seen)
                .await
                .map_err(|err| PortError(format!("cannot record the mesh nodes seen: {err}")))?;
            // A deprovisioned instance's certificate is refused from now on,
            // by every node the list reaches.
            let revoked = store::mesh::revoked(db)
                .await
                .map_err(|err| PortError(format!("cannot read the revoked mesh nodes: {err}")))?;
            Ok(Some(
                revoked
                    .iter()
                    .filter_map(|digest| from_hex(digest)?.try_into().ok())
                    .collect(),
            ))
        })
    }
}

/// Runs `ansible-runner worker` with the unit's payload on stdin (the
/// transmit stream of a job's kwargs and private data dir) and its stdout
/// as the unit's output: ansible-runner's own streaming protocol, which the
/// controller's side processes as it does a local run's.
struct AnsibleRunner {
    venv: PathBuf,
    work_dir: PathBuf,
    running: RunningUnits,
}

impl Worker for AnsibleRunner {
    fn run(&self, work: WorkContext) -> WorkFuture {
        let runner = self.venv.join("bin/ansible-runner");
        let python = self.venv.join("bin/python");
        let path = clean_path(&self.venv);
        let dir = self.work_dir.join(work.unit.as_str());
        let running = self.running.clone();
        Box::pin(async move {
            let mut guard = RunGuard {
                dir: dir.clone(),
                pid: None,
                owns_dir: true,
            };
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|err| format!("{}: {err}", dir.display()))?;
            // In the data dir, so it goes with it however the unit ends
            // (only `artifacts/` travels back).
            let input = dir.join(".rawx-worker-input");
            relocate(&python, &path, &work.payload, &dir, &input).await?;
            run_ansible_runner(&runner, &path, &dir, &input, work, &mut guard, &running).await
        })
    }
}

/// Unpacks a transmitted run into `dir` with its paths relocated there
/// ([`crate::exec::remote::RELOCATE_SCRIPT`]) and writes the worker's
/// input to `input`.
async fn relocate(
    python: &Path,
    path: &str,
    payload: &Path,
    dir: &Path,
    input: &Path,
) -> Result<(), String> {
    let output = tokio::process::Command::new(python)
        .arg("-c")
        .arg(crate::exec::remote::RELOCATE_SCRIPT)
        .arg(payload)
        .arg(dir)
        .arg(input)
        .env_clear()
        .env("PATH", path)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|err| format!("{}: {err}", python.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unpacking the run failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs a controller's own run (the `local` work type): the payload is the
/// kwargs line and eof ansible-runner's worker reads, and names the private
/// data dir the controller prepared, which must lie under this node's jobs
/// dir. The controller reads, keeps and removes that dir; the unit's output
/// is the worker's stream, as for an execution node.
struct LocalRunner {
    venv: PathBuf,
    jobs_root: PathBuf,
    running: RunningUnits,
}

impl Worker for LocalRunner {
    fn run(&self, work: WorkContext) -> WorkFuture {
        let runner = self.venv.join("bin/ansible-runner");
        let path = clean_path(&self.venv);
        let jobs_root = self.jobs_root.clone();
        let running = self.running.clone();
        Box::pin(async move {
            let dir = local_data_dir(&work.payload, &jobs_root)?;
            let mut guard = RunGuard {
                dir: dir.clone(),
                pid: None,
                owns_dir: false,
            };
            let input = work.payload.clone();
            run_ansible_runner(&runner, &path, &dir, &input, work, &mut guard, &running).await
        })
    }
}

/// The private data dir a `local` payload names, checked to be a directory
/// under `jobs_root`.
fn local_data_dir(payload: &Path, jobs_root: &Path) -> Result<PathBuf, String> {
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(
            std::fs::File::open(payload).map_err(|err| format!("payload: {err}"))?,
        ),
        &mut first,
    )
    .map_err(|err| format!("payload: {err}"))?;
    let line: Value = serde_json::from_str(&first).map_err(|err| format!("payload: {err}"))?;
    let named = line
        .pointer("/kwargs/private_data_dir")
        .and_then(Value::as_str)
        .ok_or("payload: no kwargs.private_data_dir")?;
    let dir = std::fs::canonicalize(named).map_err(|err| format!("{named}: {err}"))?;
    let root = std::fs::canonicalize(jobs_root)
        .map_err(|err| format!("{}: {err}", jobs_root.display()))?;
    if !dir.starts_with(&root) || dir == root || !dir.is_dir() {
        return Err(format!("{named} is not a private data dir of this node"));
    }
    Ok(dir)
}

/// How many runs a node's workers have going: once they outnumber the
/// cores, a new run yields the CPU (nice 10), or with a hundred playbooks
/// on two cores the node's own threads (and, on a controller, the threads
/// that store the runs' events) would wait behind all of them.
#[derive(Clone, Default)]
struct RunningUnits(Arc<std::sync::atomic::AtomicUsize>);

/// One counted run; uncounted when dropped.
struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl RunningUnits {
    fn enter(&self) -> (Counted, bool) {
        use std::sync::atomic::Ordering;
        let now = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (Counted(self.0.clone()), now > cores)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Answers a health check with what `ansible-runner worker --worker-info`
/// prints (a YAML mapping: `cpu_count`, `mem_in_bytes`, `runner_version`,
/// `errors`); the payload is ignored. A runner that cannot start is the
/// failure the check is for: the unit fails with the reason.
struct WorkerInfo {
    venv: PathBuf,
    work_dir: PathBuf,
}

impl Worker for WorkerInfo {
    fn run(&self, work: WorkContext) -> WorkFuture {
        let runner = self.venv.join("bin/ansible-runner");
        let path = clean_path(&self.venv);
        let dir = self.work_dir.join(work.unit.as_str());
        Box::pin(async move {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|err| format!("{}: {err}", dir.display()))?;
            let ran = tokio::process::Command::new(&runner)
                .args(["worker", "--worker-info", "--private-data-dir"])
                .arg(&dir)
                .env_clear()
                .env("PATH", &path)
                .env(
                    "HOME",
                    std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
                )
                .env("LANG", "C.UTF-8")
                .current_dir(&dir)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output()
                .await;
            let _ = tokio::fs::remove_dir_all(&dir).await;
            let output = ran.map_err(|err| format!("{}: {err}", runner.display()))?;
            if !output.status.success() {
                return Err(format!(
                    "ansible-runner --worker-info {}: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            let mut out = work.output;
            out.write(&output.stdout)
                .await
                .map_err(|err| format!("output: {err}"))?;
            Ok("worker info".into())
        })
    }
}

/// What a run must not leave behind, even when its future is dropped
/// mid-run (the unit released, the executor stopping), where no further
/// async code runs: the process tree (ansible-core 2.19's forks leave the
/// runner's process group, so `kill_on_drop` on the runner alone would
/// orphan them) and the private data dir, which holds the job's secrets.
/// The work is synchronous but small: a /proc scan and one directory.
struct RunGuard {
    dir: PathBuf,
    /// The runner's pid while it may be running; `None` once reaped (the
    /// pid may then belong to someone else).
    pid: Option<u32>,
    /// Whether the dir is the unit's to remove (an execution node's copy),
    /// not the controller's own private data dir.
    owns_dir: bool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            kill_tree(pid, Vec::new());
        }
        stop_leftovers(&self.dir, self.owns_dir);
    }
}

/// Kills every process that names a run's private data dir, with their
/// process trees, and removes the dir if `remove`: what a run leaves once
/// its runner is gone, or once the node that ran it crashed.
pub fn stop_leftovers(dir: &Path, remove: bool) {
    // Forks that left the tree before it was read (a fork in progress
    // when the runner killed its group) still name the private data dir
    // (`-i <dir>/inventory`), as do ssh masters and agents of the run.
    for _ in 0..FREEZE_ROUNDS {
        let left = processes_mentioning(dir);
        if left.is_empty() {
            break;
        }
        for pid in left {
            kill_tree(pid, Vec::new());
        }
    }
    if remove {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Stops what the runs going when this execution node last stopped left:
/// a run removes its data dir when it ends, so every dir still under
/// `work` is a run the node's crash cut short. Its processes may still be
/// going (a SIGKILL does not reach the node's children) and its dir holds
/// the job's secrets; the executor fails its unit when it loads.
fn stop_crashed_runs(work: &Path) {
    let Ok(entries) = std::fs::read_dir(work) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        tracing::warn!(dir = %dir.display(), "stopping what a run cut short by a crash left");
        stop_leftovers(&dir, true);
    }
}

/// Rounds of stopping a tree before killing it.
const FREEZE_ROUNDS: usize = 20;

/// SIGKILLs `pid`'s process tree and `known` (processes of the run seen
/// earlier that may have left the tree). A process forking while /proc is
/// read would have a child the read missed, orphaned once its parent dies:
/// so the tree is first stopped (SIGSTOP) and read again until no new
/// process appears, and only then killed.
fn kill_tree(pid: u32, mut known: Vec<u32>) {
    use nix::sys::signal::Signal;
    for found in process_tree(pid) {
        if !known.contains(&found) {
            known.push(found);
        }
    }
    for _ in 0..FREEZE_ROUNDS {
        signal_all(&known, Signal::SIGSTOP);
        let mut grew = false;
        for found in process_tree(pid) {
            if !known.contains(&found) {
                known.push(found);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    signal_all(&known, Signal::SIGKILL);
}

async fn run_ansible_runner(
    runner: &Path,
    path: &str,
    dir: &Path,
    input: &Path,
    work: WorkContext,
    guard: &mut RunGuard,
    running: &RunningUnits,
) -> ::mesh::WorkOutcome {
    let (_counted, yield_cpu) = running.enter();
    let stdin = std::fs::File::open(input).map_err(|err| format!("{}: {err}", input.display()))?;
    let mut child = tokio::process::Command::new(runner)
        .arg("worker")
        .arg("--private-data-dir")
        .arg(dir)
        .env_clear()
        .env("PATH", path)
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(dir)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a terminal's Ctrl-C reaches rawx only.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| format!("{}: {err}", runner.display()))?;
    if yield_cpu {
        crate::exec::runner::lower_priority(child.id());
    }
    let pid = child.id().unwrap_or_default();
    guard.pid = Some(pid);
    let Some(mut stdout) = child.stdout.take() else {
        return Err("ansible-runner has no stdout".into());
    };
    let mut output = work.output;
    let copy = output.copy_from(&mut stdout);
    tokio::pin!(copy);
    tokio::select! {
        copied = &mut copy => {
            copied.map_err(|err| format!("output: {err}"))?;
            let status = child.wait().await.map_err(|err| err.to_string())?;
            guard.pid = None;
            if status.success() {
                Ok(format!("ansible-runner {status}"))
            } else {
                Err(format!("ansible-runner {status}"))
            }
        }
        () = work.cancel.canceled() => {
            terminate(pid, &mut child, copy).await;
            guard.pid = None;
            Err("canceled".into())
        }
    }
}

/// SIGTERM to the run's whole process tree (ansible's forks leave its
/// process group), then SIGKILL to what is left after [`CANCEL_GRACE`].
/// The output is copied meanwhile: ansible-runner answers SIGTERM with its
/// `canceled` status, the artifacts and the eof line, which the controller
/// needs to see the stream end as the protocol says.
async fn terminate(
    pid: u32,
    child: &mut tokio::process::Child,
    copy: impl std::future::Future<Output = std::io::Result<u64>>,
) {
    use nix::sys::signal::Signal;
    // Taken before the signal: once the runner is gone its forks are no
    // longer below it.
    let mut tree = process_tree(pid);
    signal_all(&tree, Signal::SIGTERM);
    let drained = tokio::time::timeout(CANCEL_GRACE, async {
        // A broken output is not worth waiting for: the runner still has
        // to go.
        let _ = copy.await;
        child.wait().await
    })
    .await;
    // The runner is gone or is killed now; its forks may not be. A runner
    // that did not stop is still the root of its tree: freeze it too.
    if drained.is_err() {
        kill_tree(pid, tree);
    } else {
        // Reaped: its pid may be someone else's now.
        tree.retain(|p| *p != pid);
        signal_all(&tree, Signal::SIGKILL);
    }
    let _ = child.wait().await;
}

// --- joining ---------------------------------------------------------------

/// What `rawx node join` is asked.
#[derive(Debug, Clone)]
pub struct JoinArgs {
    pub controller: String,
    pub token: String,
    pub role: actors::NodeRole,
    pub listen: Option<String>,
    pub name: String,
    /// A PEM file trusted for an https controller.
    pub controller_ca: Option<PathBuf>,
}

/// The body of `POST /api/v2/mesh/join/`.
#[derive(Debug, Serialize, Deserialize)]
pub struct JoinRequestBody {
    pub token: String,
    pub hostname: String,
    pub node_type: String,
    /// host:port the node's mesh endpoint listens on, or "".
    #[serde(default)]
    pub listener_address: String,
    /// The node's P-256 public key, uncompressed point, hex.
    pub public_key: String,
}

/// What the controller answers a successful join with.
#[derive(Debug, Serialize, Deserialize)]
pub struct JoinResponseBody {
    pub instance: i64,
    pub hostname: String,
    pub certificate: String,
    pub ca_certificate: String,
    pub controller_node: String,
    pub controller_address: String,
    pub controller_keys: Vec<String>,
}

/// Decodes a hex string (the public key in a join request).
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Generates the node's key, has the controller certify it, stores the
/// identity under the mesh dir and writes `<data_dir>/rawx.toml`; returns
/// that file's path.
pub fn join(config: &Config, args: &JoinArgs) -> Result<PathBuf, MeshError> {
    if args.role.is_controller() {
        return Err(MeshError::Config(
            "--role: only execution and hop nodes join through the mesh".into(),
        ));
    }
    let node = NodeId::new(args.name.clone())
        .map_err(|err| MeshError::Config(format!("--name `{}`: {err}", args.name)))?;
    if let Some(listen) = &args.listen
        && listen.parse::<SocketAddr>().is_err()
    {
        return Err(MeshError::Config(format!(
            "--listen `{listen}` is not a UDP address like 0.0.0.0:27199"
        )));
    }
    let data_dir = config.data_dir();
    let dir = if config.mesh_dir.as_os_str().is_empty() {
        data_dir.join("mesh")
    } else {
        config.mesh_dir.clone()
    };
    if dir.join("node.pem").exists() {
        return Err(MeshError::Config(format!(
            "{}: this node has joined already",
            dir.join("node.pem").display()
        )));
    }
    // The private key never leaves this machine: the controller gets the
    // public half and certifies it.
    let key = KeyPair::generate()?;
    let body = JoinRequestBody {
        token: args.token.clone(),
        hostname: node.as_str().to_owned(),
        node_type: args.role.as_str().to_owned(),
        listener_address: args.listen.clone().unwrap_or_default(),
        public_key: hex(key.public_key_raw()),
    };
    let url = format!(
        "{}/api/v2/mesh/join/",
        args.controller.trim_end_matches('/')
    );
    let payload = serde_json::to_vec(&body).map_err(|err| MeshError::Join(err.to_string()))?;
    let (status, reply) = http_post_json(&url, &payload, args.controller_ca.as_deref())?;
    if status != 201 && status != 200 {
        let message = serde_json::from_slice::<Value>(&reply)
            .ok()
            .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&reply).into_owned());
        return Err(MeshError::Join(format!(
            "the controller answered {status}: {message}"
        )));
    }
    let reply: JoinResponseBody = serde_json::from_slice(&reply)
        .map_err(|err| MeshError::Join(format!("unexpected answer: {err}")))?;
    let key_pem = key.serialize_pem();
    // Refuses a certificate that does not name this node or a broken chain
    // before anything is written.
    NodeIdentity::from_pem(node.clone(), &reply.certificate, &key_pem)?;
    TrustAnchor::from_pem(&reply.ca_certificate)?;
    let controller_addr = controller_peer(&reply.controller_address, &args.controller)?;
    ensure_dir(&dir)?;
    write_file(&dir.join("node.key"), key_pem.as_bytes(), 0o600)?;
    write_file(&dir.join("node.pem"), reply.certificate.as_bytes(), 0o600)?;
    write_file(&dir.join("ca.pem"), reply.ca_certificate.as_bytes(), 0o644)?;
    let keys = serde_json::to_vec_pretty(&reply.controller_keys)
        .map_err(|err| MeshError::Join(err.to_string()))?;
    write_file(&dir.join("controllers.json"), &keys, 0o644)?;
    let file = data_dir.join("rawx.toml");
    let text = format!(
        "# Written by `rawx node join`: this node joined {controller} as {id}.\n\
         role = {role}\nnode_name = {name}\ndata_dir = {data_dir}\nmesh_dir = {mesh_dir}\n\
         mesh_listen = {listen}\nmesh_peers = [{peer}]\nlog_level = {log}\n",
        controller = args.controller,
        id = reply.instance,
        role = toml_string(args.role.as_str()),
        name = toml_string(node.as_str()),
        data_dir = toml_string(&data_dir.display().to_string()),
        mesh_dir = toml_string(&dir.display().to_string()),
        listen = toml_string(args.listen.as_deref().unwrap_or_default()),
        peer = toml_string(&format!("{}@{controller_addr}", reply.controller_node)),
        log = toml_string(&config.log_level),
    );
    write_file(&file, text.as_bytes(), 0o600)?;
    Ok(file)
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    // JSON's string escapes are valid TOML basic-string escapes.
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into())
}

/// The controller's mesh address as the node dials it: an unspecified IP
/// (the controller listens on every interface) becomes the host the
/// controller's API was reached at.
fn controller_peer(address: &str, controller_url: &str) -> Result<SocketAddr, MeshError> {
    let addr: SocketAddr = address.parse().map_err(|_| {
        MeshError::Join(format!(
            "the controller gave a bad mesh address `{address}`"
        ))
    })?;
    if !addr.ip().is_unspecified() {
        return Ok(addr);
    }
    let (_, host, _) = split_url(controller_url)?;
    let ip = (host.as_str(), addr.port())
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| MeshError::Join(format!("cannot resolve {host}")))?;
    Ok(ip)
}

/// (https?, host, port) of an http(s) URL.
fn split_url(url: &str) -> Result<(bool, String, u16), MeshError> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(MeshError::Config(format!(
            "--controller `{url}` is not an http:// or https:// URL"
        )));
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| MeshError::Config(format!("--controller `{url}`: bad port")))?;
            (host, port)
        }
        _ => (authority, if tls { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(MeshError::Config(format!("--controller `{url}`: no host")));
    }
    Ok((tls, host.to_owned(), port))
}

/// POSTs a JSON body and returns the status and body. A minimal HTTP/1.1
/// client (one request, `Connection: close`), because the binary has no
/// HTTP client and joining needs exactly one request.
fn http_post_json(
    url: &str,
    body: &[u8],
    ca_file: Option<&Path>,
) -> Result<(u16, Vec<u8>), MeshError> {
    let (tls, host, port) = split_url(url)?;
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into());
    let fail = |err: std::io::Error| MeshError::Join(format!("{url}: {err}"));
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(fail)?
        .next()
        .ok_or_else(|| MeshError::Join(format!("cannot resolve {host}")))?;
    let tcp = std::net::TcpStream::connect_timeout(&addr, JOIN_TIMEOUT).map_err(fail)?;
    tcp.set_read_timeout(Some(JOIN_TIMEOUT)).map_err(fail)?;
    tcp.set_write_timeout(Some(JOIN_TIMEOUT)).map_err(fail)?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let mut raw = Vec::new();
    if tls {
        let Some(ca_file) = ca_file else {
            return Err(MeshError::Config(
                "an https controller needs --controller-ca FILE (the PEM certificate its API serves, or its CA)".into(),
            ));
        };
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(ca_file).map_err(io_error(ca_file))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(io_error(ca_file))?;
            roots
                .add(cert)
                .map_err(|err| MeshError::Config(format!("{}: {err}", ca_file.display())))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|err| MeshError::Join(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|err| MeshError::Config(format!("--controller host {host}: {err}")))?;
        let conn = rustls::ClientConnection::new(Arc::new(config), name)
            .map_err(|err| MeshError::Join(err.to_string()))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        stream.write_all(&request).map_err(fail)?;
        read_to_close(&mut stream, &mut raw).map_err(fail)?;
    } else {
        let mut stream = tcp;
        stream.write_all(&request).map_err(fail)?;
        read_to_close(&mut stream, &mut raw).map_err(fail)?;
    }
    parse_response(&raw).ok_or_else(|| MeshError::Join(format!("{url}: malformed HTTP response")))
}

/// Reads until the peer closes; a TLS peer that closes without
/// close_notify still gave us the whole body (we asked for Connection: close
/// and check the length when parsing).
fn read_to_close(stream: &mut impl Read, out: &mut Vec<u8>) -> std::io::Result<()> {
    match stream.read_to_end(out) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => Ok(()),
        Err(err) => Err(err),
    }
}

/// Status and body of a whole HTTP/1.1 response (Content-Length, chunked,
/// or delimited by the close).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..end)?).ok()?;
    let body = raw.get(end + 4..)?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(rest.get(..line_end)?).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = rest.get(line_end + 2..)?;
            if size == 0 {
                return Some((status, out));
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
    }
    match length {
        Some(length) => Some((status, body.get(..length)?.to_vec())),
        None => Some((status, body.to_vec())),
    }
}

// --- status ------------------------------------------------------------------

/// The status file of the node configured by `config`, as `rawx mesh
/// status` prints it; `json` prints the file itself.
pub fn status_report(config: &Config, json: bool) -> Result<String, MeshError> {
    let path = config.mesh_dir().join("status.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(MeshError::Config(format!(
                "{}: no mesh status; is a mesh node running with this data dir?",
                path.display()
            )));
        }
        Err(err) => return Err(MeshError::Io { path, source: err }),
    };
    if json {
        return Ok(text);
    }
    let doc: Value = serde_json::from_str(&text)
        .map_err(|err| MeshError::Config(format!("{}: {err}", path.display())))?;
    Ok(format_status(&doc))
}

fn seconds(value: &Value) -> String {
    let secs = value
        .get("secs")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let nanos = value
        .get("nanos")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    format!("{:.1}s", secs as f64 + nanos as f64 / 1e9)
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The status document as text: the node, its links, every node it knows
/// with that node's links and costs, and the route table.
pub fn format_status(doc: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let status = doc.get("status").cloned().unwrap_or_default();
    let written = doc
        .get("written")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let age = now.saturating_sub(written);
    let _ = writeln!(
        out,
        "node {} ({}), epoch {}; status written {age}s ago{}",
        text(&status, "node"),
        text(doc, "role"),
        text(&status, "epoch"),
        if age > 3 * STATUS_INTERVAL.as_secs() {
            " — STALE: is the node running?"
        } else {
            ""
        }
    );
    if let Some(revoked) = status.get("revoked_certificates").and_then(Value::as_u64) {
        let _ = writeln!(out, "revoked certificates: {revoked}");
    }
    let empty = Vec::new();
    let _ = writeln!(out, "\nlinks:");
    let _ = writeln!(
        out,
        "  {:<24} {:<22} {:>5} {:<8} {:>10} {:>10}",
        "PEER", "ADDRESS", "COST", "DIALED", "LAST SEEN", "UP FOR"
    );
    for peer in status
        .get("peers")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let _ = writeln!(
            out,
            "  {:<24} {:<22} {:>5} {:<8} {:>10} {:>10}",
            text(peer, "node"),
            text(peer, "address"),
            text(peer, "cost"),
            if peer.get("dialed").and_then(Value::as_bool) == Some(true) {
                "yes"
            } else {
                "no"
            },
            seconds(peer.get("last_seen").unwrap_or(&Value::Null)),
            seconds(peer.get("up_for").unwrap_or(&Value::Null)),
        );
    }
    let _ = writeln!(out, "\nnodes:");
    let _ = writeln!(
        out,
        "  {:<24} {:>6} {:>10}  LINKS (peer:cost)",
        "NODE", "SEQ", "LAST SEEN"
    );
    for node in status
        .get("nodes")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let links: Vec<String> = node
            .get("links")
            .and_then(Value::as_array)
            .unwrap_or(&empty)
            .iter()
            .map(|l| format!("{}:{}", text(l, "peer"), text(l, "cost")))
            .collect();
        let _ = writeln!(
            out,
            "  {:<24} {:>6} {:>10}  {}",
            text(node, "node"),
            text(node, "seq"),
            seconds(node.get("last_seen").unwrap_or(&Value::Null)),
            links.join(" ")
        );
    }
    let _ = writeln!(out, "\nroutes:");
    let _ = writeln!(
        out,
        "  {:<24} {:<24} {:>6} {:>5}",
        "DEST", "NEXT HOP", "COST", "HOPS"
    );
    for route in status
        .get("routes")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let _ = writeln!(
            out,
            "  {:<24} {:<24} {:>6} {:>5}",
            text(route, "dest"),
            text(route, "next_hop"),
            text(route, "cost"),
            text(route, "hops")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_certifies_a_remote_key_the_mesh_accepts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let authority = MeshAuthority::load_or_create(dir.path()).expect("ca");
        let key = KeyPair::generate().expect("key");
        let node = NodeId::new("exec-1").expect("id");
        let cert = authority.sign(&node, key.public_key_raw()).expect("signed");
        NodeIdentity::from_pem(node.clone(), &cert, &key.serialize_pem()).expect("identity");
        let other = NodeId::new("exec-2").expect("id");
        assert!(NodeIdentity::from_pem(other, &cert, &key.serialize_pem()).is_err());
        assert!(authority.sign(&node, &[4, 1, 2]).is_err());
        // Reloading keeps the same CA.
        let again = MeshAuthority::load_or_create(dir.path()).expect("reload");
        assert_eq!(again.cert_pem(), authority.cert_pem());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("ca.key"))
                .expect("key file")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn responses_parse() {
        let raw = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(raw), Some((400, b"{}".to_vec())));
        let raw = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw), Some((201, b"abcd".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
        assert_eq!(
            split_url("http://127.0.0.1:8013/x").expect("url"),
            (false, "127.0.0.1".into(), 8013)
        );
        assert!(split_url("ftp://x").is_err());
        assert_eq!(from_hex("0aff"), Some(vec![10, 255]));
        assert_eq!(from_hex("0g"), None);
    }
}
