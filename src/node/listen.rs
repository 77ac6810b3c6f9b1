//! What a node hears from the database on a connection of its own: the
//! scheduling channel (any node created pending work: wake the
//! TaskManager) and the users channel (a user row changed: empty the
//! verified-credentials cache).

use std::sync::Arc;
use std::time::Duration;

use actors::Supervised;
use actors::task_manager::{TaskManager, Wake};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::api::auth::CredentialCache;
use crate::store::schedule::CHANNEL;
use crate::store::users::CHANGED_CHANNEL;

/// How long to wait before connecting again after the connection is lost.
const RETRY: Duration = Duration::from_secs(2);

/// Runs for the life of the node on the database I/O thread (a notice is
/// acted on at once, whatever the HTTP workers and actors are doing),
/// reconnecting when the connection drops. While it is down the
/// TaskManager's periodic pass covers new work, and the credentials cache
/// is not trusted without a query.
pub async fn listen(
    config: tokio_postgres::Config,
    task_manager: Supervised<TaskManager>,
    credentials: Arc<CredentialCache>,
) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (seen, mut notified) = tokio::sync::mpsc::unbounded_channel();
                let listening = Arc::clone(&credentials);
                let credentials = Arc::clone(&credentials);
                let reader = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(AsyncMessage::Notification(notice)) => {
                                let users = notice.channel() == CHANGED_CHANNEL;
                                // Emptied as the notice is read, without
                                // waiting for the loop below.
                                if users {
                                    credentials.forget_all();
                                }
                                if seen.send(users).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        }
                    }
                });
                if client
                    .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {CHANGED_CHANNEL}"))
                    .await
                    .is_ok()
                {
                    listening.set_live(true);
                    // Notices sent while a pass runs fold into one more pass.
                    while let Some(users) = notified.recv().await {
                        let mut schedule = !users;
                        while let Ok(users) = notified.try_recv() {
                            schedule |= !users;
                        }
                        if schedule {
                            task_manager.do_send(Wake);
                        }
                    }
                }
                listening.set_live(false);
                reader.abort();
                tracing::warn!("lost the notices' connection; reconnecting");
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for notices"),
        }
        tokio::time::sleep(RETRY).await;
    }
}
