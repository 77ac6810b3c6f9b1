//! Child processes that are stopped when their guard is dropped, and finding
//! the binaries to run.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::EmbeddedError;

/// How long a service gets to stop after its stop signal before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// A running service; dropping the guard stops it and waits for it.
pub struct ChildGuard {
    name: &'static str,
    child: Child,
    stop_signal: Signal,
}

impl ChildGuard {
    /// Guards `child`, which stops on `stop_signal`.
    pub fn new(name: &'static str, child: Child, stop_signal: Signal) -> Self {
        ChildGuard {
            name,
            child,
            stop_signal,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has exited, and how.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Signals the process and waits for it, escalating to SIGKILL.
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let Ok(raw) = i32::try_from(self.child.id()) else {
            return;
        };
        let pid = Pid::from_raw(raw);
        if kill(pid, self.stop_signal).is_err() {
            let _ = self.child.wait();
            return;
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                tracing::info!(service = self.name, "stopped");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(service = self.name, "did not stop in time; killing");
        let _ = kill(pid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Finds `binary` on PATH or in `extra` directories (searched in order).
pub fn find_binary(
    binary: &'static str,
    package: &'static str,
    extra: &[PathBuf],
) -> Result<PathBuf, EmbeddedError> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .iter()
        .chain(extra.iter())
        .map(|dir| dir.join(binary))
        .find(|candidate| is_executable(candidate))
        .ok_or(EmbeddedError::Missing { binary, package })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The last `lines` lines of a log file, joined with " | ", for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(lines).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_binary_names_its_package() {
        let err =
            super::find_binary("rawx-no-such-binary", "some-package", &[]).expect_err("not found");
        assert_eq!(
            err.to_string(),
            "rawx-no-such-binary not found: install some-package"
        );
    }
}
