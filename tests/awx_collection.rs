//! The awx.awx collection (24.6.1, as PyPI's `ansible` 12.3.0 bundles it)
//! manages the canonical workflow against rawx as it does against AWX: a
//! first run creates everything, a second identical run changes nothing, and
//! a `state: absent` pass deletes it all.
//!
//! The collection decides "changed" by comparing what it would send with what
//! the API returns, field by field; a field rawx returns differently than it
//! was sent makes the module PATCH again on every run (and it reports
//! `changed` only when the PATCH's answer differs from the GET's). So besides
//! the PLAY RECAP, the test puts a recording proxy between ansible and rawx
//! and asserts that the second run writes nothing but its login token.
//!
//! Needs the venv (`RAWX_VENV`) and the collection (`RAWX_COLLECTIONS`), both
//! made by `scripts/test.sh` (`ensure_venv`, `ensure_awx_collection`).

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::api::{ADMIN_PASSWORD, Api, Auth, Node};
use serde_json::Value;

fn cache_dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(default)))
        .unwrap_or_else(|| panic!("{var} or HOME must be set"))
}

fn venv() -> PathBuf {
    let venv = cache_dir("RAWX_VENV", ".cache/rawx/venv");
    assert!(
        venv.join("bin/ansible-playbook").exists(),
        "{}/bin/ansible-playbook missing: run scripts/test.sh, which builds the venv",
        venv.display()
    );
    venv
}

fn collections() -> PathBuf {
    let dir = cache_dir("RAWX_COLLECTIONS", ".cache/rawx/collections");
    let manifest = dir.join("ansible_collections/awx/awx/MANIFEST.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|err| {
        panic!(
            "{} unreadable ({err}): run scripts/test.sh, which installs the collection",
            manifest.display()
        )
    });
    let manifest: Value = serde_json::from_str(&text).expect("MANIFEST.json is JSON");
    assert_eq!(
        manifest["collection_info"]["version"],
        "24.6.1",
        "awx.awx version in {}",
        dir.display()
    );
    dir
}

// ---------------------------------------------------------------------------
// A recording reverse proxy: one request per connection (the collection's
// urllib sends `Connection: close`), forwarded to rawx byte for byte.

/// One request the collection made and what rawx answered.
#[derive(Clone, Debug)]
struct Exchange {
    method: String,
    path: String,
    request: String,
    status: u16,
    response: String,
}

impl Exchange {
    fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    /// The inventory module sends `"kind": null` when no kind is given; AWX
    /// stores `""`, so the module PATCHes such an inventory on every run (and
    /// reports no change), against AWX too.
    fn is_awx_inherent_patch(&self) -> bool {
        let body: Value = serde_json::from_str(&self.request).unwrap_or(Value::Null);
        self.method == "PATCH"
            && self.path.starts_with("/api/v2/inventories/")
            && body.get("kind") == Some(&Value::Null)
    }

    /// Logging in and out: `POST /api/v2/tokens/`, `DELETE /api/v2/tokens/N/`.
    fn is_token(&self) -> bool {
        let path = self.path.split('?').next().unwrap_or_default();
        match self.method.as_str() {
            "POST" => path == "/api/v2/tokens/",
            "DELETE" => path
                .strip_prefix("/api/v2/tokens/")
                .and_then(|rest| rest.strip_suffix('/'))
                .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
            _ => false,
        }
    }
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(1500) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn show(exchanges: &[&Exchange]) -> String {
    exchanges
        .iter()
        .map(|e| {
            format!(
                "  {} {} {}\n    -> {} {}",
                e.method,
                e.path,
                clip(&e.request),
                e.status,
                clip(&e.response)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Proxy {
    base: String,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("the node speaks plain http")
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let base = format!("http://{}", listener.local_addr().expect("proxy address"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let log = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let mut client = client;
                    if let Some((exchange, answer)) = forward(&mut client, &upstream) {
                        // Recorded before the client has its answer, so a run's
                        // log is complete when ansible-playbook exits.
                        log.lock().expect("proxy log").push(exchange);
                        let _ = client.write_all(&answer);
                    }
                    let _ = client.shutdown(Shutdown::Both);
                });
            }
        });
        Proxy { base, log }
    }

    /// What was recorded since the last call.
    fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.log.lock().expect("proxy log"))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = find(body, b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[(end + 2 + size + 2).min(body.len())..];
    }
    out
}

/// Reads one request from `client`, sends it to `upstream` and reads the
/// answer: the exchange, and the answer's bytes for the client.
fn forward(client: &mut TcpStream, upstream: &str) -> Option<(Exchange, Vec<u8>)> {
    let timeout = Some(Duration::from_secs(120));
    client.set_read_timeout(timeout).ok()?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(at) = find(&raw, b"\r\n\r\n") {
            break at;
        }
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + 4 + length {
        let n = client.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let body = raw[head_end + 4..].to_vec();
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();

    // One exchange per connection, uncompressed, so the log is readable.
    let mut forwarded: Vec<String> = head
        .lines()
        .filter(|line| {
            let key = line.split(':').next().unwrap_or_default().trim();
            !key.eq_ignore_ascii_case("connection") && !key.eq_ignore_ascii_case("accept-encoding")
        })
        .map(str::to_string)
        .collect();
    forwarded.push("Connection: close".into());
    let mut out = forwarded.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&body);

    let mut server = TcpStream::connect(upstream).ok()?;
    server.set_read_timeout(timeout).ok()?;
    server.write_all(&out).ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).ok()?;

    let answer_head_end = find(&answer, b"\r\n\r\n").unwrap_or(answer.len());
    let answer_head = String::from_utf8_lossy(&answer[..answer_head_end]).into_owned();
    let status = answer_head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut answer_body = answer[(answer_head_end + 4).min(answer.len())..].to_vec();
    if header(&answer_head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        answer_body = dechunk(&answer_body);
    }
    let exchange = Exchange {
        method,
        path,
        request: String::from_utf8_lossy(&body).into_owned(),
        status,
        response: String::from_utf8_lossy(&answer_body).into_owned(),
    };
    Some((exchange, answer))
}

// ---------------------------------------------------------------------------
// ansible-playbook

/// The PLAY RECAP counters of one host.
type Recap = BTreeMap<String, u64>;

struct Run {
    code: Option<i32>,
    output: String,
    recap: Recap,
    /// Tasks that reported `changed`, in order.
    changed: Vec<String>,
    /// Tasks that failed (the plays ignore errors so that one run shows every
    /// failure), with the module's message.
    failed: Vec<String>,
    exchanges: Vec<Exchange>,
}

impl Run {
    fn count(&self, key: &str) -> u64 {
        self.recap.get(key).copied().unwrap_or(0)
    }
}

fn parse_recap(output: &str) -> Recap {
    let mut recap = Recap::new();
    let after = output.rsplit_once("PLAY RECAP").map(|(_, rest)| rest);
    let line = after
        .into_iter()
        .flat_map(str::lines)
        .find(|line| line.trim_start().starts_with("localhost"));
    for pair in line.into_iter().flat_map(str::split_whitespace) {
        if let Some((key, value)) = pair.split_once('=')
            && let Ok(value) = value.parse()
        {
            recap.insert(key.to_string(), value);
        }
    }
    recap
}

/// The tasks that reported changed, and the tasks that failed with their message.
fn task_results(output: &str) -> (Vec<String>, Vec<String>) {
    let mut task = String::new();
    let mut changed = Vec::new();
    let mut failed = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            task = rest.split(']').next().unwrap_or_default().to_string();
        } else if line.starts_with("changed: [") {
            changed.push(task.clone());
        } else if let Some(rest) = line.strip_prefix("fatal: [localhost]: FAILED! => ") {
            failed.push(format!("{task}: {rest}"));
        }
    }
    (changed, failed)
}

struct Ansible<'a> {
    dir: &'a Path,
    venv: PathBuf,
    collections: PathBuf,
    proxy: &'a Proxy,
}

impl Ansible<'_> {
    fn run(&self, playbook: &str) -> Run {
        self.proxy.take();
        let out = Command::new(self.venv.join("bin/ansible-playbook"))
            .args(["-i", "localhost,", "-c", "local", playbook])
            .current_dir(self.dir)
            // No ~/.tower_cli.cfg or ~/.ansible from the caller.
            .env("HOME", self.dir)
            .env("ANSIBLE_HOME", self.dir.join(".ansible"))
            .env("ANSIBLE_COLLECTIONS_PATH", &self.collections)
            .env("ANSIBLE_PYTHON_INTERPRETER", self.venv.join("bin/python"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_LOCALHOST_WARNING", "0")
            .env("CONTROLLER_HOST", &self.proxy.base)
            .env("CONTROLLER_USERNAME", "admin")
            .env("CONTROLLER_PASSWORD", ADMIN_PASSWORD)
            .env("CONTROLLER_VERIFY_SSL", "false")
            .env_remove("CONTROLLER_OAUTH_TOKEN")
            .env_remove("CONTROLLER_REQUEST_TIMEOUT")
            .env_remove("CONTROLLER_OPTIONAL_API_URLPATTERN_PREFIX")
            .env_remove("TOWER_HOST")
            .env_remove("TOWER_USERNAME")
            .env_remove("TOWER_PASSWORD")
            .env_remove("TOWER_OAUTH_TOKEN")
            .env_remove("ANSIBLE_CONFIG")
            .output()
            .expect("run ansible-playbook");
        let output = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let (changed, failed) = task_results(&output);
        Run {
            code: out.status.code(),
            recap: parse_recap(&output),
            changed,
            failed,
            output,
            exchanges: self.proxy.take(),
        }
    }
}

/// What went wrong, collected over the whole test so that one run of it
/// lists every incompatibility.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn check_eq<T, U>(&mut self, what: &str, got: &T, want: &U)
    where
        T: PartialEq<U> + std::fmt::Debug,
        U: std::fmt::Debug + ?Sized,
    {
        self.check(got == want, || {
            format!("{what}: got {got:?}, want {want:?}")
        });
    }
}

/// Every run: no task failed, rawx never answered 5xx, the collection's
/// version check found AWX 24 and each module's token was released.
fn check_run(name: &str, run: &Run, problems: &mut Problems) {
    for failure in &run.failed {
        problems.0.push(format!("{name}: task failed: {failure}"));
    }
    let recap_ok = run.count("ok") > 0
        && run.count("failed") == 0
        && run.count("ignored") == 0
        && run.count("unreachable") == 0;
    if run.code != Some(0) || !recap_ok {
        // The output only when the failures above don't explain it.
        let output = if run.failed.is_empty() {
            run.output.as_str()
        } else {
            ""
        };
        problems.0.push(format!(
            "{name}: exit {:?}, recap {:?}\n{output}",
            run.code, run.recap
        ));
    }
    let errors: Vec<&Exchange> = run.exchanges.iter().filter(|e| e.status >= 500).collect();
    problems.check(errors.is_empty(), || {
        format!("{name}: rawx answered 5xx:\n{}", show(&errors))
    });
    for warning in [
        "connecting to",
        "You are running collection version",
        "Failed to release token",
    ] {
        problems.check(!run.output.contains(warning), || {
            format!("{name}: the collection warned ({warning}):\n{}", run.output)
        });
    }
    let logins = run
        .exchanges
        .iter()
        .filter(|e| e.is_token() && e.method == "POST")
        .count();
    let logouts: Vec<&Exchange> = run
        .exchanges
        .iter()
        .filter(|e| e.is_token() && e.method == "DELETE")
        .collect();
    problems.check(logins > 0, || format!("{name}: no token was requested"));
    problems.check(
        logins == logouts.len() && logouts.iter().all(|e| e.status == 204),
        || {
            format!(
                "{name}: {logins} tokens made, released:\n{}",
                show(&logouts)
            )
        },
    );
}

// ---------------------------------------------------------------------------
// The playbooks

const PRESENT: &str = r#"
- name: The canonical workflow through awx.awx
  hosts: localhost
  gather_facts: false
  # Go on after a failure, so that one run shows them all (the test fails on
  # any of them).
  ignore_errors: true
  tasks:
    - name: Execution environment
      awx.awx.execution_environment:
        name: runner
        description: the job image
        image: quay.io/ansible/awx-ee:24.6.1
        pull: missing

    - name: Organization
      awx.awx.organization:
        name: Eng
        description: engineering
        max_hosts: 100
        default_environment: runner
        instance_groups: [default]
        galaxy_credentials: [Ansible Galaxy]

    - name: Team
      awx.awx.team:
        name: Dev
        organization: Eng
        description: developers

    - name: User
      awx.awx.user:
        username: bob
        password: bob-pw
        email: bob@example.com
        first_name: Bob
        last_name: Builder
        is_superuser: false
        is_system_auditor: false
        # A password can't be read back: compare it as AWX's $encrypted$.
        update_secrets: false

    - name: User created in the organization
      awx.awx.user:
        username: carol
        password: carol-pw
        email: carol@example.com
        organization: Eng
        update_secrets: false

    - name: Label
      awx.awx.label:
        name: release
        organization: Eng

    - name: Custom credential type
      awx.awx.credential_type:
        name: Vendor API
        description: a vendor's token
        kind: cloud
        inputs:
          fields:
            - id: token
              label: Token
              type: string
              secret: true
            - id: region
              label: Region
              type: string
              choices: [us, eu]
          required: [token]
        injectors:
          env:
            VENDOR_TOKEN: !unsafe "{{ token }}"
          extra_vars:
            vendor_region: !unsafe "{{ region }}"

    - name: Custom credential
      awx.awx.credential:
        name: vendor
        organization: Eng
        credential_type: Vendor API
        inputs:
          token: tok-123-secret
          region: eu
        update_secrets: false

    - name: Machine credential
      awx.awx.credential:
        name: ssh
        description: deploy login
        organization: Eng
        credential_type: Machine
        inputs:
          username: deploy
          password: pw-secret
          become_method: sudo
        update_secrets: false

    - name: Manual project
      awx.awx.project:
        name: site
        description: the site
        organization: Eng
        scm_type: manual
        local_path: rawx_site
        default_environment: runner
        allow_override: false
        timeout: 0

    - name: Inventory
      awx.awx.inventory:
        name: prod
        description: production
        organization: Eng
        # Without kind the module sends "kind": null, which AWX stores as ""
        # (and PATCHes again on every run): see "staging".
        kind: ""
        prevent_instance_group_fallback: false
        variables:
          env: prod
          tier: 1
        instance_groups: [default]

    - name: Inventory as most playbooks write it, without kind
      awx.awx.inventory:
        name: staging
        organization: Eng

    - name: Smart inventory
      awx.awx.inventory:
        name: prod-web
        organization: Eng
        kind: smart
        host_filter: name__startswith=web

    - name: Host web1
      awx.awx.host:
        name: web1
        inventory: prod
        description: front end
        enabled: true
        variables:
          ansible_host: 10.0.0.1
          http_port: 8080

    - name: Host web2
      awx.awx.host:
        name: web2
        inventory: prod
        enabled: false

    - name: Group with hosts
      awx.awx.group:
        name: web
        inventory: prod
        description: web servers
        variables:
          http_port: 80
        hosts: [web1, web2]

    - name: Group with a child group
      awx.awx.group:
        name: frontend
        inventory: prod
        children: [web]

    - name: Job template
      awx.awx.job_template:
        name: deploy
        description: deploy the site
        organization: Eng
        project: site
        playbook: site.yml
        inventory: prod
        job_type: run
        forks: 5
        limit: web
        verbosity: 1
        timeout: 600
        extra_vars:
          release: "1.0"
        credentials: [ssh, vendor]
        labels: [release]
        execution_environment: runner
        instance_groups: [default]
        ask_limit_on_launch: true
        ask_variables_on_launch: true
        ask_credential_on_launch: true
        become_enabled: true
        diff_mode: false
        use_fact_cache: true
        allow_simultaneous: true
        job_slice_count: 1
        job_tags: deploy
        skip_tags: ""
        host_config_key: s3cr3t-callback-key
        survey_enabled: true
        survey_spec:
          name: ""
          description: ""
          spec:
            - question_name: Release
              question_description: which release
              required: true
              type: text
              variable: release
              min: 0
              max: 32
              default: "1.0"
            - question_name: Region
              question_description: where
              required: false
              type: multiplechoice
              variable: region
              choices: "us\neu"
              default: us

    - name: Bob joins Eng
      awx.awx.role:
        user: bob
        role: member
        organization: Eng

    - name: Bob joins Dev
      awx.awx.role:
        user: bob
        role: member
        target_team: Dev

    - name: Dev may use the project
      awx.awx.role:
        team: Dev
        role: use
        project: site

    - name: Bob may run the template
      awx.awx.role:
        user: bob
        role: execute
        job_template: deploy

    - name: Dev administers the inventory
      awx.awx.role:
        team: Dev
        role: admin
        inventory: prod

    - name: Dev may use the ssh credential, named by its named URL
      awx.awx.role:
        team: Dev
        role: use
        credential: ssh++Machine+ssh++Eng

    - name: Dev administers Eng's job templates
      awx.awx.role:
        team: Dev
        role: job_template_admin
        organization: Eng
"#;

const ABSENT: &str = r#"
- name: Remove the canonical workflow through awx.awx
  hosts: localhost
  gather_facts: false
  # Go on after a failure, so that one run shows them all (the test fails on
  # any of them).
  ignore_errors: true
  tasks:
    - name: Revoke job template admin
      awx.awx.role:
        team: Dev
        role: job_template_admin
        organization: Eng
        state: absent

    - name: Revoke credential use
      awx.awx.role:
        team: Dev
        role: use
        credential: ssh++Machine+ssh++Eng
        state: absent

    - name: Revoke inventory admin
      awx.awx.role:
        team: Dev
        role: admin
        inventory: prod
        state: absent

    - name: Revoke execute
      awx.awx.role:
        user: bob
        role: execute
        job_template: deploy
        state: absent

    - name: Revoke use
      awx.awx.role:
        team: Dev
        role: use
        project: site
        state: absent

    - name: Bob leaves Dev
      awx.awx.role:
        user: bob
        role: member
        target_team: Dev
        state: absent

    - name: Bob leaves Eng
      awx.awx.role:
        user: bob
        role: member
        organization: Eng
        state: absent

    - name: Job template
      awx.awx.job_template:
        name: deploy
        organization: Eng
        state: absent

    - name: Group frontend
      awx.awx.group:
        name: frontend
        inventory: prod
        state: absent

    - name: Group web
      awx.awx.group:
        name: web
        inventory: prod
        state: absent

    - name: Host web1
      awx.awx.host:
        name: web1
        inventory: prod
        state: absent

    - name: Host web2
      awx.awx.host:
        name: web2
        inventory: prod
        state: absent

    - name: Smart inventory
      awx.awx.inventory:
        name: prod-web
        organization: Eng
        state: absent

    - name: Inventory without kind
      awx.awx.inventory:
        name: staging
        organization: Eng
        state: absent

    - name: Inventory
      awx.awx.inventory:
        name: prod
        organization: Eng
        state: absent

    - name: Project
      awx.awx.project:
        name: site
        organization: Eng
        state: absent

    - name: Machine credential
      awx.awx.credential:
        name: ssh
        organization: Eng
        credential_type: Machine
        state: absent

    - name: Custom credential
      awx.awx.credential:
        name: vendor
        organization: Eng
        credential_type: Vendor API
        state: absent

    - name: Custom credential type
      awx.awx.credential_type:
        name: Vendor API
        state: absent

    - name: User
      awx.awx.user:
        username: bob
        state: absent

    - name: User created in the organization
      awx.awx.user:
        username: carol
        state: absent

    - name: Team
      awx.awx.team:
        name: Dev
        organization: Eng
        state: absent

    - name: Organization
      awx.awx.organization:
        name: Eng
        state: absent

    - name: Execution environment
      awx.awx.execution_environment:
        name: runner
        state: absent
"#;

fn task_count(playbook: &str) -> u64 {
    playbook
        .lines()
        .filter(|line| line.starts_with("    - name: "))
        .count() as u64
}

/// A client on a pool of its own: while ansible runs, the test's runtime is
/// blocked and cannot notice the server closing idle pooled connections.
fn client(node: &Node, username: &str, password: &str) -> Api {
    Api {
        base: node.server.base.clone(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client"),
        auth: Auth::Basic(username.into(), password.into()),
    }
}

/// GET `path`; a status other than 200 is a problem (and gives `Null`).
async fn get(api: &Api, path: &str, problems: &mut Problems) -> Value {
    let (status, body) = api.get(path).await;
    if status != 200 {
        problems.0.push(format!("GET {path}: {status} {body}"));
        return Value::Null;
    }
    body
}

/// The one object a filtered list holds (`Null`, and a problem, otherwise).
async fn one(api: &Api, path: &str, problems: &mut Problems) -> Value {
    let body = get(api, path, problems).await;
    if body.is_null() {
        return body;
    }
    if body["count"] != 1 {
        problems
            .0
            .push(format!("GET {path}: expected one object: {body}"));
        return Value::Null;
    }
    body["results"][0].clone()
}

/// The sorted names (or usernames) in a list.
async fn names(api: &Api, path: &str, problems: &mut Problems) -> Vec<String> {
    let body = get(api, path, problems).await;
    let mut names: Vec<String> = body["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| o.get("name").or_else(|| o.get("username")))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn the_awx_collection_manages_the_canonical_workflow_idempotently() {
    let venv = venv();
    let collections = collections();
    // With AWX's Default organization and demo objects, as a real AWX has.
    let node = Node::start_with(&[]).await;
    let proxy = Proxy::start(&node.server.base);

    // The manual project's files, where rawx serves them from.
    let project_dir = node.server.data_dir.path().join("projects/rawx_site");
    std::fs::create_dir_all(&project_dir).expect("project dir");
    std::fs::write(
        project_dir.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n",
    )
    .expect("site.yml");

    let dir = tempfile::tempdir().expect("playbook dir");
    std::fs::write(dir.path().join("present.yml"), PRESENT).expect("present.yml");
    std::fs::write(dir.path().join("absent.yml"), ABSENT).expect("absent.yml");
    let ansible = Ansible {
        dir: dir.path(),
        venv,
        collections,
        proxy: &proxy,
    };
    let mut problems = Problems::default();

    // 1. Everything is created: every task reports a change.
    let first = ansible.run("present.yml");
    check_run("first run", &first, &mut problems);
    problems.check(first.count("changed") == task_count(PRESENT), || {
        format!(
            "first run: {} of {} tasks changed something: {:?}",
            first.count("changed"),
            task_count(PRESENT),
            first.changed
        )
    });

    // What the modules made is what was asked for.
    let admin = client(&node, "admin", ADMIN_PASSWORD);
    let p = &mut problems;
    let org = one(&admin, "/api/v2/organizations/?name=Eng", p).await;
    let ee = one(&admin, "/api/v2/execution_environments/?name=runner", p).await;
    p.check_eq(
        "Eng's default_environment",
        &org["default_environment"],
        &ee["id"],
    );
    let org_id = &org["id"];
    let sub = |path: &str| format!("/api/v2/organizations/{org_id}/{path}/");
    let got = names(&admin, &sub("instance_groups"), p).await;
    p.check_eq("Eng's instance groups", &got, &["default"]);
    let got = names(&admin, &sub("galaxy_credentials"), p).await;
    p.check_eq("Eng's galaxy credentials", &got, &["Ansible Galaxy"]);
    let got = names(&admin, &sub("users"), p).await;
    p.check_eq("Eng's members", &got, &["bob", "carol"]);
    let inventory = one(&admin, "/api/v2/inventories/?name=prod", p).await;
    let path = format!("/api/v2/inventories/{}/instance_groups/", inventory["id"]);
    let got = names(&admin, &path, p).await;
    p.check_eq("prod's instance groups", &got, &["default"]);
    let staging = one(&admin, "/api/v2/inventories/?name=staging", p).await;
    p.check_eq("staging's kind", &staging["kind"], &"");

    let template = one(&admin, "/api/v2/job_templates/?name=deploy", p).await;
    let jt = &template["id"];
    p.check_eq("deploy's playbook", &template["playbook"], &"site.yml");
    p.check_eq("deploy's EE", &template["execution_environment"], &ee["id"]);
    p.check_eq(
        "deploy's project",
        &template["summary_fields"]["project"]["name"],
        &"site",
    );
    let sub = |path: &str| format!("/api/v2/job_templates/{jt}/{path}/");
    let got = names(&admin, &sub("credentials"), p).await;
    p.check_eq("deploy's credentials", &got, &["ssh", "vendor"]);
    let got = names(&admin, &sub("labels"), p).await;
    p.check_eq("deploy's labels", &got, &["release"]);
    let got = names(&admin, &sub("instance_groups"), p).await;
    p.check_eq("deploy's instance groups", &got, &["default"]);
    let survey = get(&admin, &sub("survey_spec"), p).await;
    p.check_eq("deploy's survey", &survey["spec"][1]["variable"], &"region");

    let web = one(&admin, "/api/v2/groups/?name=web", p).await;
    let path = format!("/api/v2/groups/{}/hosts/", web["id"]);
    let got = names(&admin, &path, p).await;
    p.check_eq("web's hosts", &got, &["web1", "web2"]);
    let frontend = one(&admin, "/api/v2/groups/?name=frontend", p).await;
    let path = format!("/api/v2/groups/{}/children/", frontend["id"]);
    let got = names(&admin, &path, p).await;
    p.check_eq("frontend's children", &got, &["web"]);
    let dev = one(&admin, "/api/v2/teams/?name=Dev", p).await;
    let path = format!("/api/v2/teams/{}/users/", dev["id"]);
    let got = names(&admin, &path, p).await;
    p.check_eq("Dev's members", &got, &["bob"]);
    let bob = client(&node, "bob", "bob-pw");
    let got = names(&bob, "/api/v2/job_templates/", p).await;
    p.check_eq("the templates bob may execute", &got, &["deploy"]);

    // 2. The same playbook again: nothing changed, nothing written. Any field
    // rawx returns differently than the collection sent shows up here as a
    // PATCH (or, for surveys and associations, as a POST), whether or not the
    // module then reports a change.
    let second = ansible.run("present.yml");
    check_run("second run", &second, &mut problems);
    let writes: Vec<&Exchange> = second
        .exchanges
        .iter()
        .filter(|e| e.is_write() && !e.is_token() && !e.is_awx_inherent_patch())
        .collect();
    problems.check(second.count("changed") == 0 && writes.is_empty(), || {
        format!(
            "second run is not idempotent: changed={} {:?}; writes:\n{}",
            second.count("changed"),
            second.changed,
            show(&writes)
        )
    });

    // 3. state: absent removes it all.
    let absent = ansible.run("absent.yml");
    check_run("absent run", &absent, &mut problems);
    problems.check(absent.count("changed") == task_count(ABSENT), || {
        format!(
            "absent run: {} of {} tasks removed something: {:?}",
            absent.count("changed"),
            task_count(ABSENT),
            absent.changed
        )
    });
    let admin = client(&node, "admin", ADMIN_PASSWORD);
    for path in [
        "/api/v2/organizations/?name=Eng",
        "/api/v2/teams/?name=Dev",
        "/api/v2/users/?username__in=bob,carol",
        "/api/v2/execution_environments/?name=runner",
        // Labels have no state: absent; they go with their organization.
        "/api/v2/labels/?name=release",
        "/api/v2/credential_types/?name=Vendor%20API",
        "/api/v2/credentials/?name__in=ssh,vendor",
        "/api/v2/projects/?name=site",
        "/api/v2/inventories/?name__in=prod,prod-web,staging",
        "/api/v2/hosts/?name__in=web1,web2",
        "/api/v2/groups/?name__in=web,frontend",
        "/api/v2/job_templates/?name=deploy",
    ] {
        let body = get(&admin, path, &mut problems).await;
        problems.check_eq(&format!("{path} after the absent run"), &body["count"], &0);
    }
    // The demo objects are untouched.
    let body = get(&admin, "/api/v2/organizations/?name=Default", &mut problems).await;
    problems.check_eq("the Default organization", &body["count"], &1);

    assert!(
        problems.0.is_empty(),
        "{} problem(s) with the awx.awx collection:\n\n{}",
        problems.0.len(),
        problems.0.join("\n\n")
    );
}
