//! A node: resolves its services, migrates, starts its actors and serves the API.

pub mod actors;
pub mod health;
mod listen;
pub mod mesh;
pub mod preload;
pub mod probe;
pub mod services;
pub mod tls;

use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::api::{self, AppState};
use crate::config::Config;
use crate::crypto::secret_key;
use crate::store;

/// Who this node is, for the API and the heartbeat.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub role: ::actors::NodeRole,
}

/// Connections each pool holds at most; 2 cores rarely use more.
const POOL_SIZE: u32 = 16;
/// Connections each HTTP worker's own pool holds at most.
const WORKER_POOL_SIZE: u32 = 8;
/// HTTP workers; the API is I/O-bound and every worker costs memory.
const HTTP_WORKERS: usize = 2;
/// Request bodies larger than this are refused (AWX's default is 1 MiB-ish
/// per field; inventories in JSON can be larger).
const MAX_JSON_BODY: usize = 8 * 1024 * 1024;
/// Longest a node waits for its first heartbeat's write before it serves
/// anyway (a slow database; the heartbeat keeps trying).
const REGISTRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Embedded(#[from] crate::embedded::EmbeddedError),
    #[error(transparent)]
    SecretKey(#[from] secret_key::SecretKeyError),
    #[error("redis_url: {0}")]
    Redis(String),
    #[error("data_dir {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("listen {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Mesh(#[from] mesh::MeshError),
    #[error("tls: {0}")]
    Tls(String),
    #[error("{0}")]
    Other(String),
}

impl NodeError {
    /// Whether the operator's configuration or machine is at fault (exit 2).
    pub fn is_config(&self) -> bool {
        match self {
            NodeError::Config(_)
            | NodeError::Redis(_)
            | NodeError::Listen { .. }
            | NodeError::DataDir { .. }
            | NodeError::SecretKey(_)
            | NodeError::Tls(_) => true,
            NodeError::Store(err) => err.is_config(),
            NodeError::Embedded(err) => {
                matches!(err, crate::embedded::EmbeddedError::Missing { .. })
            }
            NodeError::Mesh(err) => matches!(
                err,
                mesh::MeshError::Config(_)
                    | mesh::MeshError::Io { .. }
                    | mesh::MeshError::Tls(_)
                    | mesh::MeshError::Id(_)
            ),
            NodeError::Other(_) => false,
        }
    }
}

fn listens_on_loopback(listen: &str) -> bool {
    listen
        .parse::<std::net::SocketAddr>()
        .map(|addr| addr.ip().is_loopback())
        .unwrap_or(false)
}

/// Runs `rawx server` until SIGINT or SIGTERM; must run inside an actix System.
///
/// The database comes first and the embedded Redis only after it answers, so
/// a bad database URL fails before anything else is started. Embedded
/// services stop when their guards drop, on every path out of here.
pub async fn serve(config: Config) -> Result<(), NodeError> {
    if !config.role.is_controller() {
        // Execution and hop nodes are mesh nodes only: no database, no
        // Redis, no API.
        return Ok(mesh::serve_node(&config).await?);
    }
    let redis_config = services::check_redis_url(&config.redis_url)?;
    let data_dir = services::ensure_data_dir(&config)?;
    let secret_key = secret_key::load_or_create(&config.secret_key_file())?;
    let tls_config = tls::server_config(&config, &data_dir)?;
    if tls_config.is_none() && !listens_on_loopback(&config.listen) {
        tracing::warn!(listen = %config.listen, "serving plain http beyond loopback: set tls");
    }
    let cipher = crate::crypto::fields::Cipher::new(&secret_key)
        .map_err(|err| NodeError::Other(err.to_string()))?;
    let (db_config, _postgres) = services::open_database(&config, &data_dir).await?;
    let listen_config = db_config.clone();
    let worker_db_config = db_config.clone();
    let db = store::connect(db_config, POOL_SIZE).await?;
    let applied = store::migrate::run(&db).await?;
    if !applied.applied.is_empty() {
        tracing::info!(migrations = ?applied.applied, "schema migrated");
    }
    let (redis_url, _redis) = services::open_redis(&config, redis_config, &data_dir).await?;
    let redis = services::connect_redis(&redis_url).await?;
    store::credential_types::seed_managed(&db).await?;
    if config.preload_data && preload::run(&db).await? {
        tracing::info!("loaded the Default organization and the demo objects");
    }
    let install_uuid = store::settings::install_uuid(&db).await?;
    // The mesh CA and work-signing key always (joins need them); a mesh
    // node only with mesh_listen or mesh_peers.
    let control_mesh = Arc::new(mesh::start_control(&config, &db).await?);
    let (reaped, lost_units) = store::jobs::reap(&db, &config.node_name()).await?;
    if !reaped.is_empty() {
        // A crash left their processes running and their private data
        // dirs (secrets included) behind.
        let jobs_root = data_dir.join("jobs");
        for id in &reaped {
            mesh::stop_leftovers(&jobs_root.join(id.to_string()), true);
        }
        tracing::warn!(
            jobs = reaped.len(),
            "failed the jobs this node was running when it stopped"
        );
    }
    let node = NodeInfo {
        name: config.node_name(),
        role: config.role,
    };
    let job_cipher = crate::crypto::fields::Cipher::new(&secret_key)
        .map_err(|err| NodeError::Other(err.to_string()))?;
    let actors =
        actors::ActorHandles::start(&config, &node, &db, &data_dir, job_cipher, &control_mesh)
            .map_err(|err| NodeError::Other(err.to_string()))?;
    // The reaped runs' units in this node's own executor: kept for a
    // reader that will not come.
    for unit in lost_units {
        match ::mesh::WorkUnitId::new(unit.clone()) {
            Ok(unit) => {
                actix::spawn(crate::exec::remote::release_eventually(
                    actors.mesh_router.clone(),
                    control_mesh.node_id.clone(),
                    unit,
                ));
            }
            Err(err) => tracing::warn!(%unit, %err, "not a work unit id"),
        }
    }
    let auth_cache = Arc::new(api::auth::CredentialCache::default());
    crate::store::pool::spawn_io(listen::listen(
        listen_config,
        actors.task_manager.clone(),
        Arc::clone(&auth_cache),
    ));
    let announcer = store::schedule::Announcer::start(db.clone());
    let state = Arc::new(AppState {
        db,
        announcer,
        node: node.clone(),
        actors: actors.clone(),
        install_uuid,
        auth_cache,
        cipher: Arc::new(cipher),
        projects_root: data_dir.join("projects"),
    });
    let node_header = HeaderValue::from_str(&node.name).unwrap_or(HeaderValue::from_static("rawx"));
    if !actors.registered(REGISTRATION_WAIT).await {
        tracing::warn!("serving before this node's first heartbeat was recorded");
    }
    let server = HttpServer::new(move || {
        let node_header = node_header.clone();
        // Runs on each worker's thread: its requests query through a pool
        // of its own, driven by its own runtime (no hop to the database
        // I/O thread and back for every query).
        let worker_state = Arc::new(AppState {
            db: store::thread_pool(worker_db_config.clone(), WORKER_POOL_SIZE),
            ..AppState::clone(&state)
        });
        App::new()
            .app_data(web::Data::new(worker_state))
            .app_data(web::Data::new(Arc::clone(&control_mesh)))
            .app_data(web::JsonConfig::default().limit(MAX_JSON_BODY))
            .app_data(web::PayloadConfig::new(MAX_JSON_BODY))
            .wrap(from_fn(move |req, next| {
                api::headers::awx_headers(node_header.clone(), req, next)
            }))
            .configure(api::configure)
    })
    .workers(HTTP_WORKERS)
    .shutdown_timeout(10);
    let listen_error = |source| NodeError::Listen {
        addr: config.listen.clone(),
        source,
    };
    let server = match tls_config {
        Some(tls) => server
            .bind_rustls_0_23(&config.listen, tls)
            .map_err(listen_error)?,
        None => server.bind(&config.listen).map_err(listen_error)?,
    }
    .run();
    let scheme = if config.tls.is_empty() {
        "http"
    } else {
        "https"
    };
    tracing::info!(listen = %config.listen, %scheme, node = %node.name, role = %node.role, "rawx is serving");
    // actix-web stops gracefully on SIGINT, SIGTERM and SIGQUIT.
    let served = server.await;
    tracing::info!("shutting down");
    actors.shutdown();
    let _ = fred::interfaces::ClientLike::quit(&redis).await;
    // `_redis` and `_postgres` drop after this, stopping the embedded services.
    served.map_err(|err| NodeError::Other(format!("http server: {err}")))
}
