//! What the integration tests share: a database of their own, a `rawx`
//! process of their own, and a few readers of /proc.
#![allow(dead_code)]

pub mod api;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

/// The server the tests may create databases on (`scripts/test.sh` sets it).
pub fn admin_url() -> String {
    std::env::var("RAWX_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://rawx:rawx@127.0.0.1:5432/postgres".into())
}

/// The Redis the tests use.
pub fn redis_url() -> String {
    std::env::var("RAWX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database with a random name, dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

fn with_dbname(url: &str, name: &str) -> String {
    let mut config: tokio_postgres::Config = url.parse().expect("RAWX_TEST_DATABASE_URL parses");
    config.dbname(name);
    // Rebuild a URL tokio-postgres and rawx both read: key=value form.
    let mut parts = vec![format!("dbname={name}")];
    if let Some(user) = config.get_user() {
        parts.push(format!("user={user}"));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!("password={}", String::from_utf8_lossy(password)));
    }
    for host in config.get_hosts() {
        match host {
            tokio_postgres::config::Host::Tcp(host) => parts.push(format!("host={host}")),
            tokio_postgres::config::Host::Unix(path) => {
                parts.push(format!("host={}", path.display()))
            }
        }
    }
    if let Some(port) = config.get_ports().first() {
        parts.push(format!("port={port}"));
    }
    parts.join(" ")
}

async fn admin_client() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .expect("connect to RAWX_TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
}

impl TestDb {
    /// Creates the database.
    pub async fn create() -> TestDb {
        let suffix: u64 = rand_u64();
        let name = format!("rawx_test_{suffix:016x}");
        admin_client()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        TestDb {
            url: with_dbname(&admin_url(), &name),
            name,
        }
    }

    /// A client on this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls)
            .await
            .expect("connect to test database");
        tokio::spawn(connection);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on itself.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let _ = admin_client()
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("urandom");
    u64::from_le_bytes(bytes)
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The `rawx` binary with a clean environment: no RAWX_* from the caller.
pub fn rawx() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rawx"));
    for (key, _) in std::env::vars() {
        if key.starts_with("RAWX_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `rawx` to the end; returns its status, stdout and stderr.
pub fn run(cmd: &mut Command) -> (ExitStatus, String, String) {
    let out = cmd.output().expect("run rawx");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `rawx server` process, killed if the test forgets to stop it.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
    pub data_dir: tempfile::TempDir,
    port: u16,
    env: Vec<(String, String)>,
}

impl Server {
    /// Starts `rawx server` on a free port with a fresh data dir and `env`.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let data_dir = tempfile::tempdir().expect("data dir");
        let port = free_port();
        let log = data_dir.path().join("server.log");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = Self::spawn(data_dir.path(), port, &env, &log);
        let tls = env
            .iter()
            .any(|(key, value)| key == "RAWX_TLS" && !value.is_empty());
        let scheme = if tls { "https" } else { "http" };
        Server {
            child,
            base: format!("{scheme}://127.0.0.1:{port}"),
            log,
            data_dir,
            port,
            env,
        }
    }

    fn spawn(data_dir: &Path, port: u16, env: &[(String, String)], log: &Path) -> Child {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut cmd = rawx();
        cmd.arg("server")
            .env("RAWX_LISTEN", format!("127.0.0.1:{port}"))
            .env("RAWX_DATA_DIR", data_dir)
            .env("RAWX_HEARTBEAT_INTERVAL", "1")
            .env("RAWX_NODE_NAME", format!("node-{port}"))
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file);
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.spawn().expect("spawn rawx server")
    }

    /// Kills the server (SIGKILL: a crash, nothing cleaned up) and starts it
    /// again on the same port, data dir and settings.
    pub fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self.data_dir.path(), self.port, &self.env, &self.log);
    }

    /// The node name the server was given.
    pub fn node_name(&self) -> String {
        format!("node-{}", self.base.rsplit(':').next().unwrap_or_default())
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until ping answers 200; panics with the log if the server exits
    /// or does not come up within `limit`.
    pub async fn wait_ready(&mut self, limit: Duration) {
        // Self-signed certificates are the point of some tests; readiness is not.
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rawx server exited with {status}:\n{}", self.log());
            }
            if let Ok(res) = client
                .get(format!("{}/api/v2/ping/", self.base))
                .send()
                .await
                && res.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "rawx server not ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        signal(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rawx ignored SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends a signal by name with kill(1), keeping the tests free of unsafe code.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// Every descendant of `pid`, with its command line.
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((child, ppid));
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, ppid) in &parent_of {
            if *ppid == parent {
                let cmdline = std::fs::read(format!("/proc/{child}/cmdline"))
                    .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
                    .unwrap_or_default();
                found.push((*child, cmdline));
                frontier.push(*child);
            }
        }
    }
    found
}

/// Where the tests find the repository's files.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs git in `dir` as a test author; returns its stdout, trimmed, and
/// panics with git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The venv with ansible-runner: `RAWX_VENV`, else where the scripts build it.
pub fn venv() -> PathBuf {
    std::env::var_os("RAWX_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rawx/venv")))
        .expect("RAWX_VENV or HOME")
}

/// A UDP port nothing is bound to right now (for a mesh listener).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free udp port")
}

/// Polls `check` until it returns Some, or panics with `what` once
/// `patience` has run out (a bound, never a timed assertion).
pub async fn eventually<T, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A child process (a mesh node) killed when the test ends; its output is
/// appended to `log`, so a restarted node keeps one log.
pub struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(cmd: &mut Command, log: &Path) -> Proc {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log");
        let child = cmd
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn rawx");
        Proc {
            child,
            log: log.to_owned(),
        }
    }

    /// What the process wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("rawx exited with {status}:\n{}", self.log());
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until no process names `work` (a node's private data dirs);
/// after `patience`, panics naming those left.
/// Whether some process's command line contains `pattern`.
pub fn process_running(pattern: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|cmd| {
            String::from_utf8_lossy(&cmd)
                .replace('\0', " ")
                .contains(pattern)
        })
}

pub async fn no_process_left(work: &Path, patience: Duration, when: &str) {
    let deadline = Instant::now() + patience;
    loop {
        let left = rawx::exec::runner::processes_mentioning(work);
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let described: Vec<String> = left
                .iter()
                .map(|pid| {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    format!(
                        "{pid}: {}",
                        String::from_utf8_lossy(&cmdline).replace('\0', " ")
                    )
                })
                .collect();
            panic!("processes left {when}:\n{}", described.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
