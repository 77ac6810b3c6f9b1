//! A private redis-server under `<data_dir>/redis`, on a Unix socket only.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::EmbeddedError;
use super::process::{ChildGuard, find_binary, log_tail};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running embedded redis-server.
pub struct EmbeddedRedis {
    socket: PathBuf,
    guard: Option<ChildGuard>,
}

impl EmbeddedRedis {
    /// The URL clients connect with.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// The server's pid, when this process started it.
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(ChildGuard::pid)
    }

    /// Stops the server if this process started it.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }
}

fn answers_ping(socket: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// Starts the data dir's redis-server unless one already answers there.
pub async fn open(data_dir: &Path) -> Result<EmbeddedRedis, EmbeddedError> {
    let dir = data_dir.join("redis");
    let run = data_dir.join("run");
    let socket = run.join("redis.sock");
    if answers_ping(&socket) {
        return Ok(EmbeddedRedis {
            socket,
            guard: None,
        });
    }
    let binary = find_binary(
        "redis-server",
        "redis-server",
        &[PathBuf::from("/usr/sbin")],
    )?;
    for path in [&dir, &run] {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| EmbeddedError::Io {
                what: "cannot create",
                path: path.clone(),
                source,
            })?;
    }
    let log = dir.join("redis.log");
    // A stale socket from a killed run would make redis refuse to bind.
    let _ = fs::remove_file(&socket);
    let child = Command::new(&binary)
        .args(["--port", "0", "--unixsocket"])
        .arg(&socket)
        .args([
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .arg("--pidfile")
        .arg(run.join("redis.pid"))
        .arg("--logfile")
        .arg(&log)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir(&dir)
        .process_group(0)
        .spawn()
        .map_err(|source| EmbeddedError::Io {
            what: "cannot run",
            path: binary.clone(),
            source,
        })?;
    let mut guard = ChildGuard::new("redis", child, Signal::SIGTERM);
    tracing::info!(pid = guard.pid(), "embedded redis starting");
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = guard.exited() {
            return Err(EmbeddedError::Failed {
                service: "redis-server",
                detail: format!("exited with {status}: {}", log_tail(&log, 3)),
            });
        }
        if answers_ping(&socket) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(EmbeddedError::Failed {
                service: "redis-server",
                detail: format!(
                    "no answer after {}s: {}",
                    START_TIMEOUT.as_secs(),
                    log_tail(&log, 3)
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(EmbeddedRedis {
        socket,
        guard: Some(guard),
    })
}
