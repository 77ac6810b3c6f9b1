//! Starts this node's supervised actors and reaches them from any thread.

use std::rc::Rc;

use actors::callback_receiver::CallbackReceiver;
use actors::dispatcher::Dispatcher;
use actors::heartbeat::{Heartbeat, NodeIdentity};
use actors::task_manager::TaskManager;
use actors::{ActorStatus, GetStatus, Supervised, supervise};

use super::NodeInfo;
use super::probe::SystemProbe;
use crate::config::Config;
use crate::store::Db;
use crate::store::events::PgEventStore;
use crate::store::heartbeat::PgHeartbeatStore;

/// The supervised actors of a control or hybrid node.
#[derive(Clone)]
pub struct ActorHandles {
    pub heartbeat: Supervised<Heartbeat>,
    pub task_manager: Supervised<TaskManager>,
    pub dispatcher: Supervised<Dispatcher>,
    pub callback_receiver: Supervised<CallbackReceiver>,
}

impl ActorHandles {
    /// Starts every actor on the current arbiter.
    pub fn start(
        config: &Config,
        node: &NodeInfo,
        db: &Db,
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
        Ok(ActorHandles {
            heartbeat,
            task_manager: supervise("task_manager", TaskManager::new),
            dispatcher: supervise("dispatcher", Dispatcher::new),
            callback_receiver: {
                let events: Rc<PgEventStore> = Rc::new(PgEventStore(db.clone()));
                supervise("callback_receiver", move |incarnation| {
                    CallbackReceiver::new(incarnation, events.clone())
                })
            },
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
        ]
    }

    /// Stops restarting the actors; the system's stop then ends them.
    pub fn shutdown(&self) {
        self.heartbeat.shutdown();
        self.task_manager.shutdown();
        self.dispatcher.shutdown();
        self.callback_receiver.shutdown();
    }
}
