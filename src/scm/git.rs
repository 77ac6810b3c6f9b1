//! The git operations a job needs from its project's cache: which commit a
//! branch names there, and a private copy of the tree at one commit.

use std::path::Path;

use tokio::process::Command;

/// A git command that failed, with what git said.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {command}: {message}")]
    Failed { command: String, message: String },
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Never ask anyone anything: a job has no terminal.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(GitError::Spawn)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(GitError::Failed {
            command: args.first().copied().unwrap_or_default().to_string(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// The commit `reference` (a branch of the origin, a tag or a commit) names
/// in the checkout at `repo`.
pub async fn resolve(repo: &Path, reference: &str) -> Result<String, GitError> {
    let mut last = None;
    for candidate in [
        format!("refs/remotes/origin/{reference}"),
        format!("refs/tags/{reference}"),
        reference.to_string(),
    ] {
        match git(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{candidate}^{{commit}}"),
            ],
        )
        .await
        {
            Ok(commit) if !commit.is_empty() => return Ok(commit),
            Ok(_) => {}
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or(GitError::Failed {
        command: "rev-parse".into(),
        message: format!("{reference} is not a branch, tag or commit of the project"),
    }))
}

/// The commit checked out at `repo`.
pub async fn head(repo: &Path) -> Result<String, GitError> {
    git(repo, &["rev-parse", "HEAD"]).await
}

/// Copies the repository at `cache` to `dest` with `commit` checked out.
/// A local clone hard-links the objects, so it is quick and the copy stays
/// whole if the cache is updated or deleted while the job runs.
pub async fn copy_at(cache: &Path, dest: &Path, commit: &str) -> Result<(), GitError> {
    let parent = dest.parent().unwrap_or(dest);
    let output = Command::new("git")
        .arg("-C")
        .arg(parent)
        .args(["clone", "--quiet", "--local", "--no-checkout"])
        .arg(cache)
        .arg(dest)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(GitError::Spawn)?;
    if !output.status.success() {
        return Err(GitError::Failed {
            command: "clone".into(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    git(
        dest,
        &[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "--detach",
            commit,
        ],
    )
    .await?;
    if dest.join(".gitmodules").is_file() {
        git(
            dest,
            &["submodule", "--quiet", "update", "--init", "--recursive"],
        )
        .await?;
    }
    Ok(())
}
