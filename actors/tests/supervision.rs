//! A supervised actor that panics or stops comes back, and says so in its status.

use std::time::Duration;

use actix::{Actor, ActorContext, Context, Handler, Message, MessageResult};
use actors::{ActorStatus, GetStatus, Incarnation, supervise};

struct Fragile {
    incarnation: Incarnation,
}

impl Actor for Fragile {
    type Context = Context<Self>;
}

struct Explode;
impl Message for Explode {
    type Result = ();
}

struct Quit;
impl Message for Quit {
    type Result = ();
}

impl Handler<Explode> for Fragile {
    type Result = ();
    fn handle(&mut self, _: Explode, _: &mut Context<Self>) {
        panic!("fragile actor told to explode");
    }
}

impl Handler<Quit> for Fragile {
    type Result = ();
    fn handle(&mut self, _: Quit, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

impl Handler<GetStatus> for Fragile {
    type Result = MessageResult<GetStatus>;
    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ActorStatus::idle("fragile", self.incarnation, "waiting"))
    }
}

/// Asks for the status until the actor answers with at least `restarts`;
/// bounded, so a supervisor that never restarts fails the test.
async fn status_after(handle: &actors::Supervised<Fragile>, restarts: u32) -> ActorStatus {
    for _ in 0..200 {
        if let Ok(status) = handle.send(GetStatus).await
            && status.restarts >= restarts
        {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("actor was not restarted {restarts} time(s)");
}

#[actix_rt::test]
async fn a_panicking_actor_is_restarted() {
    let handle = supervise("fragile", |incarnation| Fragile { incarnation });
    assert_eq!(status_after(&handle, 0).await.restarts, 0);

    // The panic drops the reply channel, so the send itself fails.
    assert!(handle.send(Explode).await.is_err());
    let status = status_after(&handle, 1).await;
    assert_eq!(status.restarts, 1);
    assert_eq!(handle.restarts(), 1);

    handle.do_send(Quit);
    assert_eq!(status_after(&handle, 2).await.restarts, 2);
}

#[actix_rt::test]
async fn a_shut_down_actor_stays_down() {
    let handle = supervise("fragile", |incarnation| Fragile { incarnation });
    handle.shutdown();
    handle.do_send(Quit);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(handle.send(GetStatus).await.is_err());
    assert_eq!(handle.restarts(), 0);
}

/// A store whose first write panics, as a buggy port might.
struct FlakyStore {
    calls: std::cell::Cell<u32>,
}

impl actors::ports::HeartbeatStore for FlakyStore {
    fn record(&self, _beat: &actors::ports::Beat) -> actors::ports::PortFuture<'_, ()> {
        let call = self.calls.get() + 1;
        self.calls.set(call);
        assert!(call > 1, "first heartbeat write blows up");
        Box::pin(async { Ok(()) })
    }
}

struct FixedProbe;

impl actors::heartbeat::ResourceProbe for FixedProbe {
    fn measure(&self) -> (u32, u64) {
        (2, 8 << 30)
    }
}

#[actix_rt::test]
async fn the_heartbeat_comes_back_after_its_store_panics() {
    use std::rc::Rc;

    use actors::heartbeat::{Heartbeat, NodeIdentity};

    let store = Rc::new(FlakyStore {
        calls: std::cell::Cell::new(0),
    });
    let identity = NodeIdentity {
        hostname: "node-a".into(),
        uuid: "00000000-0000-4000-8000-000000000000".into(),
        role: actors::NodeRole::Hybrid,
        version: "test".into(),
    };
    let handle = supervise("heartbeat", move |incarnation| {
        Heartbeat::new(
            identity.clone(),
            Duration::from_secs(3600),
            store.clone(),
            Rc::new(FixedProbe),
            incarnation,
        )
    });
    let mut status = None;
    for _ in 0..200 {
        if let Ok(now) = handle.send(GetStatus).await
            && now.restarts == 1
            && now.counters.contains(&("beats", 1))
        {
            status = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = status.expect("heartbeat restarted and recorded a beat");
    assert_eq!(status.state, "running");
    assert_eq!(handle.restarts(), 1);
}
