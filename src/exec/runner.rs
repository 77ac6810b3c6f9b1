//! ansible-runner's streaming worker, as AWX drives it through Receptor:
//! `ansible-runner worker` reads the run's kwargs on stdin and writes its
//! status, every event as it happens, and the artifacts on stdout, one JSON
//! document a line. The private data dir is on this node's disk, so only
//! the kwargs travel (AWX's `only_transmit_kwargs`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// What one run needs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The private data dir (`project/`, `inventory/`, `env/`).
    pub private_data_dir: PathBuf,
    /// The run's identifier (the job id), which names `artifacts/<ident>`.
    pub ident: String,
    /// The playbook, relative to `project/`; empty for ad hoc commands and
    /// inventory updates.
    pub playbook: String,
    /// Further `ansible_runner.run` keyword arguments (limit, forks, ...).
    pub kwargs: Map<String, Value>,
    /// The venv holding ansible-runner and ansible-playbook.
    pub venv: PathBuf,
}

/// One message of the worker's stream.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerMessage {
    /// `starting`, `running`, then `successful`, `failed`, `canceled`,
    /// `timeout` or `error` (with AWX's explanation when the worker gives one).
    Status { status: String, explanation: String },
    /// One event, as ansible-runner emits it.
    Event(Value),
    /// The zipped `artifacts/<ident>` directory (rc, status, stdout, ...).
    Artifacts(Vec<u8>),
    /// The stream ended as the protocol says it must.
    Eof,
}

/// A run could not be started or its stream broke.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("ansible-runner not found at {0}: build the venv (scripts/lib.sh ensure_venv)")]
    Missing(PathBuf),
    #[error("cannot start ansible-runner: {0}")]
    Spawn(std::io::Error),
    #[error("lost the stream from ansible-runner: {0}")]
    Io(std::io::Error),
    #[error("Failed to JSON parse a line from worker stream: {0}")]
    BadLine(String),
    #[error("Unexpected empty line from worker stream; check execution node health")]
    Truncated,
}

/// The PATH a run sees: the venv, then the system's, never a version
/// manager's shims, so interpreter discovery finds a real Python.
pub fn clean_path(venv: &Path) -> String {
    format!(
        "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        venv.join("bin").display()
    )
}

/// A started run: its process, and the stream of its messages.
pub struct Run {
    pub child: Child,
    pub messages: mpsc::Receiver<Result<RunnerMessage, RunnerError>>,
}

/// Starts `ansible-runner worker` for `spec`.
pub async fn start(spec: &RunSpec) -> Result<Run, RunnerError> {
    let runner = spec.venv.join("bin/ansible-runner");
    if !runner.exists() {
        return Err(RunnerError::Missing(runner));
    }
    let mut command = Command::new(&runner);
    command
        .arg("worker")
        .arg("--private-data-dir")
        .arg(&spec.private_data_dir)
        .env_clear()
        .env("PATH", clean_path(&spec.venv))
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(&spec.private_data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so a cancel can signal the whole run.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(RunnerError::Spawn)?;
    let input = worker_input(spec)?;
    let mut stdin = child.stdin.take().ok_or(RunnerError::Truncated)?;
    stdin.write_all(&input).await.map_err(RunnerError::Io)?;
    drop(stdin);
    let stdout = child.stdout.take().ok_or(RunnerError::Truncated)?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(read_stream(BufReader::new(stdout), tx));
    Ok(Run {
        child,
        messages: rx,
    })
}

/// What `ansible-runner worker` reads on stdin for `spec`: the kwargs line
/// (with the playbook and ident) and the eof line; the private data dir
/// must already hold the run's files.
pub fn worker_input(spec: &RunSpec) -> Result<Vec<u8>, RunnerError> {
    let mut kwargs = spec.kwargs.clone();
    // No playbook: the kwargs name a module (ad hoc) or a binary (inventory).
    if !spec.playbook.is_empty() {
        kwargs.insert("playbook".into(), Value::String(spec.playbook.clone()));
    }
    kwargs.insert("ident".into(), Value::String(spec.ident.clone()));
    let mut input = serde_json::to_vec(&json!({ "kwargs": kwargs }))
        .map_err(|e| RunnerError::BadLine(e.to_string()))?;
    input.extend_from_slice(b"\n{\"eof\": true}\n");
    Ok(input)
}

/// The nice value of job processes.
const JOB_NICENESS: i32 = 10;

/// Lowers a new run's process group below the node's own priority: with
/// a hundred playbooks busy on two cores, the threads that write their
/// results (and the rest of the control plane) would otherwise wait behind
/// all of them for every wake-up, and the run's own database work with them.
/// Its processes inherit the value, whatever session they move to.
pub fn lower_priority(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|pid| i32::try_from(pid).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(err) = rustix::process::setpriority_pgrp(Some(pid), JOB_NICENESS) {
        tracing::debug!(pid = pid.as_raw_nonzero().get(), %err, "could not lower a run's priority");
    }
}

/// Parses a worker's stream (ansible-runner's JSON lines, the artifacts
/// zip glued in as base64) from `reader` into `tx`, until the eof line, an
/// error, or `tx` closing. Shared by local runs (the worker's stdout) and
/// mesh runs (a work unit's output), so both are read the same way.
pub async fn read_stream<R: tokio::io::AsyncBufRead + Unpin>(
    mut reader: R,
    tx: mpsc::Sender<Result<RunnerMessage, RunnerError>>,
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => {
                let _ = tx.send(Err(RunnerError::Truncated)).await;
                return;
            }
            Ok(_) => {}
            Err(err) => {
                let _ = tx.send(Err(RunnerError::Io(err))).await;
                return;
            }
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(_) => {
                let _ = tx
                    .send(Err(RunnerError::BadLine(text.chars().take(200).collect())))
                    .await;
                return;
            }
        };
        let message = if value.get("eof").and_then(Value::as_bool) == Some(true) {
            let _ = tx.send(Ok(RunnerMessage::Eof)).await;
            return;
        } else if let Some(size) = value.get("zipfile").and_then(Value::as_u64) {
            // Base64 of `size` bytes follows with no newline, then the eof line.
            let encoded_len = size.div_ceil(3) * 4;
            let mut encoded = vec![0u8; usize::try_from(encoded_len).unwrap_or(0)];
            if let Err(err) = reader.read_exact(&mut encoded).await {
                let _ = tx.send(Err(RunnerError::Io(err))).await;
                return;
            }
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(&encoded) {
                Ok(bytes) => RunnerMessage::Artifacts(bytes),
                Err(err) => {
                    let _ = tx
                        .send(Err(RunnerError::BadLine(format!("artifacts: {err}"))))
                        .await;
                    return;
                }
            }
        } else if value.get("event").is_some() {
            RunnerMessage::Event(value)
        } else if let Some(status) = value.get("status").and_then(Value::as_str) {
            RunnerMessage::Status {
                status: status.to_string(),
                explanation: value
                    .get("job_explanation")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }
        } else {
            continue;
        };
        if tx.send(Ok(message)).await.is_err() {
            return;
        }
    }
}

/// Every process below `root` now, read from /proc (children before their
/// parents are lost: ansible-core 2.19's forks call setsid(), so signalling
/// the worker's process group alone would leave them running).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: parse after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(
            parents
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    tree
}

/// Sends `signal` to each process of `pids` that still exists.
pub fn signal_all(pids: &[u32], signal: nix::sys::signal::Signal) {
    for pid in pids {
        if let Ok(raw) = i32::try_from(*pid) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), signal);
        }
    }
}

/// Processes whose command line names `dir`: what a run leaves behind
/// outside its process tree (ssh connection masters under the run's
/// control-path dir, the ssh-agent holding its key until it notices its
/// parent is gone).
pub fn processes_mentioning(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    // `jobs/1` must not match `jobs/10`: the path ends where a name does.
    let names = |cmdline: &str| {
        cmdline.match_indices(&needle).any(|(at, _)| {
            cmdline[at + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == '/' || c == ' ' || c == '"' || c == '\'')
        })
    };
    let own = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid != own && names(&cmdline)).then_some(pid)
        })
        .collect()
}

#[cfg(test)]
mod leftovers {
    #[test]
    fn a_run_dir_names_only_its_own_processes() {
        // A compound command keeps the shell (and its $0, the path) alive
        // instead of exec'ing the sleep.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30; :", "/tmp/rawx-leftover-test/jobs/10/cp"])
            .spawn()
            .expect("sleep");
        // Until the child has exec'd, /proc shows this test's command line.
        let cmdline = format!("/proc/{}/cmdline", child.id());
        for _ in 0..200 {
            if std::fs::read(&cmdline)
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("rawx-leftover-test"))
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found =
            super::processes_mentioning(std::path::Path::new("/tmp/rawx-leftover-test/jobs/1"));
        let own =
            super::processes_mentioning(std::path::Path::new("/tmp/rawx-leftover-test/jobs/10"));
        let _ = child.kill();
        let _ = child.wait();
        assert!(!found.contains(&child.id()));
        assert!(own.contains(&child.id()));
    }
}
