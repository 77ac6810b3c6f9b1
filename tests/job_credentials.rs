//! Credentials injected into real runs: a machine credential logs in to a
//! real sshd with a passphrase-protected key and becomes another user;
//! vault credentials decrypt vaulted variables; a custom credential type
//! reaches the play through its injectors; a Source Control credential's
//! key fetches a project over SSH from that sshd. No secret shows in
//! stdout, in events or in the job, and the private data dir is gone
//! afterwards.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::api::{Api, LOCAL_HOST_VARS, Node};
use common::venv;
use serde_json::{Value, json};

fn current_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .expect("current user")
}

fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("run");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An sshd of our own on 127.0.0.1, stopped when dropped.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Starts sshd with its own host key, accepting `authorized_key`.
    fn start(authorized_key: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("sshd dir");
        let path = |name: &str| dir.path().join(name).display().to_string();
        run_ok(Command::new("ssh-keygen").args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &path("host_key"),
        ]));
        std::fs::write(dir.path().join("authorized_keys"), authorized_key).expect("keys");
        // As root, sshd wants its privilege separation directory, which the
        // package's service would create at boot.
        if nix::unistd::geteuid().is_root() {
            std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        }
        let config = format!(
            "ListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
             StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
            path("host_key"),
            path("authorized_keys"),
            path("sshd.pid"),
        );
        std::fs::write(dir.path().join("sshd_config"), config).expect("config");
        let port = common::free_port();
        let log = std::fs::File::create(dir.path().join("sshd.log")).expect("log");
        let child = Command::new("/usr/sbin/sshd")
            .args([
                "-D",
                "-e",
                "-f",
                &path("sshd_config"),
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start /usr/sbin/sshd (package openssh-server)");
        let mut sshd = Sshd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!("sshd exited with {status}:\n{}", sshd.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd not listening:\n{}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sshd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The id of the credential type named `name`.
async fn type_id(admin: &Api, name: &str) -> i64 {
    let (status, types) = admin
        .get(&format!(
            "/api/v2/credential_types/?name={}",
            name.replace(' ', "%20")
        ))
        .await;
    assert_eq!(status, 200, "{types}");
    types["results"][0]["id"].as_i64().expect("credential type")
}

/// An organization, a manual project holding `files`, an inventory with
/// one host, and a template on them with `credentials`.
async fn template(
    node: &Node,
    admin: &Api,
    files: &[(&str, &str)],
    host: (&str, &str),
    credentials: &[i64],
    extra: Value,
) -> Value {
    let dir = node.server.data_dir.path().join("projects/creds");
    std::fs::create_dir_all(&dir).expect("project dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("project file");
    }
    let org = organization(admin).await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "creds", "organization": org, "scm_type": "", "local_path": "creds"}),
        )
        .await;
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "targets", "organization": org}),
        )
        .await;
    admin
        .create(
            "/api/v2/hosts/",
            json!({"name": host.0, "inventory": inventory["id"], "variables": host.1}),
        )
        .await;
    let mut body = json!({"name": "with credentials", "project": project["id"],
                          "inventory": inventory["id"], "playbook": files[0].0});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let template = admin.create("/api/v2/job_templates/", body).await;
    let url = template["url"].as_str().expect("url").to_string();
    for id in credentials {
        let (status, body) = admin
            .post(&format!("{url}credentials/"), json!({"id": id}))
            .await;
        assert_eq!(status, 204, "attach credential {id}: {body}");
    }
    template
}

async fn organization(admin: &Api) -> Value {
    let (_, orgs) = admin.get("/api/v2/organizations/?name=Eng").await;
    if let Some(id) = orgs["results"][0].get("id") {
        return id.clone();
    }
    admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await["id"]
        .clone()
}

async fn credential(admin: &Api, name: &str, type_id: i64, inputs: Value) -> i64 {
    let org = organization(admin).await;
    admin
        .create(
            "/api/v2/credentials/",
            json!({"name": name, "credential_type": type_id, "organization": org, "inputs": inputs}),
        )
        .await["id"]
        .as_i64()
        .expect("credential id")
}

/// Launches the template and waits (bounded) until its events are stored.
async fn launch(admin: &Api, template: &Value) -> Value {
    let url = format!("{}launch/", template["url"].as_str().expect("url"));
    let (status, launched) = admin.post(&url, json!({})).await;
    assert_eq!(status, 201, "{launched}");
    let job_url = launched["url"].as_str().expect("job url").to_string();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (status, job) = admin.get(&job_url).await;
        assert_eq!(status, 200, "{job}");
        if job["event_processing_finished"] == true {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The job's stdout as text.
async fn stdout(admin: &Api, job: &Value) -> String {
    let url = format!("{}stdout/?format=txt", job["url"].as_str().expect("url"));
    admin
        .request(reqwest::Method::GET, &url)
        .send()
        .await
        .expect("stdout")
        .text()
        .await
        .expect("text")
}

/// Every event in the unified job's sub-list `list`, as one JSON text.
async fn events_at(admin: &Api, job: &Value, list: &str) -> String {
    let mut url = Some(format!(
        "{}{list}/?page_size=200&order_by=counter",
        job["url"].as_str().expect("url")
    ));
    let mut all = Vec::new();
    while let Some(page) = url {
        let (status, body) = admin.get(&page).await;
        assert_eq!(status, 200, "{body}");
        all.extend(body["results"].as_array().cloned().unwrap_or_default());
        url = body["next"].as_str().map(str::to_string);
    }
    assert!(!all.is_empty(), "the job has events");
    Value::Array(all).to_string()
}

/// Asserts no `secret` (nor any line of a multi-line one) is in what the
/// API shows of the job.
async fn assert_nowhere(admin: &Api, job: &Value, secrets: &[&str]) {
    assert_nowhere_in(admin, job, "job_events", secrets).await;
}

/// As `assert_nowhere`, for a unified job whose events are at `list`.
async fn assert_nowhere_in(admin: &Api, job: &Value, list: &str, secrets: &[&str]) {
    let (_, detail) = admin.get(job["url"].as_str().expect("url")).await;
    let shown = [
        ("stdout", stdout(admin, job).await),
        ("events", events_at(admin, job, list).await),
        ("job", detail.to_string()),
    ];
    for secret in secrets {
        for line in secret.lines().map(str::trim).filter(|l| l.len() >= 8) {
            for (what, text) in &shown {
                assert!(
                    !text.contains(line),
                    "a secret ({}...) is in the job's {what}",
                    &line[..4]
                );
            }
        }
    }
}

/// Waits (bounded) until no process names a file of the node's runs: the
/// ssh-agent ansible-runner starts for a key outlives its command until it
/// sees its parent gone (OpenSSH checks every 10 s).
async fn assert_runs_leave_no_process(node: &Node) {
    let jobs = format!("{}/jobs/", node.server.data_dir.path().display());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: Vec<String> = std::fs::read_dir("/proc")
            .expect("proc")
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|cmd| String::from_utf8_lossy(&cmd).replace('\0', " "))
            .filter(|cmd| cmd.contains(&jobs))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the runs are still alive: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The job's private data dir is removed after the run.
fn assert_pdd_gone(node: &Node, job: &Value) {
    let pdd = node
        .server
        .data_dir
        .path()
        .join("jobs")
        .join(job["id"].to_string());
    assert!(!pdd.exists(), "{} is still there", pdd.display());
}

const SSH_PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  tasks:
    - name: who logs in
      command: whoami
      become: false
      register: login
    - debug:
        msg: 'login-{{ login.stdout }}'
    - name: who runs with become
      command: whoami
      register: became
    - debug:
        msg: 'became-{{ became.stdout }}'
";

#[tokio::test]
async fn a_machine_credential_logs_in_with_its_key_and_becomes() {
    let passphrase = "pass-phrase-Zq7Wk3";
    let keys = tempfile::tempdir().expect("keys");
    let key_path = keys.path().join("id");
    run_ok(Command::new("ssh-keygen").args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        passphrase,
        "-C",
        "rawx-test",
        "-f",
        &key_path.display().to_string(),
    ]));
    let private_key = std::fs::read_to_string(&key_path).expect("private key");
    let public_key = std::fs::read_to_string(keys.path().join("id.pub")).expect("public key");
    let sshd = Sshd::start(&public_key);

    let node = Node::start().await;
    let admin = node.admin();
    let user = current_user();
    // As root, sudo to another user needs no password; otherwise a become
    // password would be needed, which this machine does not have.
    let root = nix::unistd::geteuid().is_root();
    let mut inputs =
        json!({"username": user, "ssh_key_data": private_key, "ssh_key_unlock": passphrase});
    if root {
        inputs["become_method"] = json!("sudo");
        inputs["become_username"] = json!("nobody");
    }
    let machine = credential(&admin, "ssh in", type_id(&admin, "Machine").await, inputs).await;
    let template = template(
        &node,
        &admin,
        &[("ssh.yml", SSH_PLAYBOOK)],
        (
            "127.0.0.1",
            &format!(
                "ansible_port: {}\nansible_python_interpreter: /usr/bin/python3\n\
                 # become to an unprivileged user needs no temporary files this way\n\
                 ansible_pipelining: true\nansible_remote_tmp: /tmp\n\
                 # no ssh master left for 60 s after the job (ansible's ControlPersist)\n\
                 ansible_ssh_args: -C -o ControlMaster=auto -o ControlPersist=no\n",
                sshd.port
            ),
        ),
        &[machine],
        json!({"become_enabled": root}),
    )
    .await;

    let job = launch(&admin, &template).await;
    let text = stdout(&admin, &job).await;
    assert_eq!(
        job["status"],
        "successful",
        "{job}\n{text}\nsshd:\n{}",
        sshd.log()
    );
    assert!(text.contains(&format!("login-{user}")), "{text}");
    let became = if root { "nobody" } else { user.as_str() };
    assert!(text.contains(&format!("became-{became}")), "{text}");
    assert!(
        sshd.log()
            .contains(&format!("Accepted publickey for {user}")),
        "{}",
        sshd.log()
    );
    assert_nowhere(&admin, &job, &[&private_key, passphrase]).await;
    assert_pdd_gone(&node, &job);
    assert_runs_leave_no_process(&node).await;
}

const VARS_PLAYBOOK: &str = "\
- hosts: all
  gather_facts: false
  vars_files:
    - vaulted.yml
  tasks:
    - debug:
        msg: 'default={{ vaulted_default }} prod={{ vaulted_prod }}'
    - debug:
        msg: >-
          user={{ lookup('env', 'RAWX_API_USER') }}
          user_var={{ api_user_var }}
          token_env={{ lookup('env', 'RAWX_API_TOKEN') | hash('sha1') }}
          token_var={{ api_token_var | hash('sha1') }}
          token_file={{ lookup('file', lookup('env', 'RAWX_API_FILE')) | hash('sha1') }}
";

/// `text` encrypted for `--vault-id id@file` (no id: the default vault),
/// as the YAML line `name: !vault |...`.
fn vaulted(dir: &Path, id: Option<&str>, password: &str, name: &str, text: &str) -> String {
    let file = dir.join(format!("pw-{name}"));
    std::fs::write(&file, password).expect("password file");
    let mut command = Command::new(venv().join("bin/ansible-vault"));
    command.arg("encrypt_string").env(
        "PATH",
        format!("{}:/usr/bin:/bin", venv().join("bin").display()),
    );
    match id {
        Some(id) => command.args([
            "--vault-id",
            &format!("{id}@{}", file.display()),
            "--encrypt-vault-id",
            id,
        ]),
        None => command.args(["--vault-password-file", &file.display().to_string()]),
    };
    run_ok(command.args(["--name", name, text]))
}

fn sha1(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn vault_and_custom_credentials_reach_the_play() {
    let default_password = "vault-default-Pw4x9";
    let prod_password = "vault-prod-Pw8k2";
    let work = tempfile::tempdir().expect("work");
    let vars = format!(
        "{}{}",
        vaulted(
            work.path(),
            None,
            default_password,
            "vaulted_default",
            "plain-default-42"
        ),
        vaulted(
            work.path(),
            Some("prod"),
            prod_password,
            "vaulted_prod",
            "plain-prod-43"
        ),
    );
    assert!(vars.contains("$ANSIBLE_VAULT;1.2;AES256;prod"), "{vars}");

    let node = Node::start().await;
    let admin = node.admin();
    let vault_type = type_id(&admin, "Vault").await;
    let default_vault = credential(
        &admin,
        "vault default",
        vault_type,
        json!({"vault_password": default_password}),
    )
    .await;
    let prod_vault = credential(
        &admin,
        "vault prod",
        vault_type,
        json!({"vault_password": prod_password, "vault_id": "prod"}),
    )
    .await;

    let custom_type = admin
        .create(
            "/api/v2/credential_types/",
            json!({
                "name": "Example API", "kind": "cloud",
                "inputs": {"fields": [
                    {"id": "api_user", "label": "User", "type": "string"},
                    {"id": "api_token", "label": "Token", "type": "string", "secret": true}
                ], "required": ["api_user", "api_token"]},
                "injectors": {
                    "env": {"RAWX_API_USER": "{{ api_user }}", "RAWX_API_TOKEN": "{{ api_token }}",
                            "RAWX_API_FILE": "{{ tower.filename }}"},
                    "extra_vars": {"api_user_var": "{{ api_user }}", "api_token_var": "{{ api_token }}"},
                    "file": {"template": "token={{ api_token }}"}
                }
            }),
        )
        .await["id"]
        .as_i64()
        .expect("type id");
    // Jinja inside the secret must reach the play as it is, never templated.
    let token = "tok-Sx81Yq-{{ 6 * 7 }}";
    let custom = credential(
        &admin,
        "example api",
        custom_type,
        json!({"api_user": "api-person", "api_token": token}),
    )
    .await;

    let template = template(
        &node,
        &admin,
        &[("vars.yml", VARS_PLAYBOOK), ("vaulted.yml", &vars)],
        ("localhost", LOCAL_HOST_VARS),
        &[default_vault, prod_vault, custom],
        json!({}),
    )
    .await;
    let job = launch(&admin, &template).await;
    let text = stdout(&admin, &job).await;
    assert_eq!(job["status"], "successful", "{job}\n{text}");
    assert!(
        text.contains("default=plain-default-42 prod=plain-prod-43"),
        "{text}"
    );
    let token_sha = sha1(token);
    for expected in [
        "user=api-person".to_string(),
        "user_var=api-person".to_string(),
        format!("token_env={token_sha}"),
        format!("token_var={token_sha}"),
        format!("token_file={}", sha1(&format!("token={token}"))),
    ] {
        assert!(text.contains(&expected), "{expected} in:\n{text}");
    }

    assert_nowhere(
        &admin,
        &job,
        &[default_password, prod_password, "tok-Sx81Yq"],
    )
    .await;
    let (_, detail) = admin.get(job["url"].as_str().expect("url")).await;
    for field in ["job_env", "extra_vars"] {
        assert!(
            !detail[field].to_string().contains("tok-Sx81Yq"),
            "{field}: {}",
            detail[field]
        );
    }
    assert_pdd_gone(&node, &job);
}

#[tokio::test]
async fn a_source_control_credential_for_project_updates() {
    let node = Node::start().await;
    let admin = node.admin();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    let scm = credential(
        &admin,
        "git",
        type_id(&admin, "Source Control").await,
        json!({"username": "git-person", "password": "git-token-77", "ssh_key_data": key,
               "ssh_key_unlock": "scm-unlock-55"}),
    )
    .await;
    let machine = credential(
        &admin,
        "machine",
        type_id(&admin, "Machine").await,
        json!({"username": "someone"}),
    )
    .await;

    let db = rawx::store::connect(rawx::store::parse_url(&node.db.url).expect("url"), 2)
        .await
        .expect("db");
    let secret =
        rawx::crypto::secret_key::load_or_create(&node.server.data_dir.path().join("SECRET_KEY"))
            .expect("SECRET_KEY");
    let cipher = rawx::crypto::fields::Cipher::new(&secret).expect("cipher");
    let pdd = tempfile::tempdir().expect("pdd");

    let injection = rawx::exec::credentials::scm_injection(&db, &cipher, scm, pdd.path())
        .await
        .expect("scm injection");
    assert_eq!(
        Value::Object(injection.extra_vars),
        json!({"scm_username": "git-person", "scm_password": "git-token-77"})
    );
    assert_eq!(
        std::fs::read_to_string(pdd.path().join("env/ssh_key")).expect("key"),
        format!("{key}\n")
    );
    let passwords: Value = serde_json::from_str(
        &std::fs::read_to_string(pdd.path().join("env/passwords")).expect("passwords"),
    )
    .expect("json");
    assert_eq!(passwords[r"Enter passphrase for .*:\s*?$"], "scm-unlock-55");
    assert_eq!(passwords[r"Password for.*:\s*?$"], "git-token-77");

    let err = rawx::exec::credentials::scm_injection(&db, &cipher, machine, pdd.path())
        .await
        .expect_err("a machine credential is not for SCM");
    assert!(err.to_string().contains("not Source Control"), "{err}");
    let err = rawx::exec::credentials::scm_injection(&db, &cipher, 999_999, pdd.path())
        .await
        .expect_err("missing");
    assert_eq!(err.to_string(), "credential 999999 does not exist");
}

fn git(dir: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args),
    )
    .trim()
    .to_string()
}

/// An ed25519 key pair protected by `passphrase`: (private, public).
fn key_pair(dir: &Path, name: &str, passphrase: &str) -> (String, String) {
    let path = dir.join(name);
    run_ok(Command::new("ssh-keygen").args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        passphrase,
        "-C",
        "rawx-scm-test",
        "-f",
        &path.display().to_string(),
    ]));
    (
        std::fs::read_to_string(&path).expect("private key"),
        std::fs::read_to_string(path.with_extension("pub")).expect("public key"),
    )
}

/// Creates a git project on `url` with `credential`, waits for its
/// automatic first update to end; returns (project, update).
async fn ssh_project(admin: &Api, name: &str, url: &str, credential: i64) -> (Value, Value) {
    let org = organization(admin).await;
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": name, "organization": org, "scm_type": "git", "scm_url": url,
                   "scm_branch": "main", "credential": credential}),
        )
        .await;
    let project_url = project["url"].as_str().expect("url").to_string();
    let project = admin
        .until(&project_url, "the first update ends", |p| {
            matches!(
                p["status"].as_str(),
                Some("successful" | "failed" | "error")
            )
        })
        .await;
    let (status, updates) = admin.get(&format!("{project_url}project_updates/")).await;
    assert_eq!(status, 200, "{updates}");
    assert_eq!(updates["count"], 1, "{updates}");
    let update = admin
        .finished(updates["results"][0]["url"].as_str().expect("update url"))
        .await;
    (project, update)
}

#[tokio::test]
async fn a_source_control_key_fetches_a_project_over_ssh() {
    let passphrase = "scm-phrase-Hv5Rt9";
    let keys = tempfile::tempdir().expect("keys");
    let (private_key, public_key) = key_pair(keys.path(), "scm", passphrase);
    // A key the server does not know, with its right passphrase.
    let (stranger_key, _) = key_pair(keys.path(), "stranger", passphrase);
    let sshd = Sshd::start(&public_key);

    // A bare repository the sshd serves to the current user.
    let work = tempfile::tempdir().expect("work");
    let source = work.path().join("source");
    std::fs::create_dir_all(&source).expect("source dir");
    git(&source, &["init", "-q", "-b", "main"]);
    std::fs::write(
        source.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hello-over-ssh\n",
    )
    .expect("playbook");
    git(&source, &["add", "-A"]);
    git(&source, &["commit", "-q", "-m", "over ssh"]);
    let bare = work.path().join("repo.git");
    git(
        work.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &source.display().to_string(),
            &bare.display().to_string(),
        ],
    );
    let head = git(&bare, &["rev-parse", "HEAD"]);
    let user = current_user();
    let url = format!("ssh://{user}@127.0.0.1:{}{}", sshd.port, bare.display());

    let node = Node::start().await;
    let admin = node.admin();
    let scm_type = type_id(&admin, "Source Control").await;
    let scm = credential(
        &admin,
        "git over ssh",
        scm_type,
        json!({"username": user, "ssh_key_data": private_key, "ssh_key_unlock": passphrase}),
    )
    .await;
    let (project, update) = ssh_project(&admin, "over-ssh", &url, scm).await;
    let update_text = stdout(&admin, &update).await;
    assert_eq!(
        (project["status"].as_str(), update["status"].as_str()),
        (Some("successful"), Some("successful")),
        "{project}\n{update}\n{update_text}\nsshd:\n{}",
        sshd.log()
    );
    assert_eq!(project["scm_revision"], head.as_str(), "{project}");
    assert_eq!(update["scm_revision"], head.as_str(), "{update}");
    assert!(
        sshd.log()
            .contains(&format!("Accepted publickey for {user}")),
        "{}",
        sshd.log()
    );
    assert_nowhere_in(&admin, &update, "events", &[&private_key, passphrase]).await;
    assert_pdd_gone(&node, &update);

    // A job runs the playbook the update fetched.
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "local", "organization": organization(&admin).await}),
        )
        .await;
    admin.local_host("localhost", &inventory["id"]).await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "from ssh", "project": project["id"], "inventory": inventory["id"],
                   "playbook": "site.yml"}),
        )
        .await;
    let job = launch(&admin, &template).await;
    let text = stdout(&admin, &job).await;
    assert_eq!(job["status"], "successful", "{job}\n{text}");
    assert_eq!(job["scm_revision"], head.as_str(), "{job}");
    assert!(text.contains("hello-over-ssh"), "{text}");

    // A wrong passphrase, or a key the server does not accept, fails the
    // update and the project.
    for (name, key, unlock) in [
        ("bad-phrase", private_key.as_str(), "not-the-phrase-1"),
        ("stranger", stranger_key.as_str(), passphrase),
    ] {
        let wrong = credential(
            &admin,
            name,
            scm_type,
            json!({"username": user, "ssh_key_data": key, "ssh_key_unlock": unlock}),
        )
        .await;
        let (project, update) = ssh_project(&admin, name, &url, wrong).await;
        let text = stdout(&admin, &update).await;
        assert_eq!(update["status"], "failed", "{name}: {update}\n{text}");
        assert_eq!(update["failed"], true, "{name}: {update}");
        assert_eq!(project["status"], "failed", "{name}: {project}");
        assert_nowhere_in(&admin, &update, "events", &[key, unlock]).await;
        assert_pdd_gone(&node, &update);
    }
    assert_runs_leave_no_process(&node).await;
}

/// An ad hoc command over SSH with the same machine credential machinery.
#[tokio::test]
async fn an_ad_hoc_command_runs_over_ssh_with_a_machine_credential() {
    let passphrase = "adhoc-phrase-Jt4Lm9";
    let keys = tempfile::tempdir().expect("keys");
    let (private_key, public_key) = key_pair(keys.path(), "adhoc", passphrase);
    let sshd = Sshd::start(&public_key);
    let node = Node::start().await;
    let admin = node.admin();
    let user = current_user();
    let machine = credential(
        &admin,
        "adhoc ssh",
        type_id(&admin, "Machine").await,
        json!({"username": user, "ssh_key_data": private_key, "ssh_key_unlock": passphrase}),
    )
    .await;
    let template = template(
        &node,
        &admin,
        &[(
            "noop.yml",
            "- hosts: all\n  gather_facts: false\n  tasks: []\n",
        )],
        (
            "127.0.0.1",
            &format!(
                "ansible_port: {}\nansible_python_interpreter: /usr/bin/python3\n",
                sshd.port
            ),
        ),
        &[],
        json!({}),
    )
    .await;
    let (status, created) = admin
        .post(
            "/api/v2/ad_hoc_commands/",
            json!({"inventory": template["inventory"], "credential": machine,
                   "module_name": "command", "module_args": "whoami"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let command = admin.finished(created["url"].as_str().expect("url")).await;
    let text = stdout(&admin, &command).await;
    assert_eq!(
        command["status"],
        "successful",
        "{command}\n{text}\nsshd:\n{}",
        sshd.log()
    );
    assert!(text.contains(&user), "{text}");
    let events = events_at(&admin, &command, "events").await;
    assert!(events.contains("\"host_name\":\"127.0.0.1\""), "{events}");
    assert!(
        sshd.log()
            .contains(&format!("Accepted publickey for {user}")),
        "{}",
        sshd.log()
    );
    assert_nowhere_in(&admin, &command, "events", &[&private_key, passphrase]).await;
    assert_pdd_gone(&node, &command);
    assert_runs_leave_no_process(&node).await;
}
