//! Starts this node's supervised actors and reaches them from any thread.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use actors::callback_receiver::CallbackReceiver;
use actors::dispatcher::{Dispatch, Dispatcher};
use actors::heartbeat::{Heartbeat, NodeIdentity};
use actors::mesh_router::MeshRouter;
use actors::task_manager::{TaskManager, Wake};
use actors::{ActorStatus, GetStatus, Supervised, supervise};

use super::NodeInfo;
use super::mesh::{ControlMesh, STATUS_INTERVAL, StatusObserver};
use super::probe::SystemProbe;
use crate::config::Config;
use crate::exec::dispatch::Executor;
use crate::exec::remote::MeshExec;
use crate::store::Db;
use crate::store::events::PgEventStore;
use crate::store::heartbeat::PgHeartbeatStore;

/// Runs a node's Dispatcher carries at once, at most: a bound against
/// runaway, not the limit that matters (the TaskManager starts only what
/// the instance's capacity allows, as AWX does).
const RUN_SLOTS: usize = 256;

/// The supervised actors of a control or hybrid node.
#[derive(Clone)]
pub struct ActorHandles {
    pub heartbeat: Supervised<Heartbeat>,
    pub task_manager: Supervised<TaskManager>,
    pub dispatcher: Supervised<Dispatcher>,
    pub callback_receiver: Supervised<CallbackReceiver>,
    pub mesh_router: Supervised<MeshRouter>,
}

impl ActorHandles {
    /// Starts every actor on the current arbiter.
    pub fn start(
        config: &Config,
        node: &NodeInfo,
        db: &Db,
        data_dir: &Path,
        cipher: crate::crypto::fields::Cipher,
        control_mesh: &ControlMesh,
    ) -> Result<Self, crate::crypto::random::RandomError> {
        let identity = NodeIdentity {
            hostname: node.name.clone(),
            uuid: crate::crypto::random::uuid()?.to_string(),
            role: node.role,
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let interval = config.heartbeat_interval();
        let store: Rc<PgHeartbeatStore> = Rc::new(PgHeartbeatStore(db.clone()));
        let heartbeat = supervise("heartbeat", move |incarnation| {
            Heartbeat::new(
                identity.clone(),
                interval,
                store.clone(),
                Rc::new(SystemProbe),
                incarnation,
            )
        });
        let observer = Rc::new(StatusObserver::new(
            config.mesh_dir(),
            node.role.as_str(),
            Some(db.clone()),
        ));
        let work_node = Arc::downgrade(&control_mesh.work_node);
        let key = control_mesh.signing_key.clone();
        let mesh_router = supervise("mesh_router", move |incarnation| {
            MeshRouter::new(
                incarnation,
                work_node.clone(),
                Some(key.clone()),
                observer.clone(),
                STATUS_INTERVAL,
            )
        });
        actix::spawn(super::health::run(mesh_router.clone(), db.clone()));
        let mesh = MeshExec {
            router: mesh_router.clone(),
            local: control_mesh.node_id.clone(),
            reconnect: config.mesh_reconnect_timeout(),
        };
        let events: Rc<PgEventStore> = Rc::new(PgEventStore(db.clone()));
        let callback_receiver = supervise("callback_receiver", move |incarnation| {
            CallbackReceiver::new(incarnation, events.clone())
        });
        let executor = Rc::new(Executor {
            db: db.clone(),
            node: node.name.clone(),
            jobs_root: data_dir.join("jobs"),
            projects_root: data_dir.join("projects"),
            venv: config.venv(),
            receiver: callback_receiver.clone(),
            cipher,
            wake: std::cell::OnceCell::new(),
            cancels: Default::default(),
            mesh,
        });
        let runner = Rc::clone(&executor);
        let dispatcher = supervise("dispatcher", move |incarnation| {
            Dispatcher::new(incarnation, runner.clone(), RUN_SLOTS)
        });
        let to_dispatcher = dispatcher.clone();
        let dispatch: Rc<dyn Fn(i64)> = Rc::new(move |id| to_dispatcher.do_send(Dispatch(id)));
        let waker = Rc::clone(&executor);
        let task_manager = supervise("task_manager", move |incarnation| {
            TaskManager::new(incarnation, executor.clone(), dispatch.clone())
        });
        let to_task_manager = task_manager.clone();
        // The executor only holds the handle: no cycle of Rc's between them.
        let _ = waker
            .wake
            .set(Rc::new(move || to_task_manager.do_send(Wake)));
        Ok(ActorHandles {
            heartbeat,
            task_manager,
            dispatcher,
            callback_receiver,
            mesh_router,
        })
    }

    /// Each actor's status, `None` for one that did not answer.
    pub async fn statuses(&self) -> Vec<(&'static str, Option<ActorStatus>)> {
        vec![
            (
                self.heartbeat.name(),
                self.heartbeat.send(GetStatus).await.ok(),
            ),
            (
                self.task_manager.name(),
                self.task_manager.send(GetStatus).await.ok(),
            ),
            (
                self.dispatcher.name(),
                self.dispatcher.send(GetStatus).await.ok(),
            ),
            (
                self.callback_receiver.name(),
                self.callback_receiver.send(GetStatus).await.ok(),
            ),
            (
                self.mesh_router.name(),
                self.mesh_router.send(GetStatus).await.ok(),
            ),
        ]
    }

    /// Waits (at most `limit`) until the heartbeat has recorded this node
    /// once, so the node is an instance before it serves: clients read it
    /// in `/api/v2/ping/` as soon as the port answers. Whether it was.
    pub async fn registered(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let beats = self
                .heartbeat
                .send(GetStatus)
                .await
                .ok()
                .and_then(|status| {
                    status
                        .counters
                        .iter()
                        .find(|(name, _)| *name == "beats")
                        .map(|(_, n)| *n)
                });
            if beats.unwrap_or(0) > 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Stops restarting the actors; the system's stop then ends them.
    pub fn shutdown(&self) {
        self.heartbeat.shutdown();
        self.task_manager.shutdown();
        self.dispatcher.shutdown();
        self.callback_receiver.shutdown();
        self.mesh_router.shutdown();
    }
}
