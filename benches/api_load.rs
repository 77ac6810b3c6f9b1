//! `cargo bench --bench api_load` (or `bash benches/run.sh`): the API's list
//! endpoints under load.
//!
//! A release `rawx server` on a fresh database with 10,000 hosts and 1,000
//! job templates is driven by `wrk` (a second process: 2 threads, 16
//! connections, Basic auth, 127.0.0.1 only). Each endpoint's requests/s and
//! p50/p99 latency are printed next to the same run's baseline: the SQL
//! statements that endpoint issues, run directly against PostgreSQL by
//! `pgbench` with the same concurrency, and next to the figures measured on
//! real AWX (quoted in the project's issue). The node's RSS is read from
//! /proc at idle and sampled under load. The same figures go to
//! `$CARGO_TARGET_DIR/bench-api_load.json`.
//!
//! Arguments (after `--`): `--duration SECS` per load run (default 10, or
//! `RAWX_BENCH_SECONDS`).

#[path = "../tests/common/mod.rs"]
mod common;
/// The benchmarks' shared measures (CPU ticks, CPUs).
#[path = "common/mod.rs"]
mod measure;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use common::api::{ADMIN_PASSWORD, Api, Node};

/// Hosts in the inventory the host lists read.
const HOSTS: i64 = 10_000;
/// Job templates the template lists read.
const TEMPLATES: usize = 1_000;
/// Job templates created at once while seeding.
const SEED_CONCURRENCY: usize = 4;
/// Host POSTs sent first and not timed: each pooled connection prepares a
/// statement the first time it runs it, as pgbench's baseline (which runs
/// for seconds) has long done when it is measured.
const HOST_POST_WARMUP: usize = 50;
/// wrk's (and pgbench's) threads and connections.
const THREADS: u32 = 2;
const CONNECTIONS: u32 = 16;
/// AWX's figure for one host POST (sequential), in milliseconds.
const AWX_HOST_POST_MS: f64 = 207.0;
/// Targets from the issue.
const TARGET_RATIO: f64 = 100.0;
const TARGET_IDLE_RSS_MB: f64 = 60.0;

/// What one load run measured (`None` where wrk's output said nothing).
#[derive(Debug, Default, Clone)]
struct Load {
    rps: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    requests: Option<u64>,
    non_2xx: u64,
    socket_errors: u64,
    peak_rss_kb: Option<u64>,
    cpu: Option<Cpu>,
}

/// What one pgbench run measured.
#[derive(Debug, Default, Clone)]
struct Baseline {
    tps: Option<f64>,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    failed: u64,
    cpu: Option<Cpu>,
}

/// One row of the report.
struct Row {
    endpoint: String,
    load: Load,
    baseline: Baseline,
    /// AWX's figure in requests/s, and how to show it.
    awx: Option<(f64, String)>,
    /// What the check request before the load found wrong, if anything.
    problem: Option<String>,
}

impl Row {
    fn ratio_to_baseline(&self) -> Option<f64> {
        ratio(self.load.rps, self.baseline.tps)
    }

    /// The server's CPU time per request, from its share of the run.
    fn cpu_ms_per_request(&self) -> Option<f64> {
        let cores = self.load.cpu?.server_cores;
        let rps = self.load.rps.filter(|r| *r > 0.0)?;
        Some(cores * 1000.0 / rps)
    }

    fn ratio_to_awx(&self) -> Option<f64> {
        ratio(self.load.rps, self.awx.as_ref().map(|(rps, _)| *rps))
    }

    fn to_json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "rps": self.load.rps,
            "p50_ms": self.load.p50_ms,
            "p99_ms": self.load.p99_ms,
            "requests": self.load.requests,
            "non_2xx": self.load.non_2xx,
            "socket_errors": self.load.socket_errors,
            "peak_rss_kb": self.load.peak_rss_kb,
            "server_cpu_cores": self.load.cpu.map(|c| c.server_cores),
            "server_cpu_ms_per_request": self.cpu_ms_per_request(),
            "machine_busy": self.load.cpu.map(|c| c.machine_busy),
            "baseline_machine_busy": self.baseline.cpu.map(|c| c.machine_busy),
            "baseline_qps": self.baseline.tps,
            "baseline_p50_ms": self.baseline.p50_ms,
            "baseline_p99_ms": self.baseline.p99_ms,
            "baseline_failed": self.baseline.failed,
            "ratio_to_baseline": self.ratio_to_baseline(),
            "awx_rps": self.awx.as_ref().map(|(rps, _)| *rps),
            "awx_figure": self.awx.as_ref().map(|(_, text)| text.clone()),
            "ratio_to_awx": self.ratio_to_awx(),
            "problem": self.problem,
        })
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Options from the command line (cargo bench adds `--bench`).
struct Options {
    seconds: u64,
}

fn options() -> Options {
    let mut seconds = std::env::var("RAWX_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = if arg == "--duration" {
            args.next()
        } else if let Some(v) = arg.strip_prefix("--duration=") {
            Some(v.to_string())
        } else {
            if arg != "--bench" {
                eprintln!("api_load: ignoring argument {arg:?}");
            }
            continue;
        };
        match value.as_deref().map(str::parse::<u64>) {
            Some(Ok(s)) if s > 0 => seconds = s,
            _ => eprintln!("api_load: --duration wants a positive number of seconds"),
        }
    }
    Options { seconds }
}

fn main() {
    let options = options();
    for tool in ["wrk", "pgbench"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            eprintln!("api_load: `{tool}` is not on PATH; `bash benches/run.sh` installs it");
            std::process::exit(2);
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(options));
}

/// One GET to load: path, the (count, page length) it must answer, the
/// baseline's SQL, and AWX's figure (requests/s, as shown).
type Target = (
    &'static str,
    Option<(i64, usize)>,
    String,
    Option<(f64, String)>,
);

/// The ids the seeded objects got.
struct Seeded {
    user: i64,
    organization: i64,
    inventory: i64,
    post_inventory: i64,
    project: i64,
    seconds: f64,
}

async fn run(options: Options) {
    let seconds = options.seconds;
    let started = Instant::now();
    // How busy the machine is before anything here runs (other builds, …).
    let background = machine_busy_for(Duration::from_secs(2)).await;
    println!(
        "api_load: machine busy before the run: {} of {} CPUs",
        fmt_pct(background),
        measure::cpus()
    );
    println!("api_load: starting rawx server on a fresh database");
    // The default heartbeat (the test helper's 1 s would add writes).
    let mut node = Node::start_with(&[
        ("RAWX_PRELOAD_DATA", "false"),
        ("RAWX_HEARTBEAT_INTERVAL", "60"),
    ])
    .await;
    let pid = node.server.pid();
    let rss_start = rss_kb(pid, "VmRSS");
    // Pooled connections expire before the server's keep-alive (5 s) ends
    // them, so a request after a load run does not meet a closed one.
    let admin = Api {
        http: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client"),
        ..node.admin()
    };
    let work = tempfile::tempdir().expect("temporary directory");

    let seeded = seed(&node, &admin).await;
    println!(
        "api_load: seeded {HOSTS} hosts (SQL) and {TEMPLATES} job templates (API) in {:.1} s",
        seeded.seconds
    );

    // Settle, then idle RSS.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_idle = rss_kb(pid, "VmRSS");

    let auth = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let client = node.db.client().await;
    let jt_page_ids = ids(
        &client,
        "SELECT o.id FROM job_templates o JOIN unified_job_templates op ON op.id = o.id \
         ORDER BY op.name, o.id LIMIT 25",
    )
    .await;
    let jt_filtered_ids = ids(
        &client,
        "SELECT o.id FROM job_templates o JOIN unified_job_templates op ON op.id = o.id \
         WHERE op.name LIKE 'jt-1%' ORDER BY op.name, o.id LIMIT 50",
    )
    .await;
    let sql = Sql::new(&seeded);

    let filtered_hosts = 1 + 10 + 100 + 1000 + 1; // host-1, host-1x, …, host-10000
    let filtered_templates = 1 + 10 + 100 + 1; // jt-1, jt-1x, jt-1xx, jt-1000
    let targets: Vec<Target> = vec![
        (
            "/api/v2/ping/",
            None,
            sql.ping(),
            Some((72.0, "72 req/s".into())),
        ),
        (
            "/api/v2/hosts/?page_size=200",
            Some((HOSTS, 200)),
            sql.hosts(None),
            Some((0.99, "0.99 req/s (p50 7.5 s, 1,000 hosts)".into())),
        ),
        (
            "/api/v2/hosts/?page_size=200&name__icontains=host-1&order_by=-name",
            Some((filtered_hosts, 200)),
            sql.hosts(Some("host-1")),
            None,
        ),
        (
            "/api/v2/job_templates/",
            Some((TEMPLATES as i64, 25)),
            sql.templates(None, &jt_page_ids, 25),
            Some((5.3, "5.3 req/s (p50 2.8 s)".into())),
        ),
        (
            "/api/v2/job_templates/?name__startswith=jt-1&page_size=50",
            Some((filtered_templates, 50)),
            sql.templates(Some("jt-1"), &jt_filtered_ids, 50),
            None,
        ),
    ];

    let pg = PgEnv::from_url(&node.db.url);
    let mut rows = Vec::new();
    for (path, expect, script, awx) in targets {
        let problem = check(&admin, path, expect).await;
        if let Some(problem) = &problem {
            println!("api_load: WARNING {path}: {problem}");
        }
        let url = format!("{}{path}", node.server.base);
        println!("api_load: wrk {path} ({seconds} s)");
        let load = run_wrk(&url, &auth, seconds, pid, work.path(), &CONCURRENT);
        let name = format!("baseline-{}", rows.len());
        println!("api_load: pgbench baseline for {path} ({seconds} s)");
        let baseline = run_pgbench(
            &name,
            &script,
            CONNECTIONS,
            THREADS,
            seconds,
            &pg,
            work.path(),
        );
        rows.push(Row {
            endpoint: format!("GET {path}"),
            load,
            baseline,
            awx,
            problem,
        });
    }

    // Host POSTs, one after another, then their baseline on one connection.
    println!("api_load: sequential POST /api/v2/hosts/ ({seconds} s)");
    let (post_row, post_mean_ms) = host_posts(
        &admin,
        &node.server.base,
        &auth,
        pid,
        &seeded,
        &sql,
        &pg,
        seconds,
        work.path(),
    )
    .await;
    rows.push(post_row);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kb(pid, "VmRSS");
    let rss_hwm = rss_kb(pid, "VmHWM");
    let rss_peak = rows.iter().filter_map(|r| r.load.peak_rss_kb).max();

    let status = node.server.terminate();
    let log = node.server.log();
    let log_problems: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("ERROR") || line.contains("WARN") || line.contains("panicked"))
        .collect();
    // And after: other work on the machine during the run shows here too.
    let background_after = machine_busy_for(Duration::from_secs(2)).await;

    print_report(&rows, seconds, (background, background_after));
    let mb = |kb: Option<u64>| kb.map(|kb| kb as f64 / 1024.0);
    println!();
    println!("rawx server RSS (VmRSS of the one process; PostgreSQL and Redis are external):");
    println!("  at start (empty database)   {}", fmt_mb(mb(rss_start)));
    println!(
        "  idle after seeding          {}   (target < {TARGET_IDLE_RSS_MB:.0} MB: {}; AWX: 1.9 GB across its processes)",
        fmt_mb(mb(rss_idle)),
        verdict(mb(rss_idle).map(|m| m < TARGET_IDLE_RSS_MB))
    );
    println!("  peak sampled under load     {}", fmt_mb(mb(rss_peak)));
    println!("  idle after the load         {}", fmt_mb(mb(rss_after)));
    println!("  high-water mark (VmHWM)     {}", fmt_mb(mb(rss_hwm)));
    println!();
    println!(
        "rawx server exited with {status} after SIGTERM; {} ERROR/WARN line(s) in its log",
        log_problems.len()
    );
    for line in log_problems.iter().take(10) {
        println!("  {line}");
    }

    let report = json!({
        "benchmark": "api_load",
        "cpus": measure::cpus(),
        "machine_busy_before": background,
        "machine_busy_after": background_after,
        "duration_s": seconds,
        "wrk": {"threads": THREADS, "connections": CONNECTIONS},
        "pgbench": {"clients": CONNECTIONS, "threads": THREADS, "mode": "prepared"},
        "seed": {
            "hosts": HOSTS,
            "job_templates": TEMPLATES,
            "seconds": seeded.seconds,
            "organization": seeded.organization,
        },
        "endpoints": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "host_post_mean_ms": post_mean_ms,
        "rss_kb": {
            "start": rss_start,
            "idle": rss_idle,
            "peak_under_load": rss_peak,
            "after_load": rss_after,
            "hwm": rss_hwm,
        },
        "targets": {
            "ratio_to_awx": TARGET_RATIO,
            "idle_rss_mb": TARGET_IDLE_RSS_MB,
        },
        "server_log_problems": log_problems.len(),
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    let out = target_dir().join("bench-api_load.json");
    match serde_json::to_string_pretty(&report)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&out, text + "\n"))
    {
        Ok(()) => println!("\nwrote {}", out.display()),
        Err(err) => println!("\ncould not write {}: {err}", out.display()),
    }
    drop(client);
    drop(node);
}

/// The organization, inventories, project, hosts and templates.
async fn seed(node: &Node, admin: &Api) -> Seeded {
    let started = Instant::now();
    let id = |v: &Value| v["id"].as_i64().expect("created object has an id");
    let organization = id(&admin
        .create("/api/v2/organizations/", json!({"name": "Bench"}))
        .await);
    let inventory = id(&admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "bench-hosts", "organization": organization}),
        )
        .await);
    let post_inventory = id(&admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "bench-posts", "organization": organization}),
        )
        .await);
    let project = id(&admin
        .create(
            "/api/v2/projects/",
            json!({"name": "bench-project", "organization": organization, "scm_type": ""}),
        )
        .await);

    let client = node.db.client().await;
    let user: i64 = client
        .query_one("SELECT id FROM users WHERE username = 'admin'", &[])
        .await
        .expect("admin's id")
        .get(0);
    // Hosts are setup, not what is measured: one INSERT … SELECT.
    client
        .execute(
            "INSERT INTO hosts (name, description, inventory_id, variables, created_by, modified_by)
             SELECT 'host-' || g, 'bench host ' || g, $1,
                    format('ansible_host: 10.%s.%s.%s', g / 65536, (g / 256) % 256, g % 256),
                    $2, $2
               FROM generate_series(1::int8, $3::int8) AS g",
            &[&inventory, &user, &HOSTS],
        )
        .await
        .expect("insert hosts");
    client
        .execute(
            "UPDATE inventories SET total_hosts = (SELECT count(*) FROM hosts WHERE inventory_id = $1)
              WHERE id = $1",
            &[&inventory],
        )
        .await
        .expect("count hosts");

    // Job templates through the API, so their roles exist as in real use.
    let next = Arc::new(AtomicUsize::new(1));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SEED_CONCURRENCY {
        let admin = admin.clone();
        let next = next.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i > TEMPLATES {
                    return Ok::<(), String>(());
                }
                let (status, body) = admin
                    .post(
                        "/api/v2/job_templates/",
                        json!({
                            "name": format!("jt-{i}"),
                            "description": format!("bench template {i}"),
                            "project": project,
                            "inventory": inventory,
                            "playbook": "site.yml",
                        }),
                    )
                    .await;
                if status != 201 {
                    return Err(format!(
                        "POST /api/v2/job_templates/ jt-{i}: {status} {body}"
                    ));
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = done.expect("job template task") {
            panic!("seeding job templates failed: {err}");
        }
    }
    client
        .batch_execute("ANALYZE")
        .await
        .expect("analyze after seeding");
    Seeded {
        user,
        organization,
        inventory,
        post_inventory,
        project,
        seconds: started.elapsed().as_secs_f64(),
    }
}

async fn ids(client: &tokio_postgres::Client, query: &str) -> Vec<i64> {
    client
        .query(query, &[])
        .await
        .expect("ids for the baseline")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// One GET before the load: 200 with the expected count and page length.
async fn check(admin: &Api, path: &str, expect: Option<(i64, usize)>) -> Option<String> {
    let (status, body) = admin.get(path).await;
    if status != 200 {
        let text = body.to_string();
        return Some(format!(
            "answered {status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    let (count, page) = expect?;
    let got_count = body["count"].as_i64();
    let got_page = body["results"].as_array().map(Vec::len);
    if got_count != Some(count) || got_page != Some(page) {
        return Some(format!(
            "expected count {count} and {page} results, got count {got_count:?} and {got_page:?} results"
        ));
    }
    None
}

/// `VmRSS`/`VmHWM` of a process in kB.
fn rss_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        line.strip_prefix(key)?
            .strip_prefix(':')?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// CPU used during a run: by the rawx server (in cores) and by the whole
/// machine (busy share of all cores), from /proc.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    server_cores: f64,
    machine_busy: f64,
}

/// A start point for [`Cpu`]: the server's ticks and the machine's.
struct CpuMark {
    server: Option<u64>,
    busy: u64,
    total: u64,
}

impl CpuMark {
    fn now(pid: Option<u32>) -> Option<CpuMark> {
        let (busy, total) = measure::machine_ticks()?;
        Some(CpuMark {
            server: pid.and_then(|pid| measure::process_ticks(Some(pid))),
            busy,
            total,
        })
    }

    /// What was used since the mark.
    fn since(&self, pid: Option<u32>) -> Option<Cpu> {
        let (busy, total) = measure::machine_ticks()?;
        let total = total.checked_sub(self.total).filter(|t| *t > 0)? as f64;
        let busy = busy.saturating_sub(self.busy) as f64;
        let server = match (
            self.server,
            pid.and_then(|pid| measure::process_ticks(Some(pid))),
        ) {
            (Some(before), Some(after)) => after.saturating_sub(before) as f64,
            _ => 0.0,
        };
        Some(Cpu {
            server_cores: server / total * measure::cpus() as f64,
            machine_busy: busy / total,
        })
    }
}

/// The machine's busy share over `period`.
async fn machine_busy_for(period: Duration) -> Option<f64> {
    let mark = CpuMark::now(None);
    tokio::time::sleep(period).await;
    mark.and_then(|mark| mark.since(None))
        .map(|c| c.machine_busy)
}

/// How wrk loads an endpoint: threads, connections, and a Lua script
/// that makes each request (a POST's unique body), if any.
struct Shape<'a> {
    threads: u32,
    connections: u32,
    script: Option<&'a Path>,
}

/// The GETs' load.
const CONCURRENT: Shape<'static> = Shape {
    threads: THREADS,
    connections: CONNECTIONS,
    script: None,
};

/// Runs wrk against `url` for `seconds`, sampling the server's RSS.
fn run_wrk(url: &str, auth: &str, seconds: u64, pid: u32, dir: &Path, shape: &Shape) -> Load {
    let out_path = dir.join("wrk.out");
    let out = std::fs::File::create(&out_path).expect("wrk output file");
    let err = out.try_clone().expect("wrk output file");
    let mut command = Command::new("wrk");
    if let Some(script) = shape.script {
        command.arg("-s").arg(script);
    }
    let mut child = command
        .args([
            format!("-t{}", shape.threads),
            format!("-c{}", shape.connections),
            format!("-d{seconds}s"),
            "--latency".into(),
            "--timeout".into(),
            "30s".into(),
            "-H".into(),
            format!("Authorization: Basic {auth}"),
            url.into(),
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start wrk");
    let mark = CpuMark::now(Some(pid));
    let deadline = Instant::now() + Duration::from_secs(seconds + 60);
    let mut peak: Option<u64> = None;
    loop {
        if let Some(rss) = rss_kb(pid, "VmRSS") {
            peak = Some(peak.map_or(rss, |p| p.max(rss)));
        }
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                println!("api_load: wrk ran past its duration; killing it");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(err) => {
                println!("api_load: waiting for wrk: {err}");
                break;
            }
        }
    }
    let cpu = mark.and_then(|mark| mark.since(Some(pid)));
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut load = parse_wrk(&text);
    load.peak_rss_kb = peak;
    load.cpu = cpu;
    if load.rps.is_none() || load.p50_ms.is_none() || load.p99_ms.is_none() {
        println!("api_load: could not read wrk's figures; its output was:\n{text}");
    }
    load
}

/// Reads wrk's summary (with `--latency`).
fn parse_wrk(text: &str) -> Load {
    let mut load = Load::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            load.rps = rest.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            load.p50_ms = parse_duration_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            load.p99_ms = parse_duration_ms(rest.trim());
        } else if line.contains(" requests in ") {
            load.requests = line.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            load.non_2xx = rest.trim().parse().unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            load.socket_errors = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum();
        }
    }
    load
}

/// `812.00us`, `1.23ms`, `2.50s`, `1.00m` in milliseconds.
fn parse_duration_ms(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(number * factor)
}

/// libpq's environment for the bench database.
struct PgEnv(Vec<(&'static str, String)>);

impl PgEnv {
    fn from_url(url: &str) -> PgEnv {
        let config: tokio_postgres::Config = url.parse().expect("database URL parses");
        let mut vars = Vec::new();
        if let Some(tokio_postgres::config::Host::Tcp(host)) = config.get_hosts().first() {
            vars.push(("PGHOST", host.clone()));
        } else if let Some(tokio_postgres::config::Host::Unix(path)) = config.get_hosts().first() {
            vars.push(("PGHOST", path.display().to_string()));
        }
        if let Some(port) = config.get_ports().first() {
            vars.push(("PGPORT", port.to_string()));
        }
        if let Some(user) = config.get_user() {
            vars.push(("PGUSER", user.to_string()));
        }
        if let Some(password) = config.get_password() {
            vars.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
        }
        if let Some(dbname) = config.get_dbname() {
            vars.push(("PGDATABASE", dbname.to_string()));
        }
        PgEnv(vars)
    }
}

/// Runs `script` with pgbench for `seconds`; per-transaction latencies
/// come from its log files.
fn run_pgbench(
    name: &str,
    script: &str,
    clients: u32,
    threads: u32,
    seconds: u64,
    pg: &PgEnv,
    dir: &Path,
) -> Baseline {
    let script_path = dir.join(format!("{name}.sql"));
    std::fs::write(&script_path, script).expect("write pgbench script");
    let log_dir = dir.join(format!("{name}-log"));
    std::fs::create_dir_all(&log_dir).expect("pgbench log directory");
    let mut cmd = Command::new("pgbench");
    cmd.args(["-n", "-M", "prepared", "-f"])
        .arg(&script_path)
        .args([
            "-c".to_string(),
            clients.to_string(),
            "-j".to_string(),
            threads.to_string(),
            "-T".to_string(),
            seconds.to_string(),
            "-l".to_string(),
            "--log-prefix".to_string(),
            log_dir.join("tx").display().to_string(),
        ])
        .current_dir(&log_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in &pg.0 {
        cmd.env(key, value);
    }
    // pgbench stops by itself after -T; the output is small.
    let mark = CpuMark::now(None);
    let output = cmd.output();
    let cpu = mark.and_then(|mark| mark.since(None));
    let output = match output {
        Ok(output) => output,
        Err(err) => {
            println!("api_load: pgbench did not run: {err}");
            return Baseline::default();
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut baseline = Baseline {
        cpu,
        ..Baseline::default()
    };
    for line in stdout.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("tps = ") {
            baseline.tps = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("number of failed transactions:") {
            baseline.failed = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    if !output.status.success() || baseline.tps.is_none() {
        println!(
            "api_load: pgbench {name} exited with {}; its output was:\n{stdout}\n{stderr}",
            output.status
        );
    }
    // Log lines: client_id transaction_no time_us script_no epoch epoch_us.
    let mut latencies: Vec<f64> = Vec::new();
    for entry in std::fs::read_dir(&log_dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        latencies.extend(text.lines().filter_map(|line| {
            line.split_whitespace()
                .nth(2)
                .and_then(|us| us.parse::<f64>().ok())
                .map(|us| us / 1000.0)
        }));
    }
    baseline.p50_ms = percentile(&mut latencies, 50.0);
    baseline.p99_ms = percentile(&mut latencies, 99.0);
    baseline
}

/// Nearest-rank percentile.
fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// wrk's requests for the host POSTs: one new host each, named uniquely.
const HOST_POST_LUA: &str = r#"
local inventory = "INVENTORY"
local count = 0
-- wrk.format takes these instead of wrk.headers (the -H auth): copy them.
local headers = {}
for name, value in pairs(wrk.headers) do headers[name] = value end
headers["Content-Type"] = "application/json"
request = function()
  count = count + 1
  local body = string.format(
    '{"name": "post-host-%d-%d", "inventory": %s, "variables": "ansible_host: 192.168.%d.%d"}',
    count, math.random(1, 1000000000), inventory, math.floor(count / 256) % 256, count % 256)
  return wrk.format("POST", "/api/v2/hosts/", headers, body)
end
"#;

/// Sequential host POSTs through the API (wrk, one connection: each POST
/// waits for the one before), and their SQL on one connection.
#[allow(clippy::too_many_arguments)]
async fn host_posts(
    admin: &Api,
    base: &str,
    auth: &str,
    pid: u32,
    seeded: &Seeded,
    sql: &Sql,
    pg: &PgEnv,
    seconds: u64,
    dir: &Path,
) -> (Row, Option<f64>) {
    for i in 0..HOST_POST_WARMUP {
        let body = json!({"name": format!("warm-host-{i}"), "inventory": seeded.post_inventory});
        let (status, answer) = admin.post("/api/v2/hosts/", body).await;
        assert_eq!(status, 201, "warm-up POST: {answer}");
    }
    let script = dir.join("host-post.lua");
    let lua = HOST_POST_LUA.replace("INVENTORY", &seeded.post_inventory.to_string());
    std::fs::write(&script, lua).expect("wrk script");
    let sequential = Shape {
        threads: 1,
        connections: 1,
        script: Some(&script),
    };
    let url = format!("{base}/api/v2/hosts/");
    let load = run_wrk(&url, auth, seconds, pid, dir, &sequential);
    // Every answered POST made its host: count them.
    let (_, hosts) = admin
        .get(&format!(
            "/api/v2/inventories/{}/hosts/?page_size=1",
            seeded.post_inventory
        ))
        .await;
    let made = hosts["count"].as_u64().unwrap_or(0);
    let answered = load.requests.unwrap_or(0);
    let warm = HOST_POST_WARMUP as u64;
    let problem = if load.non_2xx > 0 {
        Some(format!("{} POSTs were refused", load.non_2xx))
    } else if made < warm + answered {
        Some(format!(
            "{answered} POSTs answered but {} hosts made",
            made.saturating_sub(warm)
        ))
    } else {
        None
    };
    let mean_ms = load.rps.map(|rps| 1000.0 / rps);
    println!("api_load: pgbench baseline for POST /api/v2/hosts/ (1 client, {seconds} s)");
    let baseline = run_pgbench("baseline-post", &sql.host_post(), 1, 1, seconds, pg, dir);
    let row = Row {
        endpoint: "POST /api/v2/hosts/ (sequential)".into(),
        load,
        baseline,
        awx: Some((
            1000.0 / AWX_HOST_POST_MS,
            format!("{AWX_HOST_POST_MS:.0} ms each (4.8 req/s)"),
        )),
        problem,
    };
    (row, mean_ms)
}

/// The statements each endpoint issues (as src/ builds them today), for
/// pgbench. One pgbench "transaction" is one API request's worth of SQL.
struct Sql {
    user: i64,
    organization: i64,
    inventory: i64,
    post_inventory: i64,
    project: i64,
}

const AUTH_SQL: &str = "SELECT id, username, first_name, last_name, email, is_superuser, \
    is_system_auditor, last_login, created, modified, password FROM users \
    WHERE username = 'admin' AND is_active;\n";

const HOST_COLUMNS: &str = "o.id, o.created, o.modified, o.name, o.description, \
    o.inventory_id, o.enabled, o.instance_id, o.variables, \
    (SELECT EXISTS (SELECT 1 FROM job_host_summaries s WHERE s.id = o.last_job_host_summary_id AND s.failed)) AS has_active_failures, \
    (SELECT EXISTS (SELECT 1 FROM host_inventory_sources hs WHERE hs.host_id = o.id)) AS has_inventory_sources, \
    o.last_job_id, o.last_job_host_summary_id, o.ansible_facts_modified, o.created_by, o.modified_by";

impl Sql {
    fn new(seeded: &Seeded) -> Sql {
        Sql {
            user: seeded.user,
            organization: seeded.organization,
            inventory: seeded.inventory,
            post_inventory: seeded.post_inventory,
            project: seeded.project,
        }
    }

    fn inventory_summary(&self, id: i64) -> String {
        format!(
            "SELECT o.id, o.name, o.description, o.has_active_failures, o.total_hosts, \
             o.hosts_with_active_failures, o.total_groups, o.has_inventory_sources, \
             o.total_inventory_sources, o.inventory_sources_with_failures, o.kind \
             FROM inventories o WHERE o.id = ANY('{{{id}}}'::int8[]);\n"
        )
    }

    fn user_summary(&self) -> String {
        format!(
            "SELECT o.id, o.username, o.first_name, o.last_name FROM users o \
             WHERE o.id = ANY('{{{}}}'::int8[]);\n",
            self.user
        )
    }

    /// `/api/v2/ping/`: the instances and the instance groups.
    fn ping(&self) -> String {
        "SELECT hostname, node_type, uuid, last_seen, capacity, version \
         FROM instances ORDER BY hostname, id;\n\
         SELECT g.name, coalesce(sum(i.capacity) FILTER (WHERE i.enabled AND i.node_state = 'ready'), 0)::int8 AS capacity, \
         coalesce(array_agg(i.hostname ORDER BY i.hostname) FILTER (WHERE i.id IS NOT NULL), '{}') AS instances \
         FROM instance_groups g LEFT JOIN instance_group_instances gi ON gi.instance_group_id = g.id \
         LEFT JOIN instances i ON i.id = gi.instance_id GROUP BY g.id, g.name ORDER BY g.name;\n"
            .into()
    }

    /// `/api/v2/hosts/?page_size=200[&name__icontains=…&order_by=-name]`.
    fn hosts(&self, icontains: Option<&str>) -> String {
        let (filter, order) = match icontains {
            Some(text) => (
                format!("((o.name)::text ILIKE '%{text}%')"),
                "o.name DESC, o.id",
            ),
            None => ("TRUE".to_string(), "o.name, o.id"),
        };
        format!(
            "{AUTH_SQL}\
             SELECT count(*) FROM hosts o WHERE {filter};\n\
             SELECT {HOST_COLUMNS} FROM hosts o WHERE {filter} ORDER BY {order} OFFSET 0 LIMIT 200;\n\
             {}{}",
            self.inventory_summary(self.inventory),
            self.user_summary()
        )
    }

    /// `/api/v2/job_templates/[?name__startswith=…&page_size=…]`.
    fn templates(&self, startswith: Option<&str>, page_ids: &[i64], page_size: usize) -> String {
        let filter = match startswith {
            Some(text) => format!("((op.name)::text LIKE '{text}%')"),
            None => "TRUE".into(),
        };
        let ids: Vec<String> = page_ids.iter().map(i64::to_string).collect();
        let from = "job_templates o JOIN unified_job_templates op ON op.id = o.id";
        format!(
            "{AUTH_SQL}\
             SELECT count(*) FROM {from} WHERE {filter};\n\
             SELECT o.*, op.name, op.description, op.organization_id, op.last_job_run, \
             op.last_job_failed, op.next_job_run, op.status, op.execution_environment_id, \
             op.created, op.modified, op.created_by, op.modified_by \
             FROM {from} WHERE {filter} ORDER BY op.name, o.id OFFSET 0 LIMIT {page_size};\n\
             {}\
             SELECT o.id, op.name, op.description, op.status, o.scm_type, o.allow_override \
             FROM projects o JOIN unified_job_templates op ON op.id = o.id \
             WHERE o.id = ANY('{{{}}}'::int8[]);\n\
             SELECT o.id, o.name, o.description FROM organizations o \
             WHERE o.id = ANY('{{{}}}'::int8[]);\n\
             {}\
             SELECT object_id, role_field, id FROM roles \
             WHERE content_type = 'job_template' AND object_id = ANY('{{{}}}'::int8[]);\n",
            self.inventory_summary(self.inventory),
            self.project,
            self.organization,
            self.user_summary(),
            ids.join(","),
        )
    }

    /// `POST /api/v2/hosts/`: the inventory's existence and kind (the
    /// credentials come from the cache), then the host and its activity
    /// entry inserted in one statement that returns the host, and what its
    /// rendering reads: the summaries and the named URL's parents.
    fn host_post(&self) -> String {
        let user = self.user;
        let inventory = self.post_inventory;
        format!(
            "SELECT EXISTS (SELECT 1 FROM inventories o WHERE o.id = {inventory});\n\
             SELECT kind FROM inventories WHERE id = {inventory};\n\
             WITH new AS (INSERT INTO hosts (created_by, modified_by, name, description, inventory_id, enabled, instance_id, variables) \
             VALUES ({user}, {user}, 'pgbench-' || gen_random_uuid(), '', {inventory}, true, '', 'ansible_host: 192.168.0.1') \
             RETURNING *), \
             entry AS (INSERT INTO activity_stream (actor_id, operation, object1, object2, object_relationship_type, changes, action_node) \
             VALUES ({user}, 'create', 'host', '', '', '{{\"name\": \"pgbench\", \"inventory\": {inventory}}}', 'bench') \
             RETURNING id), \
             linked AS (INSERT INTO activity_stream_objects (entry_id, object_type, object_id) \
             SELECT entry.id, 'host', new.id FROM entry, new ON CONFLICT DO NOTHING) \
             SELECT {HOST_COLUMNS} FROM new o;\n\
             {}{}\
             SELECT n0.name, n0.organization_id, n1.name FROM inventories n0 \
             LEFT JOIN organizations n1 ON n1.id = n0.organization_id WHERE n0.id = {inventory};\n",
            self.inventory_summary(inventory),
            self.user_summary()
        )
    }
}

fn fmt_num(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
        None => "-".into(),
    }
}

fn fmt_ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 1000.0 => format!("{:.2}s", v / 1000.0),
        Some(v) if v >= 10.0 => format!("{v:.1}ms"),
        Some(v) => format!("{v:.2}ms"),
        None => "-".into(),
    }
}

fn fmt_ratio(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 10.0 => format!("{v:.0}x"),
        Some(v) => format!("{v:.2}x"),
        None => "-".into(),
    }
}

fn fmt_pct(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn fmt_mb(value: Option<f64>) -> String {
    value.map_or("-".into(), |mb| format!("{mb:.1} MB"))
}

fn verdict(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "unknown",
    }
}

/// Prints a table: the first column left-aligned, the others right-aligned.
fn print_table(header: &[&str], table: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let print_line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == 0 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("  {cell:>width$}"));
            }
        }
        println!("{}", out.trim_end());
    };
    print_line(header);
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    print_line(&rules.iter().map(String::as_str).collect::<Vec<_>>());
    for line in table {
        print_line(&line.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

fn print_report(rows: &[Row], seconds: u64, background: (Option<f64>, Option<f64>)) {
    println!();
    println!(
        "api_load: wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s --latency (Basic auth as admin); \
         baseline: the endpoint's SQL by pgbench -M prepared -c{CONNECTIONS} -j{THREADS} -T{seconds} \
         (the POST: wrk -t1 -c1, each POST after the one before, vs pgbench -c1)"
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.endpoint.clone(),
                fmt_num(row.load.rps),
                fmt_ms(row.load.p50_ms),
                fmt_ms(row.load.p99_ms),
                (row.load.non_2xx + row.load.socket_errors).to_string(),
                fmt_num(row.baseline.tps),
                fmt_ms(row.baseline.p50_ms),
                fmt_ratio(row.ratio_to_baseline()),
                row.awx
                    .as_ref()
                    .map_or("-".into(), |(_, text)| text.clone()),
                fmt_ratio(row.ratio_to_awx()),
            ]
        })
        .collect();
    print_table(
        &[
            "endpoint", "req/s", "p50", "p99", "errors", "base q/s", "base p50", "vs base", "AWX",
            "vs AWX",
        ],
        &table,
    );

    println!();
    println!(
        "CPU during each run ({} CPUs; machine busy without this benchmark: {} before, {} after):",
        measure::cpus(),
        fmt_pct(background.0),
        fmt_pct(background.1)
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.endpoint.clone(),
                row.load
                    .cpu
                    .map_or("-".into(), |c| format!("{:.2}", c.server_cores)),
                fmt_ms(row.cpu_ms_per_request()),
                fmt_pct(row.load.cpu.map(|c| c.machine_busy)),
                fmt_pct(row.baseline.cpu.map(|c| c.machine_busy)),
                fmt_ms(row.baseline.p99_ms),
                row.load
                    .peak_rss_kb
                    .map_or("-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0)),
            ]
        })
        .collect();
    print_table(
        &[
            "endpoint",
            "rawx cores",
            "rawx CPU/req",
            "machine busy",
            "busy (baseline)",
            "base p99",
            "peak RSS",
        ],
        &table,
    );

    let mut met: BTreeMap<&str, Option<bool>> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.awx.is_some()) {
        met.insert(&row.endpoint, row.ratio_to_awx().map(|r| r >= TARGET_RATIO));
    }
    println!();
    println!("target >= {TARGET_RATIO:.0}x AWX's throughput:");
    for (endpoint, ok) in met {
        println!("  {endpoint}: {}", verdict(ok));
    }
    for row in rows {
        if let Some(problem) = &row.problem {
            println!("  note: {}: {problem}", row.endpoint);
        }
    }
}

/// Where cargo puts its output: `CARGO_TARGET_DIR`, else the directory
/// three levels above this bench binary (`<target>/release/deps/…`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}
