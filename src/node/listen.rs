//! Wakes the TaskManager when any node of the cluster creates pending work:
//! a connection of its own LISTENs on the scheduling channel.

use std::time::Duration;

use actors::Supervised;
use actors::task_manager::{TaskManager, Wake};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::schedule::CHANNEL;

/// How long to wait before connecting again after the connection is lost.
const RETRY: Duration = Duration::from_secs(2);

/// Runs for the life of the node, reconnecting when the connection drops;
/// the TaskManager's periodic pass covers what arrives meanwhile.
pub async fn wake_on_notify(config: tokio_postgres::Config, task_manager: Supervised<TaskManager>) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (seen, mut notified) = tokio::sync::mpsc::unbounded_channel();
                let reader = tokio::task::spawn_local(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => {
                                if seen.send(()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}"))
                    .await
                    .is_ok()
                {
                    // Notifications sent while a pass runs fold into one more pass.
                    while notified.recv().await.is_some() {
                        while notified.try_recv().is_ok() {}
                        task_manager.do_send(Wake);
                    }
                }
                reader.abort();
                tracing::warn!("lost the scheduling channel's connection; reconnecting");
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for scheduling notices"),
        }
        tokio::time::sleep(RETRY).await;
    }
}
