//! Health checks of execution nodes over the mesh, the heartbeat of nodes
//! that have no database: a control node submits a `worker-info` unit
//! (`ansible-runner worker --worker-info` on the execution node, as AWX
//! checks nodes through Receptor) to each execution instance the mesh
//! reaches, and records its CPUs, memory and capacity, or the error.

use std::io::Cursor;
use std::time::Duration;

use ::mesh::{NodeId, WorkUnitId};
use actors::Supervised;
use actors::mesh_router::{MeshRouter, Release, RouterError, Submit, View};
use serde::Deserialize;

use super::mesh::WORKER_INFO;
use crate::store::{self, Db};

/// How often a reachable execution node is checked again.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
/// How often the loop looks for nodes due a check (a node the mesh has
/// just reached is due at once).
const TICK: Duration = Duration::from_secs(2);
/// How long one check may take before the node counts as unhealthy.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// What `ansible-runner worker --worker-info` reports.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct WorkerInfo {
    pub cpu_count: u32,
    pub mem_in_bytes: u64,
    #[serde(default)]
    pub runner_version: String,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Parses the check's output (a YAML mapping).
pub fn parse(output: &[u8]) -> Result<WorkerInfo, String> {
    serde_yaml_ng::from_slice(output).map_err(|err| format!("unreadable worker info: {err}"))
}

/// Runs one health check of `dest`: submits a `worker-info` unit through
/// the MeshRouter, reads its whole output and releases it.
pub async fn check(router: &Supervised<MeshRouter>, dest: &NodeId) -> Result<WorkerInfo, String> {
    let checked = tokio::time::timeout(CHECK_TIMEOUT, async {
        let unit = router
            .send(Submit {
                dest: dest.clone(),
                unit: WorkUnitId::random(),
                work_type: WORKER_INFO.to_owned(),
                payload: Box::new(Cursor::new(b"{}".to_vec())),
            })
            .await
            .map_err(|err| err.to_string())?
            .map_err(|err| err.to_string())?;
        let mut output = unit.output_from(0);
        let mut bytes = Vec::new();
        while let Some(piece) = output.next().await {
            let (_, piece) = piece.map_err(|err| err.to_string())?;
            bytes.extend_from_slice(&piece);
        }
        let failed = output
            .status()
            .filter(|s| s.state != ::mesh::WorkState::Succeeded)
            .map(|s| s.detail.clone());
        let _ = router
            .send(Release(unit.executor().clone(), unit.id().clone()))
            .await;
        match failed {
            Some(detail) => Err(detail),
            None => parse(&bytes),
        }
    })
    .await;
    checked.unwrap_or_else(|_| Err(format!("no answer in {}s", CHECK_TIMEOUT.as_secs())))
}

/// Checks the execution instances the mesh reaches whenever they are due,
/// until the mesh node is gone.
pub async fn run(router: Supervised<MeshRouter>, db: Db) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        let status = match router.send(View).await {
            Ok(Ok(status)) => status,
            Ok(Err(RouterError::Stopped)) => return,
            // The router is restarting, or the node is busy: next tick.
            Ok(Err(_)) | Err(_) => continue,
        };
        let due = match store::mesh::due_health_checks(&db, HEALTH_INTERVAL.as_secs_f64()).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "cannot read the execution nodes due a health check");
                continue;
            }
        };
        for hostname in due {
            let Ok(dest) = NodeId::new(&hostname) else {
                continue;
            };
            if !status.routes.iter().any(|route| route.dest == dest) {
                // Not reachable now: `record_seen` marks it unavailable.
                continue;
            }
            let result = check(&router, &dest).await;
            if let Err(err) = &result {
                tracing::warn!(node = %hostname, %err, "execution node health check failed");
            }
            let health = result.map(|info| store::mesh::Health {
                cpu: info.cpu_count,
                memory: info.mem_in_bytes,
                cpu_capacity: actors::heartbeat::cpu_capacity(info.cpu_count),
                mem_capacity: actors::heartbeat::mem_capacity(info.mem_in_bytes),
                version: format!("ansible-runner-{}", info.runner_version),
                errors: info.errors.join("\n"),
            });
            if let Err(err) = store::mesh::record_health(&db, &hostname, health).await {
                tracing::warn!(%err, "cannot record a health check");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn worker_info_is_read_as_ansible_runner_prints_it() {
        let info = super::parse(
            b"{cpu_count: 2, errors: [], mem_in_bytes: 25276194816, runner_version: 2.4.3, uuid: dc5ce500-a5a5-4f51-a863-0543af5aa0b4}\n",
        )
        .expect("parsed");
        assert_eq!(info.cpu_count, 2);
        assert_eq!(info.mem_in_bytes, 25_276_194_816);
        assert_eq!(info.runner_version, "2.4.3");
        assert!(info.errors.is_empty());
        assert!(super::parse(b"not: [valid").is_err());
    }
}
