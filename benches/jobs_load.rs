//! `cargo bench --bench jobs_load`: jobs launched through the API of a
//! release `rawx server`, against bare `ansible-runner run` and plain
//! INSERTs measured in the same run.
//!
//! Three benchmarks, in this order (`--only overhead,throughput,launch`
//! picks some):
//!
//! 1. **overhead**: one 1-task localhost job at a time, launched through
//!    the API until it is `successful` with `event_processing_finished`,
//!    against `ansible-runner run` of the same playbook on a private data dir
//!    of the same shape, alternating, `RAWX_BENCH_OVERHEAD_RUNS` (5) each
//!    after one warm-up of each; medians, and launch → `started`. A bare
//!    `ansible-runner worker` (the streaming mode rawx runs) is timed too.
//! 2. **throughput**: `RAWX_BENCH_CONCURRENT_JOBS` (200) launches of the same
//!    template (allow_simultaneous) at once until every job is final with
//!    its events stored, against as many `ansible-runner run` processes
//!    started at once, each on its own private data dir. The node's
//!    instance capacity (capacity_adjustment 1) decides how many jobs run
//!    at once; the wait from `created` to `started` is reported, and jobs
//!    that make no progress for two minutes are reported as stuck.
//!    Diagnostics: `RAWX_BENCH_CAPACITY_ADJUSTMENT`,
//!    `RAWX_BENCH_THROUGHPUT_TEMPLATES`, `RAWX_BENCH_THROUGHPUT_CLIENTS`.
//! 3. **launch**: `RAWX_BENCH_LAUNCHES` (2,000) launches by 16 concurrent
//!    clients (Basic auth) while the node's instance is disabled, so every
//!    job stays pending; baseline: as many plain INSERTs of a unified job
//!    and its job row (one transaction each) over 16 connections. Then the
//!    project's directory is moved away (each run now ends at once as
//!    `error`, without ansible), the instance is enabled and the TaskManager
//!    woken, and the time until `RAWX_BENCH_MOVE` (1,000) of the jobs are no
//!    longer pending is measured: the TaskManager's and Dispatcher's
//!    turnover within the instance's capacity, not ansible's. A diagnostic
//!    repeats the launches over one template per client.
//!
//! While launches or runs go, `pg_stat_activity` is sampled every 10 ms to
//! show what PostgreSQL's backends wait on.
//!
//! Every process started here is gone at the end, and the database dropped.
//! The figures also go to `$CARGO_TARGET_DIR/bench-jobs_load.json`.

#[path = "../tests/common/mod.rs"]
mod testing;

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Stats, fmt_pct, fmt_ratio, ms, ratio, verdict};
use testing::api::{Api, Node};

/// The one-task playbook every run here plays.
const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: one task\n      ansible.builtin.debug:\n        msg: hello from the bench\n";
/// The localhost host's variables (as the job tests use).
const HOST_VARS: &str =
    "ansible_connection: local\nansible_python_interpreter: '{{ ansible_playbook_python }}'";
/// Concurrent API clients for the launch rate.
const LAUNCH_CLIENTS: usize = 16;
/// Statuses a job ends in.
const FINAL: &[&str] = &["successful", "failed", "error", "canceled"];

/// Targets and AWX's figures from the issue.
const TARGET_OVERHEAD_RATIO: f64 = 1.1;
const TARGET_THROUGHPUT_RATIO: f64 = 1.2;
const TARGET_LAUNCHES_PER_S: f64 = 500.0;
const AWX_LAUNCHES_PER_S: f64 = 3.67;
const AWX_LAUNCH_REQUEST_S: f64 = 4.4;
const AWX_THROUGHPUT_S: f64 = 192.0;
const AWX_THROUGHPUT_WAIT_S: f64 = 49.0;

struct Options {
    overhead: bool,
    throughput: bool,
    launch: bool,
    overhead_runs: usize,
    concurrent_jobs: usize,
    throughput_templates: usize,
    throughput_clients: usize,
    launches: usize,
    moved: usize,
}

fn options() -> Options {
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = if arg == "--only" {
            args.next()
        } else if let Some(v) = arg.strip_prefix("--only=") {
            Some(v.to_string())
        } else {
            if arg != "--bench" {
                eprintln!("jobs_load: ignoring argument {arg:?}");
            }
            continue;
        };
        if let Some(value) = value {
            only = Some(value.split(',').map(|s| s.trim().to_string()).collect());
        }
    }
    let wants = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == name));
    let launches = common::env_usize("RAWX_BENCH_LAUNCHES", 2_000);
    Options {
        overhead: wants("overhead"),
        throughput: wants("throughput"),
        launch: wants("launch"),
        overhead_runs: common::env_usize("RAWX_BENCH_OVERHEAD_RUNS", 5),
        concurrent_jobs: common::env_usize("RAWX_BENCH_CONCURRENT_JOBS", 200),
        throughput_templates: common::env_usize("RAWX_BENCH_THROUGHPUT_TEMPLATES", 1),
        // 0 (the default): every launch request at once.
        throughput_clients: std::env::var("RAWX_BENCH_THROUGHPUT_CLIENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        launches,
        moved: common::env_usize("RAWX_BENCH_MOVE", 1_000).min(launches),
    }
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // A LocalSet: the samplers run beside the work on this one thread.
    tokio::task::LocalSet::new().block_on(&runtime, run(options));
}

/// The venv with ansible-runner: `RAWX_VENV`, else the scripts' default.
fn venv() -> PathBuf {
    std::env::var_os("RAWX_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/rawx/venv"))
        })
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}

/// Kills whatever the server started if the bench ends early (a panic):
/// runs live in their own process groups and would outlive a killed server.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        if testing::alive(self.0) {
            for (pid, _) in testing::descendants(self.0) {
                testing::signal(pid, "KILL");
            }
        }
    }
}

/// What every benchmark needs on the node.
struct Env {
    node: Node,
    admin: Api,
    db: tokio_postgres::Client,
    venv: PathBuf,
    organization: i64,
    inventory: i64,
    user: i64,
    instance: i64,
    instance_url: String,
    /// The `bench` project and its one-task template (allow_simultaneous).
    project: i64,
    template: i64,
    capacity_adjustment: f64,
}

async fn run(options: Options) {
    let venv = venv();
    if !venv.join("bin/ansible-runner").exists() {
        eprintln!(
            "jobs_load: no ansible-runner in {} (set RAWX_VENV; scripts/lib.sh ensure_venv builds it)",
            venv.display()
        );
        std::process::exit(2);
    }
    let total = Instant::now();
    let busy_before = common::machine_busy_for(Duration::from_secs(2)).await;
    println!(
        "jobs_load: machine busy before the run: {} of {} CPUs",
        fmt_pct(busy_before),
        common::cpus()
    );
    let venv_text = venv.display().to_string();
    let node = Node::start_with(&[
        ("RAWX_PRELOAD_DATA", "false"),
        ("RAWX_HEARTBEAT_INTERVAL", "60"),
        ("RAWX_VENV", &venv_text),
    ])
    .await;
    let reaper = Reaper(node.server.pid());
    let env = setup(node, venv).await;
    let mut report = serde_json::Map::new();
    report.insert("benchmark".into(), json!("jobs_load"));
    report.insert("cpus".into(), json!(common::cpus()));
    report.insert("machine_busy_before".into(), json!(busy_before));
    let capacity = capacity(&env).await;
    println!(
        "jobs_load: node {} capacity {} (capacity_adjustment {}), task impact of the one-host template {}: {} jobs at once",
        env.node.server.node_name(),
        capacity.0,
        env.capacity_adjustment,
        capacity.1,
        capacity.0 / i64::from(capacity.1.max(1))
    );
    report.insert(
        "capacity".into(),
        json!({"capacity": capacity.0, "task_impact": capacity.1,
               "capacity_adjustment": env.capacity_adjustment}),
    );

    if options.overhead {
        let figures = overhead(&env, options.overhead_runs).await;
        report.insert("overhead".into(), figures);
    }
    if options.throughput {
        let figures = throughput(
            &env,
            options.concurrent_jobs,
            options.throughput_templates,
            options.throughput_clients,
        )
        .await;
        report.insert("throughput".into(), figures);
    }
    if options.launch {
        let figures = launch_rate(&env, options.launches, options.moved).await;
        report.insert("launch".into(), figures);
    }

    let Env { mut node, db, .. } = env;
    drop(db);
    let data_dir = node.server.data_dir.path().display().to_string();
    let status = node.server.terminate();
    let log = node.server.log();
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("WARN") || l.contains("panicked"))
        .collect();
    println!();
    println!(
        "rawx server exited with {status} after SIGTERM; {} ERROR/WARN line(s) in its log",
        problems.len()
    );
    // Grouped by message, without the time stamp and ids.
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for line in &problems {
        let plain = strip_ansi(line);
        let message = plain
            .split_once(' ')
            .map_or(plain.as_str(), |(_, rest)| rest)
            .split_whitespace()
            .map(|word| match word.split_once('=') {
                Some((key, value)) if value.chars().all(|c| c.is_ascii_digit()) => {
                    format!("{key}=N")
                }
                _ => word.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        *groups
            .entry(message.chars().take(160).collect())
            .or_default() += 1;
    }
    let mut groups: Vec<(String, usize)> = groups.into_iter().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.1));
    for (message, count) in groups.iter().take(10) {
        println!("  {count:>5} x {message}");
    }
    if options.launch {
        println!(
            "  (the launch benchmark's {} runs end at setup on purpose: \"job run failed ... project's files\")",
            2 * options.launches
        );
    }
    let leftovers = processes_mentioning(&data_dir);
    if !leftovers.is_empty() {
        println!("WARNING: processes of the node's runs still alive: {leftovers:?}");
        for pid in &leftovers {
            testing::signal(*pid, "KILL");
        }
    }
    drop(reaper);
    let busy_after = common::machine_busy_for(Duration::from_secs(2)).await;
    println!(
        "Machine busy without this benchmark: {} before, {} after (of {} CPUs). Total {:.0} s.",
        fmt_pct(busy_before),
        fmt_pct(busy_after),
        common::cpus(),
        total.elapsed().as_secs_f64()
    );
    report.insert("machine_busy_after".into(), json!(busy_after));
    report.insert("server_log_problems".into(), json!(problems.len()));
    report.insert("total_seconds".into(), json!(total.elapsed().as_secs_f64()));
    common::write_report("jobs_load", &Value::Object(report));
    drop(node);
}

/// `text` without its ANSI colour sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The organization, inventory (one localhost host), the `bench` manual
/// project and its one-task template; the instance at capacity_adjustment 1.
async fn setup(node: Node, venv: PathBuf) -> Env {
    let admin = Api {
        http: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client"),
        ..node.admin()
    };
    let db = node.db.client().await;
    let organization = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "bench"}))
            .await,
    );
    let inventory = id_of(
        &admin
            .create(
                "/api/v2/inventories/",
                json!({"name": "local", "organization": organization}),
            )
            .await,
    );
    admin
        .create(
            "/api/v2/hosts/",
            json!({"name": "localhost", "inventory": inventory, "variables": HOST_VARS}),
        )
        .await;
    let (project, template) =
        project_and_template(&node, &admin, organization, inventory, "bench").await;
    let user: i64 = db
        .query_one("SELECT id FROM users WHERE username = 'admin'", &[])
        .await
        .expect("admin user")
        .get(0);
    let name = node.server.node_name();
    let (status, instances) = admin
        .get(&format!("/api/v2/instances/?hostname={name}"))
        .await;
    assert_eq!(status, 200, "instances: {instances}");
    let instance = instances["results"][0]["id"]
        .as_i64()
        .expect("the node's instance");
    let instance_url = format!("/api/v2/instances/{instance}/");
    // 1 (AWX's default: the larger of the CPU and memory capacities);
    // RAWX_BENCH_CAPACITY_ADJUSTMENT runs fewer jobs at once.
    let adjustment: f64 = std::env::var("RAWX_BENCH_CAPACITY_ADJUSTMENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|a: &f64| (0.0..=1.0).contains(a))
        .unwrap_or(1.0);
    let (status, body) = admin
        .patch(&instance_url, json!({"capacity_adjustment": adjustment}))
        .await;
    assert_eq!(status, 200, "capacity_adjustment: {body}");
    Env {
        node,
        admin,
        db,
        venv,
        organization,
        inventory,
        user,
        instance,
        instance_url,
        project,
        template,
        capacity_adjustment: adjustment,
    }
}

fn id_of(object: &Value) -> i64 {
    object["id"].as_i64().expect("the object's id")
}

/// A manual project whose directory (under the node's projects root) holds
/// the playbook, and an allow_simultaneous template on it.
async fn project_and_template(
    node: &Node,
    admin: &Api,
    organization: i64,
    inventory: i64,
    name: &str,
) -> (i64, i64) {
    let dir = project_dir(node, name);
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("site.yml"), PLAYBOOK).expect("playbook");
    let project = id_of(
        &admin
            .create(
                "/api/v2/projects/",
                json!({"name": name, "organization": organization, "scm_type": "", "local_path": name}),
            )
            .await,
    );
    let template = id_of(
        &admin
            .create(
                "/api/v2/job_templates/",
                json!({"name": name, "project": project, "inventory": inventory,
                       "playbook": "site.yml", "allow_simultaneous": true}),
            )
            .await,
    );
    (project, template)
}

fn project_dir(node: &Node, name: &str) -> PathBuf {
    node.server.data_dir.path().join("projects").join(name)
}

/// The node's capacity as the TaskManager computes it, and the template's
/// task impact (1 + min(forks, hosts)).
async fn capacity(env: &Env) -> (i64, i32) {
    let row = env
        .db
        .query_one(
            "SELECT (least(cpu_capacity, mem_capacity)
                     + (greatest(cpu_capacity, mem_capacity) - least(cpu_capacity, mem_capacity))
                       * capacity_adjustment)::int8
               FROM instances WHERE id = $1",
            &[&env.instance],
        )
        .await
        .expect("capacity");
    let hosts: i64 = env
        .db
        .query_one(
            "SELECT count(*) FROM hosts WHERE inventory_id = $1",
            &[&env.inventory],
        )
        .await
        .expect("hosts")
        .get(0);
    let forks = 5; // the template's forks are 0: ansible's default
    (row.get(0), 1 + i32::try_from(hosts.min(forks)).unwrap_or(0))
}

/// A launch's job id, response time (ms) and the job's status in the
/// response; or why it was refused.
type Launched = Result<(i64, f64, String), String>;

/// Launches the template once.
async fn launch(admin: &Api, template: i64) -> Launched {
    let started = Instant::now();
    let response = admin
        .request(
            reqwest::Method::POST,
            &format!("/api/v2/job_templates/{template}/launch/"),
        )
        .json(&json!({}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let elapsed = ms(started.elapsed());
    if status != 201 {
        return Err(format!("{status}: {body}"));
    }
    let job = body["job"]
        .as_i64()
        .ok_or_else(|| format!("no job id in {body}"))?;
    Ok((
        job,
        elapsed,
        body["status"].as_str().unwrap_or_default().to_string(),
    ))
}

/// `(id, final, event_processing_finished, status)` of each job.
async fn job_states(db: &tokio_postgres::Client, ids: &[i64]) -> Vec<(i64, bool, bool, String)> {
    db.query(
        "SELECT id, status = ANY($2), event_processing_finished, status FROM unified_jobs WHERE id = ANY($1)",
        &[&ids, &FINAL],
    )
    .await
    .expect("job states")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// How long the jobs may make no progress before the bench stops waiting
/// for them (a job left `waiting` or `running` for good).
const STALL: Duration = Duration::from_secs(120);

/// How following a set of jobs ended.
struct Followed {
    /// When the last job was seen done, or when the last progress was seen.
    at: Instant,
    /// The most jobs seen running at once.
    peak_running: usize,
    /// Jobs final with their events stored.
    done: usize,
    /// Jobs never seen done: (id, status), when the bench gave up.
    stuck: Vec<(i64, String)>,
}

/// Polls until every job is final with its events stored, or until
/// nothing moved for `STALL`.
async fn wait_done(db: &tokio_postgres::Client, ids: &[i64], every: Duration) -> Followed {
    let mut peak_running = 0;
    let mut last = (0usize, Instant::now());
    loop {
        let states = job_states(db, ids).await;
        let done = states.iter().filter(|(_, f, e, _)| *f && *e).count();
        let running = states.iter().filter(|(_, _, _, s)| s == "running").count();
        peak_running = peak_running.max(running);
        if done == ids.len() {
            return Followed {
                at: Instant::now(),
                peak_running,
                done,
                stuck: Vec::new(),
            };
        }
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() > STALL {
            let stuck = states
                .into_iter()
                .filter(|(_, f, e, _)| !(*f && *e))
                .map(|(id, _, _, status)| (id, status))
                .collect();
            return Followed {
                at: last.1,
                peak_running,
                done,
                stuck,
            };
        }
        tokio::time::sleep(every).await;
    }
}

/// created → started, started → finished (ms) and the statuses of `ids`.
async fn job_timings(
    db: &tokio_postgres::Client,
    ids: &[i64],
) -> (Vec<f64>, Vec<f64>, BTreeMap<String, usize>) {
    let rows = db
        .query(
            "SELECT status,
                    (extract(epoch FROM started - created) * 1000)::float8,
                    (extract(epoch FROM finished - started) * 1000)::float8
               FROM unified_jobs WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("job timings");
    let mut waits = Vec::new();
    let mut runs = Vec::new();
    let mut statuses = BTreeMap::new();
    for row in rows {
        *statuses.entry(row.get::<_, String>(0)).or_default() += 1;
        if let Some(wait) = row.get::<_, Option<f64>>(1) {
            waits.push(wait);
        }
        if let Some(run) = row.get::<_, Option<f64>>(2) {
            runs.push(run);
        }
    }
    (waits, runs, statuses)
}

// ---- bare ansible-runner ------------------------------------------------------

/// A private data dir like the one rawx writes for the job: the playbook
/// under `project/`, the inventory as the same executable JSON script.
fn bare_pdd(root: &Path, name: &str) -> PathBuf {
    let pdd = root.join(name);
    std::fs::create_dir_all(pdd.join("project")).expect("project dir");
    std::fs::create_dir_all(pdd.join("inventory")).expect("inventory dir");
    std::fs::write(pdd.join("project/site.yml"), PLAYBOOK).expect("playbook");
    let document = json!({
        "all": {"hosts": ["localhost"], "children": [], "vars": {}},
        "_meta": {"hostvars": {"localhost": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
    });
    let script = format!("#!/bin/sh\ncat <<'RAWX_INVENTORY_END'\n{document}\nRAWX_INVENTORY_END\n");
    let hosts = pdd.join("inventory/hosts");
    std::fs::write(&hosts, script).expect("inventory");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hosts, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    pdd
}

/// `ansible-runner run <pdd> -p site.yml` with the environment rawx gives
/// its runs; killed if dropped.
fn bare_command(venv: &Path, pdd: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(venv.join("bin/ansible-runner"));
    command
        .arg("run")
        .arg(pdd)
        .arg("-p")
        .arg("site.yml")
        .env_clear()
        .env("PATH", rawx::exec::runner::clean_path(venv))
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(pdd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Whether the run on `pdd` ended `successful` (its artifacts say so).
fn bare_successful(pdd: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(pdd.join("artifacts")) else {
        return false;
    };
    entries.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("status")).is_ok_and(|s| s.trim() == "successful")
    })
}

/// One bare run, start to exit, in ms; whether it succeeded.
async fn bare_once(venv: &Path, pdd: &Path) -> (f64, bool) {
    let _ = std::fs::remove_dir_all(pdd.join("artifacts"));
    let started = Instant::now();
    let status = bare_command(venv, pdd)
        .status()
        .await
        .expect("run ansible-runner");
    let elapsed = ms(started.elapsed());
    (elapsed, status.success() && bare_successful(pdd))
}

/// One bare `ansible-runner worker` run (the streaming mode rawx uses,
/// kwargs on stdin, events and artifacts on stdout, drained here), start
/// to exit, in ms; whether its stream said `successful`.
async fn bare_worker_once(venv: &Path, pdd: &Path) -> (f64, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = std::fs::remove_dir_all(pdd.join("artifacts"));
    let started = Instant::now();
    let mut command = tokio::process::Command::new(venv.join("bin/ansible-runner"));
    command
        .arg("worker")
        .arg("--private-data-dir")
        .arg(pdd)
        .env_clear()
        .env("PATH", rawx::exec::runner::clean_path(venv))
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .current_dir(pdd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("spawn ansible-runner worker");
    let mut stdin = child.stdin.take().expect("worker stdin");
    stdin
        .write_all(
            b"{\"kwargs\": {\"playbook\": \"site.yml\", \"ident\": \"1\"}}\n{\"eof\": true}\n",
        )
        .await
        .expect("write kwargs");
    drop(stdin);
    let mut out = Vec::new();
    let mut stdout = child.stdout.take().expect("worker stdout");
    let _ = stdout.read_to_end(&mut out).await;
    let status = child.wait().await.expect("wait for the worker");
    let elapsed = ms(started.elapsed());
    let text = String::from_utf8_lossy(&out);
    (
        elapsed,
        status.success() && text.contains("\"status\": \"successful\""),
    )
}

/// CPU time (user + system) process `pid` has used, in ms.
fn process_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 a second on Linux.
    Some((utime + stime) * 10.0)
}

/// CPU ms `pid` used since `since`.
fn cpu_since(pid: u32, since: Option<f64>) -> Option<f64> {
    Some(process_cpu_ms(pid)? - since?)
}

/// Pids of processes whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid != me && cmdline.contains(text)).then_some(pid)
        })
        .collect()
}

// ---- 1. launch overhead ---------------------------------------------------------

/// One job through the API to its end: (launch → done ms, created → started
/// ms, started → finished ms, whether it succeeded).
async fn rawx_once(env: &Env) -> (f64, f64, f64, bool) {
    let started = Instant::now();
    let (job, _, _) = launch(&env.admin, env.template)
        .await
        .expect("launch the template");
    let followed = wait_done(&env.db, &[job], Duration::from_millis(10)).await;
    assert!(
        followed.stuck.is_empty(),
        "job {job} made no progress for {STALL:?}: {:?}",
        followed.stuck
    );
    let wall = ms(followed.at - started);
    let (waits, runs, statuses) = job_timings(&env.db, &[job]).await;
    (
        wall,
        waits.first().copied().unwrap_or(f64::NAN),
        runs.first().copied().unwrap_or(f64::NAN),
        statuses.contains_key("successful"),
    )
}

async fn overhead(env: &Env, runs: usize) -> Value {
    println!();
    println!("== launch overhead: one job at a time, {runs} runs each after a warm-up ==");
    let work = tempfile::tempdir().expect("work dir");
    let pdd = bare_pdd(work.path(), "bare");
    let busy = common::CpuMark::now();
    // Warm-ups: page cache, Python bytecode, the node's statement caches.
    let _ = bare_once(&env.venv, &pdd).await;
    let _ = bare_worker_once(&env.venv, &pdd).await;
    let _ = rawx_once(env).await;
    let mut bare = Vec::new();
    let mut worker = Vec::new();
    let mut rawx = Vec::new();
    let mut waits = Vec::new();
    let mut runs_ms = Vec::new();
    let mut failures = 0;
    for i in 0..runs {
        let (b, ok_b) = bare_once(&env.venv, &pdd).await;
        let (wk, ok_w) = bare_worker_once(&env.venv, &pdd).await;
        let (r, wait, run, ok_r) = rawx_once(env).await;
        println!(
            "  run {}: bare ansible-runner run {b:.0} ms, bare worker {wk:.0} ms, rawx launch → done {r:.0} ms \
             (created → started {wait:.0} ms, started → finished {run:.0} ms)",
            i + 1
        );
        failures += usize::from(!ok_b) + usize::from(!ok_w) + usize::from(!ok_r);
        bare.push(b);
        worker.push(wk);
        rawx.push(r);
        waits.push(wait);
        runs_ms.push(run);
    }
    let busy = busy.busy_since();
    let (b, wk, r, w, run) = (
        Stats::of(&bare),
        Stats::of(&worker),
        Stats::of(&rawx),
        Stats::of(&waits),
        Stats::of(&runs_ms),
    );
    let r_ratio = ratio(r.p50, b.p50);
    println!();
    println!("| measure | median | min | max |");
    println!("|---|---|---|---|");
    let row = |name: &str, s: &Stats| {
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.0} ms |",
            s.p50, s.min, s.max
        )
    };
    row("bare `ansible-runner run` (baseline)", &b);
    row("rawx: launch → successful & events stored", &r);
    row("rawx: launch → runner started (`started` − `created`)", &w);
    row("rawx: `started` → `finished`", &run);
    row(
        "diagnostic: bare `ansible-runner worker` (the streaming mode rawx runs)",
        &wk,
    );
    println!(
        "| ratio rawx / bare run (medians) | **{}** | | |",
        fmt_ratio(r_ratio)
    );
    println!(
        "Target: ratio ≤ {TARGET_OVERHEAD_RATIO}: {}. Failed runs: {failures}. Machine busy during: {}.",
        verdict(r_ratio.is_some_and(|x| x <= TARGET_OVERHEAD_RATIO)),
        fmt_pct(busy)
    );
    json!({
        "runs": runs,
        "bare_ms": b.to_json(),
        "rawx_ms": r.to_json(),
        "created_to_started_ms": w.to_json(),
        "started_to_finished_ms": run.to_json(),
        "bare_worker_ms": wk.to_json(),
        "ratio": r_ratio,
        "target_ratio": TARGET_OVERHEAD_RATIO,
        "failures": failures,
        "machine_busy": busy,
    })
}

// ---- 2. throughput under load -----------------------------------------------------

async fn throughput(env: &Env, jobs: usize, templates: usize, clients: usize) -> Value {
    println!();
    println!(
        "== throughput: {jobs} one-task jobs at once ({templates} template(s), {}) ==",
        if clients == 0 {
            "every launch request at once".to_string()
        } else {
            format!("launch requests {clients} at a time")
        }
    );
    let work = tempfile::tempdir().expect("work dir");
    let pdds: Vec<PathBuf> = (0..jobs)
        .map(|i| bare_pdd(work.path(), &format!("run-{i}")))
        .collect();

    // Bare: every runner started at once.
    let busy = common::CpuMark::now();
    let started = Instant::now();
    let children: Vec<_> = pdds
        .iter()
        .map(|pdd| bare_command(&env.venv, pdd).spawn().expect("spawn"))
        .collect();
    let waits = children.into_iter().map(|mut child| async move {
        let status = child.wait().await;
        let done = Instant::now();
        (status.map(|s| s.success()).unwrap_or(false), done)
    });
    let results = futures_util::future::join_all(waits).await;
    let bare_wall = ms(started.elapsed());
    let bare_busy = busy.busy_since();
    let bare_ok = results
        .iter()
        .zip(&pdds)
        .filter(|((ok, _), pdd)| *ok && bare_successful(pdd))
        .count();
    let bare_each: Vec<f64> = results.iter().map(|(_, at)| ms(*at - started)).collect();
    println!(
        "  bare: {jobs} × ansible-runner run at once: {:.1} s ({bare_ok} successful)",
        bare_wall / 1000.0
    );
    drop(work);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // rawx: every launch at once (over `templates` copies of the template:
    // 1 by default, more to see what one template's row costs).
    let mut template_ids = vec![env.template];
    for i in 1..templates.min(jobs) {
        template_ids.push(id_of(
            &env.admin
                .create(
                    "/api/v2/job_templates/",
                    json!({"name": format!("bench-{i}"), "project": env.project,
                           "inventory": env.inventory, "playbook": "site.yml",
                           "allow_simultaneous": true}),
                )
                .await,
        ));
    }
    let cycles_before = task_manager_cycles(&env.admin).await;
    let server = env.node.server.pid();
    let server_cpu = process_cpu_ms(server);
    let busy = common::CpuMark::now();
    let started = Instant::now();
    let stop = Rc::new(Cell::new(false));
    let sampler = sample_postgres(
        env.node.db.url.clone(),
        env.node.db.name.clone(),
        Rc::clone(&stop),
    );
    let sampler = tokio::task::spawn_local(sampler);
    let launched: Vec<Launched> = if clients == 0 {
        let launches = (0..jobs).map(|i| launch(&env.admin, template_ids[i % template_ids.len()]));
        futures_util::future::join_all(launches).await
    } else {
        // Diagnostic: at most `clients` launch requests in flight.
        let next = Rc::new(Cell::new(0usize));
        let results = Rc::new(RefCell::new(Vec::with_capacity(jobs)));
        let workers = (0..clients).map(|_| {
            let next = Rc::clone(&next);
            let results = Rc::clone(&results);
            let template_ids = &template_ids;
            async move {
                loop {
                    let i = next.get();
                    if i >= jobs {
                        return;
                    }
                    next.set(i + 1);
                    let result = launch(&env.admin, template_ids[i % template_ids.len()]).await;
                    results.borrow_mut().push(result);
                }
            }
        });
        futures_util::future::join_all(workers).await;
        std::mem::take(&mut *results.borrow_mut())
    };
    let launch_wall = ms(started.elapsed());
    let mut ids = Vec::new();
    let mut launch_ms = Vec::new();
    let mut launch_errors: BTreeMap<String, usize> = BTreeMap::new();
    for result in launched {
        match result {
            Ok((id, elapsed, _)) => {
                ids.push(id);
                launch_ms.push(elapsed);
            }
            Err(err) => *launch_errors.entry(err).or_default() += 1,
        }
    }
    let failed_launches: usize = launch_errors.values().sum();
    for (err, count) in &launch_errors {
        println!("  {count} launch(es) failed: {err}");
    }
    if ids.is_empty() {
        println!("  no launch was accepted: the throughput benchmark stops here");
        return json!({"error": "no launch was accepted", "launch_errors": launch_errors});
    }
    let followed = wait_done(&env.db, &ids, Duration::from_millis(100)).await;
    stop.set(true);
    let profile = sampler.await.unwrap_or_default();
    let peak_running = followed.peak_running;
    let rawx_wall = ms(followed.at - started);
    if !followed.stuck.is_empty() {
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, status) in &followed.stuck {
            *by_status.entry(status.as_str()).or_default() += 1;
        }
        println!(
            "  {} job(s) made no progress for {} s and were given up on: {by_status:?} (e.g. {:?})",
            followed.stuck.len(),
            STALL.as_secs(),
            followed
                .stuck
                .iter()
                .take(5)
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        );
    }
    let rawx_busy = busy.busy_since();
    let server_cpu = cpu_since(server, server_cpu);
    let cycles_after = task_manager_cycles(&env.admin).await;
    let (waits, runs, statuses) = job_timings(&env.db, &ids).await;
    let w = Stats::of(&waits);
    let run = Stats::of(&runs);
    let l = Stats::of(&launch_ms);
    let wall_ratio = ratio(rawx_wall, bare_wall);
    let bare_each = Stats::of(&bare_each);
    println!();
    println!("| measure | bare ansible-runner | rawx |");
    println!("|---|---|---|");
    let successful = statuses.get("successful").copied().unwrap_or(0);
    println!(
        "| wall time, {jobs} runs started at once → all done | {:.1} s | {:.1} s{} |",
        bare_wall / 1000.0,
        rawx_wall / 1000.0,
        if followed.stuck.is_empty() {
            String::new()
        } else {
            format!(" (then {} stuck)", followed.stuck.len())
        }
    );
    println!(
        "| runs successful | {bare_ok} of {jobs} | {successful} of {jobs} ({failed_launches} launches refused) |"
    );
    println!("| ratio rawx / bare | | **{}** |", fmt_ratio(wall_ratio));
    println!("| most runs at once | {jobs} | {peak_running} (sampled every 100 ms) |");
    println!(
        "| wait `created` → `started`: mean / p50 / max | – | {:.1} s / {:.1} s / {:.1} s |",
        w.mean / 1000.0,
        w.p50 / 1000.0,
        w.max / 1000.0
    );
    println!(
        "| one run (bare: start → exit; rawx: `started` → `finished`): p50 / max | {:.1} s / {:.1} s | {:.1} s / {:.1} s |",
        bare_each.p50 / 1000.0,
        bare_each.max / 1000.0,
        run.p50 / 1000.0,
        run.max / 1000.0
    );
    println!(
        "| the {jobs} launch requests ({}) | – | {:.2} s; p50 {:.0} ms, max {:.0} ms |",
        if clients == 0 {
            "all sent at once".to_string()
        } else {
            format!("{clients} at a time")
        },
        launch_wall / 1000.0,
        l.p50,
        l.max
    );
    println!(
        "| machine CPUs busy | {} | {} |",
        fmt_pct(bare_busy),
        fmt_pct(rawx_busy)
    );
    println!(
        "| CPU of the rawx process itself (runs excluded) | – | {} |",
        server_cpu.map_or_else(
            || "?".into(),
            |c| format!("{:.1} s ({:.0} ms a job)", c / 1000.0, c / jobs as f64)
        )
    );
    profile.print("PostgreSQL while rawx ran them (the pool holds 16 connections)");
    let met = successful == jobs && wall_ratio.is_some_and(|x| x <= TARGET_THROUGHPUT_RATIO);
    println!(
        "Statuses: {statuses:?}; TaskManager passes: {}. Target: every job successful and ratio ≤ {TARGET_THROUGHPUT_RATIO}: {}. \
         AWX: {AWX_THROUGHPUT_S:.0} s, {AWX_THROUGHPUT_WAIT_S:.0} s average wait.",
        cycles_after.saturating_sub(cycles_before),
        verdict(met)
    );
    json!({
        "jobs": jobs,
        "templates": template_ids.len(),
        "launch_clients": clients,
        "bare_wall_ms": bare_wall,
        "bare_successful": bare_ok,
        "bare_each_ms": bare_each.to_json(),
        "bare_machine_busy": bare_busy,
        "rawx_wall_ms": rawx_wall,
        "rawx_machine_busy": rawx_busy,
        "rawx_server_cpu_ms": server_cpu,
        "ratio": wall_ratio,
        "target_ratio": TARGET_THROUGHPUT_RATIO,
        "peak_running": peak_running,
        "wait_ms": w.to_json(),
        "run_ms": run.to_json(),
        "launch_ms": l.to_json(),
        "launch_wall_ms": launch_wall,
        "statuses": statuses,
        "successful": successful,
        "launch_errors": launch_errors,
        "stuck": followed.stuck.len(),
        "done": followed.done,
        "target_met": met,
        "postgres_samples": profile.samples,
        "postgres_active": profile.top(15).iter().map(|(what, n)| json!({"what": what, "samples": n})).collect::<Vec<_>>(),
        "task_manager_passes": cycles_after.saturating_sub(cycles_before),
    })
}

/// The TaskManager's pass counter from `/api/v2/metrics/`.
async fn task_manager_cycles(admin: &Api) -> u64 {
    let text = admin.text("/api/v2/metrics/").await;
    text.lines()
        .find(|l| l.starts_with("rawx_actor_counter{actor=\"task_manager\",counter=\"cycles\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

// ---- 3. launch rate ------------------------------------------------------------------

/// What one series of launches measured.
struct Launches {
    ids: Vec<i64>,
    errors: Vec<String>,
    not_pending: usize,
    seconds: f64,
    latency: Stats,
    machine_busy: Option<f64>,
    server_cpu_ms: Option<f64>,
    client_cpu_ms: Option<f64>,
    passes: u64,
    /// Samples of PostgreSQL's active backends during the launches.
    profile: Profile,
}

impl Launches {
    fn rate(&self) -> f64 {
        self.ids.len() as f64 / self.seconds
    }

    /// CPU ms a launch: the rawx process, this client, the whole machine.
    fn cpu_per_launch(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        let n = self.ids.len().max(1) as f64;
        (
            self.server_cpu_ms.map(|c| c / n),
            self.client_cpu_ms.map(|c| c / n),
            self.machine_busy
                .map(|b| b * common::cpus() as f64 * self.seconds * 1000.0 / n),
        )
    }

    fn to_json(&self) -> Value {
        let (server, client, machine) = self.cpu_per_launch();
        json!({
            "accepted": self.ids.len(),
            "errors": self.errors.len(),
            "not_pending_in_response": self.not_pending,
            "seconds": self.seconds,
            "launches_per_s": self.rate(),
            "latency_ms": self.latency.to_json(),
            "machine_busy": self.machine_busy,
            "cpu_ms_per_launch": {"rawx": server, "client": client, "machine": machine},
            "task_manager_passes": self.passes,
            "postgres_samples": self.profile.samples,
            "postgres_active": self.profile.top(15).iter().map(|(what, n)| json!({"what": what, "samples": n})).collect::<Vec<_>>(),
        })
    }
}

/// What PostgreSQL's backends on the bench's database were doing, sampled
/// from `pg_stat_activity` every 10 ms: statement (its start) and wait.
#[derive(Default)]
struct Profile {
    samples: usize,
    active: BTreeMap<String, usize>,
}

impl Profile {
    /// The most frequent (statement, wait) pairs.
    fn top(&self, n: usize) -> Vec<(String, usize)> {
        let mut all: Vec<(String, usize)> =
            self.active.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        all.truncate(n);
        all
    }

    fn print(&self, title: &str) {
        let total: usize = self.active.values().sum();
        let busy = self
            .active
            .iter()
            .filter(|(k, _)| k.ends_with("[on CPU]"))
            .map(|(_, v)| v)
            .sum::<usize>();
        println!(
            "  {title}: {} samples; backends in a statement or a transaction on average {:.1} (on CPU {:.1}); most frequent:",
            self.samples,
            total as f64 / self.samples.max(1) as f64,
            busy as f64 / self.samples.max(1) as f64
        );
        for (what, n) in self.top(12) {
            println!(
                "    {:>5.1}%  {what}",
                n as f64 * 100.0 / total.max(1) as f64
            );
        }
    }
}

/// Samples `pg_stat_activity` for database `name` until `stop` is set.
async fn sample_postgres(url: String, name: String, stop: Rc<Cell<bool>>) -> Profile {
    let mut profile = Profile::default();
    let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await
    else {
        return profile;
    };
    tokio::spawn(connection);
    let Ok(statement) = client
        .prepare(
            "SELECT regexp_replace(left(query, 72), '\\s+', ' ', 'g'),
                    CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, '')
                         ELSE state END
               FROM pg_stat_activity
              WHERE datname = $1 AND state IN ('active', 'idle in transaction')
                AND pid <> pg_backend_pid()",
        )
        .await
    else {
        return profile;
    };
    while !stop.get() {
        if let Ok(rows) = client.query(&statement, &[&name]).await {
            profile.samples += 1;
            for row in rows {
                let query: String = row.get(0);
                let wait: String = row.get(1);
                let wait = if wait.is_empty() {
                    "[on CPU]".to_string()
                } else {
                    format!("[{wait}]")
                };
                *profile.active.entry(format!("{query} {wait}")).or_default() += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    profile
}

/// `count` launches by `LAUNCH_CLIENTS` clients, client `i` launching
/// `templates[i % templates.len()]`.
async fn launch_many(env: &Env, templates: &[i64], count: usize) -> Launches {
    let next = Rc::new(Cell::new(0usize));
    let results: Rc<RefCell<Vec<Launched>>> = Rc::new(RefCell::new(Vec::with_capacity(count)));
    let server = env.node.server.pid();
    let passes_before = task_manager_cycles(&env.admin).await;
    let server_cpu = process_cpu_ms(server);
    let client_cpu = process_cpu_ms(std::process::id());
    let busy = common::CpuMark::now();
    let started = Instant::now();
    let clients = (0..LAUNCH_CLIENTS).map(|client| {
        let next = Rc::clone(&next);
        let results = Rc::clone(&results);
        let template = templates[client % templates.len()];
        async move {
            loop {
                let i = next.get();
                if i >= count {
                    return;
                }
                next.set(i + 1);
                let result = launch(&env.admin, template).await;
                results.borrow_mut().push(result);
            }
        }
    });
    let stop = Rc::new(Cell::new(false));
    let sampler = sample_postgres(
        env.node.db.url.clone(),
        env.node.db.name.clone(),
        Rc::clone(&stop),
    );
    let launches = async {
        futures_util::future::join_all(clients).await;
        stop.set(true);
    };
    let ((), profile) = futures_util::future::join(launches, sampler).await;
    let seconds = started.elapsed().as_secs_f64();
    let machine_busy = busy.busy_since();
    let server_cpu_ms = cpu_since(server, server_cpu);
    let client_cpu_ms = cpu_since(std::process::id(), client_cpu);
    let passes = task_manager_cycles(&env.admin)
        .await
        .saturating_sub(passes_before);
    let results = std::mem::take(&mut *results.borrow_mut());
    let mut ids = Vec::new();
    let mut latencies = Vec::new();
    let mut not_pending = 0;
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok((id, elapsed, status)) => {
                ids.push(id);
                latencies.push(elapsed);
                if status != "pending" {
                    not_pending += 1;
                }
            }
            Err(err) => errors.push(err),
        }
    }
    let run = Launches {
        ids,
        errors,
        not_pending,
        seconds,
        latency: Stats::of(&latencies),
        machine_busy,
        server_cpu_ms,
        client_cpu_ms,
        passes,
        profile,
    };
    println!(
        "  {} launches accepted (201) in {:.2} s: {:.0}/s; {} errors; {} not pending in the response",
        run.ids.len(),
        run.seconds,
        run.rate(),
        run.errors.len(),
        run.not_pending
    );
    for err in run.errors.iter().take(3) {
        println!("  error: {err}");
    }
    run
}

/// Enables the instance, wakes the TaskManager and follows `ids` until all
/// have ended: (first pass: when, how many moved), when `moved` were no
/// longer pending, when all had ended, TaskManager passes.
async fn drain(
    env: &Env,
    ids: &[i64],
    moved: usize,
) -> (Option<(f64, i64)>, Option<f64>, f64, u64) {
    let cycles_before = task_manager_cycles(&env.admin).await;
    // The PATCH wakes the TaskManager itself: the clock starts before it.
    let started = Instant::now();
    let (status, body) = env
        .admin
        .patch(&env.instance_url, json!({"enabled": true}))
        .await;
    assert_eq!(status, 200, "enable the instance: {body}");
    let mut first_moved: Option<(f64, i64)> = None;
    let mut moved_at: Option<f64> = None;
    let mut progress = (0i64, Instant::now());
    let all_at = loop {
        let row = env
            .db
            .query_one(
                "SELECT count(*) FILTER (WHERE status <> 'pending'), count(*) FILTER (WHERE status = ANY($2))
                   FROM unified_jobs WHERE id = ANY($1)",
                &[&ids, &FINAL],
            )
            .await
            .expect("progress");
        let (left_pending, finished): (i64, i64) = (row.get(0), row.get(1));
        let now = ms(started.elapsed());
        if first_moved.is_none() && left_pending > 0 {
            first_moved = Some((now, left_pending));
        }
        if moved_at.is_none() && left_pending >= moved as i64 {
            moved_at = Some(now);
        }
        if finished == ids.len() as i64 {
            break now;
        }
        if finished + left_pending != progress.0 {
            progress = (finished + left_pending, Instant::now());
        } else if progress.1.elapsed() > STALL {
            println!(
                "  {} of {} jobs never ended (no progress for {} s): given up on",
                ids.len() as i64 - finished,
                ids.len(),
                STALL.as_secs()
            );
            break ms(progress.1 - started);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cycles = task_manager_cycles(&env.admin)
        .await
        .saturating_sub(cycles_before);
    (first_moved, moved_at, all_at, cycles)
}

async fn set_enabled(env: &Env, enabled: bool) {
    let (status, body) = env
        .admin
        .patch(&env.instance_url, json!({"enabled": enabled}))
        .await;
    assert_eq!(status, 200, "instance enabled={enabled}: {body}");
}

async fn launch_rate(env: &Env, launches: usize, moved: usize) -> Value {
    println!();
    println!(
        "== launch rate: {launches} launches by {LAUNCH_CLIENTS} clients, instance disabled =="
    );
    let (project, template) = project_and_template(
        &env.node,
        &env.admin,
        env.organization,
        env.inventory,
        "launch-rate",
    )
    .await;
    // For the diagnostic: one template per client on the same project.
    let mut spread = vec![template];
    for i in 1..LAUNCH_CLIENTS {
        spread.push(id_of(
            &env.admin
                .create(
                    "/api/v2/job_templates/",
                    json!({"name": format!("launch-rate-{i}"), "project": project,
                           "inventory": env.inventory, "playbook": "site.yml",
                           "allow_simultaneous": true}),
                )
                .await,
        ));
    }
    set_enabled(env, false).await;
    let main = launch_many(env, &[template], launches).await;
    if main.ids.is_empty() {
        println!("  no launch was accepted: the launch benchmark stops here");
        set_enabled(env, true).await;
        return json!({"error": "no launch was accepted", "errors": main.errors.iter().take(3).collect::<Vec<_>>()});
    }

    // Baseline: plain INSERTs of a unified job and its job row.
    let (baseline_rate, baseline_busy) = insert_baseline(env, template, project, launches).await;

    // The TaskManager moves them on: runs end at once without the project's files.
    let dir = project_dir(&env.node, "launch-rate");
    let moved_dir = dir.with_file_name("launch-rate.moved-away");
    std::fs::rename(&dir, &moved_dir).expect("move the project's directory away");
    let (first_moved, moved_at, all_at, cycles) = drain(env, &main.ids, moved).await;
    let (_, _, statuses) = job_timings(&env.db, &main.ids).await;

    // Diagnostic: the same launches spread over one template per client.
    println!("  diagnostic: the same over {LAUNCH_CLIENTS} templates (one per client)");
    set_enabled(env, false).await;
    let spread_run = launch_many(env, &spread, launches).await;
    let _ = drain(env, &spread_run.ids, moved).await;
    let _ = std::fs::rename(&moved_dir, &dir);

    let capacity = capacity(env).await;
    let at_once = capacity.0 / i64::from(capacity.1.max(1));
    let rate = main.rate();
    let insert_ratio = ratio(rate, baseline_rate);
    let fmt_cpu = |cpu: Option<f64>| cpu.map_or_else(|| "?".into(), |c| format!("{c:.2} ms"));
    let (server_cpu, client_cpu, machine_cpu) = main.cpu_per_launch();
    let (s_server, s_client, s_machine) = spread_run.cpu_per_launch();
    println!();
    println!("| measure | one template | diagnostic: {LAUNCH_CLIENTS} templates |");
    println!("|---|---|---|");
    println!(
        "| launches accepted (201, pending), {LAUNCH_CLIENTS} clients | **{rate:.0}/s** ({} in {:.2} s) | {:.0}/s |",
        main.ids.len(),
        main.seconds,
        spread_run.rate()
    );
    println!(
        "| launch request p50 / p99 / max | {:.1} / {:.1} / {:.1} ms | {:.1} / {:.1} / {:.1} ms |",
        main.latency.p50,
        main.latency.p99,
        main.latency.max,
        spread_run.latency.p50,
        spread_run.latency.p99,
        spread_run.latency.max
    );
    println!(
        "| CPU a launch: rawx process / this client / whole machine | {} / {} / {} | {} / {} / {} |",
        fmt_cpu(server_cpu),
        fmt_cpu(client_cpu),
        fmt_cpu(machine_cpu),
        fmt_cpu(s_server),
        fmt_cpu(s_client),
        fmt_cpu(s_machine)
    );
    println!(
        "| TaskManager passes during the launches (instance disabled) | {} | {} |",
        main.passes, spread_run.passes
    );
    println!(
        "| machine CPUs busy | {} | {} |",
        fmt_pct(main.machine_busy),
        fmt_pct(spread_run.machine_busy)
    );
    println!(
        "| baseline: plain INSERTs (unified job + job), 16 connections | {baseline_rate:.0}/s (machine {} busy) | |",
        fmt_pct(baseline_busy)
    );
    println!(
        "| ratio launches / INSERTs | {} | {} |",
        fmt_ratio(insert_ratio),
        fmt_ratio(ratio(spread_run.rate(), baseline_rate))
    );
    println!();
    println!(
        "| after enabling the instance ({at_once} jobs at once by capacity; runs end as `error` at setup) | |"
    );
    println!("|---|---|");
    match first_moved {
        Some((at, count)) => {
            println!("| first pass: jobs moved on from pending / when | {count} / {at:.0} ms |")
        }
        None => println!("| first pass | – |"),
    }
    println!(
        "| {moved} of {} moved on from pending | {} |",
        main.ids.len(),
        moved_at.map_or_else(|| "-".into(), |m| format!("{:.2} s", m / 1000.0))
    );
    println!(
        "| all {} ended | {:.2} s, {cycles} TaskManager passes |",
        main.ids.len(),
        all_at / 1000.0
    );
    println!();
    main.profile
        .print("PostgreSQL during the launches of one template");
    spread_run.profile.print(&format!(
        "PostgreSQL during the launches over {LAUNCH_CLIENTS} templates"
    ));
    println!(
        "Statuses: {statuses:?}. Target: ≥ {TARGET_LAUNCHES_PER_S:.0} launches/s: {}. AWX: {AWX_LAUNCHES_PER_S} launches/s, {AWX_LAUNCH_REQUEST_S} s per launch request.",
        verdict(rate >= TARGET_LAUNCHES_PER_S)
    );
    json!({
        "launches": launches,
        "clients": LAUNCH_CLIENTS,
        "one_template": main.to_json(),
        "spread_over_templates": spread_run.to_json(),
        "baseline_inserts_per_s": baseline_rate,
        "baseline_machine_busy": baseline_busy,
        "ratio_to_inserts": insert_ratio,
        "target_launches_per_s": TARGET_LAUNCHES_PER_S,
        "capacity_jobs_at_once": at_once,
        "first_pass_ms": first_moved.map(|m| m.0),
        "first_pass_moved": first_moved.map(|m| m.1),
        "moved": moved,
        "moved_ms": moved_at,
        "all_ended_ms": all_at,
        "task_manager_passes": cycles,
        "statuses": statuses,
    })
}

/// `count` plain INSERTs of a unified job (status `new`, so no TaskManager
/// takes them) and its job row, one transaction each, over 16 connections;
/// the rows are deleted after. Returns inserts/s and how busy the machine was.
async fn insert_baseline(
    env: &Env,
    template: i64,
    project: i64,
    count: usize,
) -> (f64, Option<f64>) {
    let mut clients = Vec::new();
    for _ in 0..LAUNCH_CLIENTS {
        let (client, connection) = tokio_postgres::connect(&env.node.db.url, tokio_postgres::NoTls)
            .await
            .expect("baseline connection");
        tokio::spawn(connection);
        clients.push(client);
    }
    let next = Rc::new(Cell::new(0usize));
    let ids: Rc<RefCell<Vec<i64>>> = Rc::new(RefCell::new(Vec::with_capacity(count)));
    let busy = common::CpuMark::now();
    let started = Instant::now();
    let workers = clients.iter_mut().map(|client| {
        let next = Rc::clone(&next);
        let ids = Rc::clone(&ids);
        async move {
            let parent = client
                .prepare(
                    "INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, launch_type,
                                               launched_by_id, status, task_impact, created_by, modified_by)
                     VALUES ('job', 'launch-rate', $1, $2, 'manual', $3, 'new', 2, $3, $3) RETURNING id",
                )
                .await
                .expect("prepare");
            let child = client
                .prepare(
                    "INSERT INTO jobs (id, job_template_id, inventory_id, project_id, playbook, extra_vars,
                                       allow_simultaneous)
                     VALUES ($1, $2, $3, $4, 'site.yml', '{}', true)",
                )
                .await
                .expect("prepare");
            loop {
                let i = next.get();
                if i >= count {
                    return;
                }
                next.set(i + 1);
                let tx = client.transaction().await.expect("begin");
                let id: i64 = tx
                    .query_one(&parent, &[&template, &env.organization, &env.user])
                    .await
                    .expect("insert unified job")
                    .get(0);
                tx.execute(&child, &[&id, &template, &env.inventory, &project])
                    .await
                    .expect("insert job");
                tx.commit().await.expect("commit");
                ids.borrow_mut().push(id);
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let wall = started.elapsed().as_secs_f64();
    let busy = busy.busy_since();
    let ids = std::mem::take(&mut *ids.borrow_mut());
    env.db
        .execute("DELETE FROM unified_jobs WHERE id = ANY($1)", &[&ids])
        .await
        .expect("delete the baseline's rows");
    (ids.len() as f64 / wall, busy)
}
