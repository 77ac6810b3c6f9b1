//! What the benchmarks (`task_manager`, `jobs_load`, `api_load`, and
//! `mesh_throughput` through a `#[path]`) share: summaries
//! of timings, how busy the machine is, where reports go.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

/// The CPUs this process may use.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// (busy, total) clock ticks of the whole machine since boot.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user)
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// utime + stime of a process (`None`: this one), in clock ticks.
pub fn process_ticks(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the command name, which ends with the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// A point to measure the machine's CPU use from.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark(Option<(u64, u64)>);

impl CpuMark {
    pub fn now() -> CpuMark {
        CpuMark(machine_ticks())
    }

    /// The share (0..=1) of all CPUs that was busy since the mark.
    pub fn busy_since(&self) -> Option<f64> {
        let (busy0, total0) = self.0?;
        let (busy1, total1) = machine_ticks()?;
        let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
        Some(busy1.saturating_sub(busy0) as f64 / total as f64)
    }
}

/// How busy the machine is over `period`, with nothing of ours running:
/// a figure well above 0 means another build or test shares the CPUs.
pub async fn machine_busy_for(period: Duration) -> Option<f64> {
    let mark = CpuMark::now();
    tokio::time::sleep(period).await;
    mark.busy_since()
}

/// Summary of a series of timings in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Stats {
    /// The summary of `values` (all zero when there are none).
    pub fn of(values: &[f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| {
            // Nearest rank.
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        Stats {
            n: sorted.len(),
            min: sorted[0],
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        }
    }

    pub fn to_json(self) -> Value {
        json!({"n": self.n, "min": self.min, "p50": self.p50, "p90": self.p90, "p99": self.p99,
               "max": self.max, "mean": self.mean})
    }
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `a / b`, when `b` is not zero.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

pub fn fmt_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

pub fn fmt_pct(value: Option<f64>) -> String {
    value.map_or_else(|| "?".into(), |v| format!("{:.0}%", v * 100.0))
}

/// "met" / "NOT met".
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

/// The cargo target dir (where the JSON reports go).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Writes `report` to `$CARGO_TARGET_DIR/bench-<name>.json` and says where.
pub fn write_report(name: &str, report: &Value) {
    let out = target_dir().join(format!("bench-{name}.json"));
    match serde_json::to_string_pretty(report)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&out, text + "\n"))
    {
        Ok(()) => println!("{name}: figures written to {}", out.display()),
        Err(err) => println!("{name}: could not write {}: {err}", out.display()),
    }
}

/// A positive integer from the environment, or `default`.
pub fn env_usize(key: &str, default: usize) -> usize {
    match std::env::var(key) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("{key}={value:?} is not a positive integer; using {default}");
                default
            }
        },
        Err(_) => default,
    }
}
