//! Supervision: restart an actor whenever it stops or panics.
//!
//! actix's own `Supervisor` restarts an actor that stops, but a panic inside a
//! handler unwinds through the task that owns the actor's mailbox, so nothing
//! is left to restart. Here each incarnation runs as its own task; a watcher
//! awaits that task's `JoinHandle`, which reports a panic as an error, and
//! starts a fresh incarnation from the factory. Callers hold a [`Supervised`]
//! handle, which always points at the live incarnation.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, AsyncContext, Context, Handler, MailboxError, Message};

/// Restarts are delayed from this much, doubling up to [`MAX_BACKOFF`], so an
/// actor that fails at once does not spin.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest delay between two restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// An incarnation that lived this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// What the factory is told about the incarnation it builds.
#[derive(Debug, Clone, Copy)]
pub struct Incarnation {
    /// How many incarnations came before this one.
    pub restarts: u32,
    /// When this incarnation was built.
    pub since: SystemTime,
}

struct Shared<A: Actor> {
    name: &'static str,
    addr: RwLock<Addr<A>>,
    restarts: AtomicU32,
    stopping: AtomicBool,
}

/// A handle to a supervised actor that survives its restarts.
pub struct Supervised<A: Actor> {
    shared: Arc<Shared<A>>,
}

impl<A: Actor> Clone for Supervised<A> {
    fn clone(&self) -> Self {
        Supervised {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A> Supervised<A>
where
    A: Actor<Context = Context<A>>,
{
    /// The name given at [`supervise`].
    pub fn name(&self) -> &'static str {
        self.shared.name
    }

    /// How many times the actor has been restarted.
    pub fn restarts(&self) -> u32 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// The address of the live incarnation.
    pub fn addr(&self) -> Addr<A> {
        // A poisoned lock only means a writer panicked between two plain
        // assignments; the address inside is still whole.
        match self.shared.addr.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sends a message to the live incarnation and waits for the answer.
    pub async fn send<M>(&self, msg: M) -> Result<M::Result, MailboxError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        self.addr().send(msg).await
    }

    /// Sends a message without waiting; dropped if the actor is restarting.
    pub fn do_send<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        self.addr().do_send(msg)
    }

    /// Stops supervising: the actor is not restarted after its next stop.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
    }
}

/// Starts `factory`'s actor on the current arbiter and restarts it whenever it
/// stops or panics, until [`Supervised::shutdown`] or the system stops.
pub fn supervise<A, F>(name: &'static str, factory: F) -> Supervised<A>
where
    A: Actor<Context = Context<A>>,
    F: Fn(Incarnation) -> A + 'static,
{
    let first = Incarnation {
        restarts: 0,
        since: SystemTime::now(),
    };
    let (addr, task) = start(factory(first));
    let shared = Arc::new(Shared {
        name,
        addr: RwLock::new(addr),
        restarts: AtomicU32::new(0),
        stopping: AtomicBool::new(false),
    });
    let watched = Arc::clone(&shared);
    actix::spawn(async move {
        let mut task = task;
        let mut backoff = MIN_BACKOFF;
        loop {
            let started = Instant::now();
            let outcome = task.await;
            if watched.stopping.load(Ordering::Relaxed) {
                break;
            }
            match outcome {
                Ok(()) => tracing::warn!(actor = name, "actor stopped; restarting"),
                Err(err) if err.is_panic() => {
                    tracing::error!(actor = name, "actor panicked; restarting")
                }
                // The runtime is shutting down and cancelled the task.
                Err(_) => break,
            }
            if started.elapsed() >= STABLE_AFTER {
                backoff = MIN_BACKOFF;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            let restarts = watched.restarts.fetch_add(1, Ordering::Relaxed) + 1;
            let (addr, next) = start(factory(Incarnation {
                restarts,
                since: SystemTime::now(),
            }));
            match watched.addr.write() {
                Ok(mut guard) => *guard = addr,
                Err(poisoned) => *poisoned.into_inner() = addr,
            }
            task = next;
        }
    });
    Supervised { shared }
}

fn start<A>(actor: A) -> (Addr<A>, tokio::task::JoinHandle<()>)
where
    A: Actor<Context = Context<A>>,
{
    let ctx = Context::new();
    let addr = ctx.address();
    let task = actix::spawn(ctx.into_future(actor));
    (addr, task)
}
