//! A project update's run, the way AWX does it: a small playbook on
//! localhost brings the project's cache up to date with the git module and
//! reports the commit it checked out, so the update has events and stdout
//! like any job.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::dispatch::{AfterRun, Executor, Prepared, RunError, prepare_dirs, setup, write_private};
use crate::store::project_updates;

/// The playbook's name in the update's private data dir.
const PLAYBOOK_NAME: &str = "project_update.yml";

const PLAYBOOK: &str = r#"---
- name: Update source tree if necessary
  hosts: localhost
  gather_facts: false
  connection: local
  tasks:
    - name: Delete the project directory before the update
      ansible.builtin.file:
        path: "{{ project_path }}"
        state: absent
      when: scm_delete_on_update | bool

    - name: Update the project using git
      ansible.builtin.git:
        dest: "{{ project_path }}"
        repo: "{{ scm_url }}"
        version: "{{ scm_branch }}"
        refspec: "{{ scm_refspec | default(omit, true) }}"
        force: "{{ scm_clean | bool }}"
        track_submodules: "{{ scm_track_submodules | bool }}"
        accept_hostkey: true
      register: git_result
      no_log: "{{ scm_url_has_secret | bool }}"

    - name: Set the git repository version
      ansible.builtin.set_fact:
        scm_version: "{{ git_result['after'] }}"
      when: "'after' in git_result"
"#;

const INVENTORY: &str = "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n";

impl Executor {
    /// Writes the update's playbook, inventory and variables for update `id`.
    pub(super) async fn prepare_update(&self, id: i64, pdd: &Path) -> Result<Prepared, RunError> {
        let spec = project_updates::spec(&self.db, id)
            .await?
            .ok_or_else(|| RunError::Setup("the project update is gone".into()))?;
        if spec.scm_type != "git" {
            return Err(RunError::Setup(format!(
                "rawx updates git projects only, not {:?}",
                spec.scm_type
            )));
        }
        prepare_dirs(pdd)?;
        std::fs::create_dir_all(pdd.join("project")).map_err(|e| setup("private data dir", e))?;
        write_private(
            &pdd.join("project").join(PLAYBOOK_NAME),
            PLAYBOOK.as_bytes(),
            0o600,
        )?;
        write_private(
            &pdd.join("inventory/hosts.yml"),
            INVENTORY.as_bytes(),
            0o600,
        )?;
        std::fs::create_dir_all(&self.projects_root).map_err(|e| setup("projects dir", e))?;
        let cache = crate::scm::cache_dir(&self.projects_root, spec.project);

        let mut url = spec.scm_url.clone();
        let mut url_has_secret = false;
        if let Some(credential) = spec.credential {
            let injection =
                super::credentials::scm_injection(&self.db, &self.cipher, credential, pdd)
                    .await
                    .map_err(|e| setup("credentials", e))?;
            let field = |name: &str| {
                injection
                    .extra_vars
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            if let Some(with_user) =
                url_with_user(&url, &field("scm_username"), &field("scm_password"))
            {
                url_has_secret = !field("scm_password").is_empty();
                url = with_user;
            }
        }
        let mut extra_vars = Map::new();
        for (key, value) in [
            ("project_path", Value::String(cache.display().to_string())),
            ("scm_url", Value::String(url)),
            (
                "scm_branch",
                Value::String(if spec.scm_branch.is_empty() {
                    "HEAD".into()
                } else {
                    spec.scm_branch.clone()
                }),
            ),
            ("scm_refspec", Value::String(spec.scm_refspec.clone())),
            ("scm_clean", Value::Bool(spec.scm_clean)),
            (
                "scm_delete_on_update",
                Value::Bool(spec.scm_delete_on_update),
            ),
            (
                "scm_track_submodules",
                Value::Bool(spec.scm_track_submodules),
            ),
            ("scm_url_has_secret", Value::Bool(url_has_secret)),
            ("awx_project_update_id", Value::from(spec.id)),
        ] {
            extra_vars.insert(key.into(), value);
        }
        write_private(
            &pdd.join("env/extravars"),
            Value::Object(extra_vars).to_string().as_bytes(),
            0o600,
        )?;
        let mut kwargs = Map::new();
        let env = serde_json::json!({"PROJECT_UPDATE_ID": spec.id.to_string(), "ANSIBLE_FORCE_COLOR": "True",
                                     "GIT_TERMINAL_PROMPT": "0"});
        kwargs.insert("envvars".into(), env.clone());
        Ok(Prepared {
            created: spec.created,
            playbook: PLAYBOOK_NAME.into(),
            kwargs,
            host_ids: HashMap::new(),
            timeout: spec.timeout,
            shown_env: env.as_object().cloned().unwrap_or_default(),
            after: AfterRun::ProjectUpdate {
                project: spec.project,
                cache,
            },
        })
    }
}

/// An http(s) URL with the credential's user (and password or token), as
/// AWX passes it to git; `None` for other schemes, whose credentials travel
/// another way (an SSH key in the agent).
fn url_with_user(url: &str, username: &str, password: &str) -> Option<String> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") || (username.is_empty() && password.is_empty()) {
        return None;
    }
    // A user already in the URL gives way to the credential's.
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match path {
        Some(path) => format!("{host}/{path}"),
        None => host.to_string(),
    };
    let user = utf8_percent_encode(
        if username.is_empty() { "git" } else { username },
        NON_ALPHANUMERIC,
    );
    Some(if password.is_empty() {
        format!("{scheme}://{user}@{host}")
    } else {
        let password = utf8_percent_encode(password, NON_ALPHANUMERIC);
        format!("{scheme}://{user}:{password}@{host}")
    })
}

#[cfg(test)]
mod tests {
    use super::url_with_user;

    #[test]
    fn credentials_go_into_http_urls_only() {
        assert_eq!(
            url_with_user("https://old@git.example/r.git", "me", "p@ss").as_deref(),
            Some("https://me:p%40ss@git.example/r.git")
        );
        assert_eq!(
            url_with_user("https://git.example/r.git", "", "tok").as_deref(),
            Some("https://git:tok@git.example/r.git")
        );
        assert_eq!(url_with_user("ssh://git@host/r.git", "me", "pw"), None);
        assert_eq!(url_with_user("file:///srv/r.git", "me", "pw"), None);
        assert_eq!(url_with_user("https://git.example/r.git", "", ""), None);
    }
}
