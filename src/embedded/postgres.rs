//! A private PostgreSQL cluster under `<data_dir>/postgres`, reachable only
//! through a Unix socket in `<data_dir>/run/postgres`.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid, User};
use tokio_postgres::NoTls;

use super::EmbeddedError;
use super::process::{ChildGuard, find_binary, log_tail};

/// The database and superuser the embedded cluster is created with.
pub const DATABASE: &str = "rawx";
const SUPERUSER: &str = "rawx";
/// The port only names the socket file (`.s.PGSQL.5432`); TCP is off.
const PORT: u16 = 5432;
/// How long a starting cluster may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running embedded cluster; stops with the guard it holds, if this
/// process started it.
pub struct EmbeddedPostgres {
    socket_dir: PathBuf,
    guard: Option<ChildGuard>,
}

impl EmbeddedPostgres {
    /// Connection settings for the rawx database.
    pub fn config(&self) -> tokio_postgres::Config {
        connect_config(&self.socket_dir, DATABASE)
    }

    /// The postmaster's pid, when this process started it.
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(ChildGuard::pid)
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }
}

fn connect_config(socket_dir: &Path, dbname: &str) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host_path(socket_dir)
        .port(PORT)
        .user(SUPERUSER)
        .dbname(dbname)
        .application_name("rawx")
        .connect_timeout(Duration::from_secs(5));
    config
}

/// Debian keeps the server binaries out of PATH, under a versioned directory.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// The account the server runs as: PostgreSQL refuses to run as root.
fn server_account() -> Result<Option<(Uid, Gid)>, EmbeddedError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(user)) = User::from_name(name) {
            return Ok(Some((user.uid, user.gid)));
        }
    }
    Err(EmbeddedError::Failed {
        service: "postgresql",
        detail:
            "running as root and neither a `postgres` nor a `nobody` account exists to run it as"
                .into(),
    })
}

fn private_dir(path: &Path, owner: Option<(Uid, Gid)>) -> Result<(), EmbeddedError> {
    let io = |source| EmbeddedError::Io {
        what: "cannot create",
        path: path.to_path_buf(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io)?;
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(path, Some(uid), Some(gid))
            .map_err(|errno| io(std::io::Error::from(errno)))?;
    }
    Ok(())
}

/// Lets the server's account walk into `data_dir` (it only needs search
/// permission there, never read).
fn traversable(data_dir: &Path) -> Result<(), EmbeddedError> {
    let io = |source| EmbeddedError::Io {
        what: "cannot open up",
        path: data_dir.to_path_buf(),
        source,
    };
    let mode = fs::metadata(data_dir).map_err(io)?.permissions().mode();
    if mode & 0o001 == 0 {
        fs::set_permissions(
            data_dir,
            fs::Permissions::from_mode((mode & 0o7777) | 0o011),
        )
        .map_err(io)?;
    }
    Ok(())
}

async fn accepts(config: &tokio_postgres::Config) -> bool {
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            drop(client);
            drop(connection);
            true
        }
        Err(_) => false,
    }
}

/// Connects to the data dir's cluster, starting it (and creating it on first
/// use) unless another rawx process already runs it.
pub async fn open(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
    let base = data_dir.join("postgres");
    let pgdata = base.join("data");
    let socket_dir = data_dir.join("run").join("postgres");
    if socket_dir.join(format!(".s.PGSQL.{PORT}")).exists()
        && accepts(&connect_config(&socket_dir, "postgres")).await
    {
        let cluster = EmbeddedPostgres {
            socket_dir,
            guard: None,
        };
        ensure_database(&cluster).await?;
        return Ok(cluster);
    }

    let initdb = find_binary("initdb", "postgresql", &debian_bin_dirs())?;
    let bin_dir = initdb.parent().map(Path::to_path_buf).unwrap_or_default();
    let postgres = find_binary("postgres", "postgresql", &[bin_dir])?;
    let owner = server_account()?;
    if owner.is_some() {
        traversable(data_dir)?;
    }
    private_dir(&base, owner)?;
    fs::create_dir_all(data_dir.join("run")).map_err(|source| EmbeddedError::Io {
        what: "cannot create",
        path: data_dir.join("run"),
        source,
    })?;
    if owner.is_some() {
        traversable(&data_dir.join("run"))?;
    }
    private_dir(&socket_dir, owner)?;

    if !pgdata.join("PG_VERSION").exists() {
        tracing::info!(path = %pgdata.display(), "creating the embedded PostgreSQL cluster");
        let log = base.join("initdb.log");
        let mut initdb_cmd = server_command(&initdb, owner, &log)?;
        initdb_cmd.arg("-D").arg(&pgdata).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let status = initdb_cmd.status().map_err(|source| EmbeddedError::Io {
            what: "cannot run",
            path: initdb.clone(),
            source,
        })?;
        if !status.success() {
            return Err(EmbeddedError::Failed {
                service: "initdb",
                detail: format!("{status}: {}", log_tail(&log, 3)),
            });
        }
    }

    let log = base.join("postgres.log");
    let mut server = server_command(&postgres, owner, &log)?;
    server
        .arg("-D")
        .arg(&pgdata)
        .arg("-k")
        .arg(&socket_dir)
        .args([
            "-p",
            &PORT.to_string(),
            "-c",
            "listen_addresses=",
            "-c",
            "unix_socket_permissions=0700",
        ]);
    let child = server.spawn().map_err(|source| EmbeddedError::Io {
        what: "cannot run",
        path: postgres.clone(),
        source,
    })?;
    // SIGINT is PostgreSQL's "fast" shutdown: sessions end, data is flushed.
    let mut guard = ChildGuard::new("postgresql", child, Signal::SIGINT);
    tracing::info!(pid = guard.pid(), "embedded PostgreSQL starting");

    let probe = connect_config(&socket_dir, "postgres");
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = guard.exited() {
            return Err(EmbeddedError::Failed {
                service: "postgresql",
                detail: format!("exited with {status}: {}", log_tail(&log, 3)),
            });
        }
        if accepts(&probe).await {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(EmbeddedError::Failed {
                service: "postgresql",
                detail: format!(
                    "not accepting connections after {}s: {}",
                    START_TIMEOUT.as_secs(),
                    log_tail(&log, 3)
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cluster = EmbeddedPostgres {
        socket_dir,
        guard: Some(guard),
    };
    ensure_database(&cluster).await?;
    Ok(cluster)
}

/// A command for a server binary: a clean environment, the server's account,
/// output appended to `log`.
fn server_command(
    binary: &Path,
    owner: Option<(Uid, Gid)>,
    log: &Path,
) -> Result<Command, EmbeddedError> {
    let open_log = || {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| EmbeddedError::Io {
                what: "cannot open",
                path: log.to_path_buf(),
                source,
            })
    };
    let stdout = open_log()?;
    let stderr = open_log()?;
    if let Some((uid, gid)) = owner {
        nix::unistd::chown(log, Some(uid), Some(gid)).ok();
    }
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .current_dir("/");
    if let Some((uid, gid)) = owner {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
    }
    // Own process group: a Ctrl-C at the terminal reaches rawx, which then
    // stops the server in order, instead of reaching both at once.
    cmd.process_group(0);
    Ok(cmd)
}

async fn ensure_database(cluster: &EmbeddedPostgres) -> Result<(), EmbeddedError> {
    let failed = |err: tokio_postgres::Error| EmbeddedError::Failed {
        service: "postgresql",
        detail: err.to_string(),
    };
    let (client, connection) = connect_config(&cluster.socket_dir, "postgres")
        .connect(NoTls)
        .await
        .map_err(failed)?;
    let driver = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&DATABASE])
        .await
        .map_err(failed)?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .await
            .map_err(failed)?;
    }
    drop(client);
    driver.abort();
    Ok(())
}
