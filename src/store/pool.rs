//! The connection pool's connections: a client that prepares each
//! statement once and reuses it, instead of parsing the same SQL on every
//! request (a round trip and a parse each time).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use std::future::Future;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, NoTls, Row, Statement, Transaction};

/// Statements a connection keeps before it starts over; lists with many
/// filter shapes would otherwise grow it without bound.
const CACHE_LIMIT: usize = 512;

/// A pooled connection with its statement cache.
pub struct Connection {
    client: Client,
    statements: Mutex<HashMap<String, Statement>>,
}

impl Deref for Connection {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl Connection {
    /// `sql` prepared on this connection, from the cache when it was before.
    pub async fn prepared(&self, sql: &str) -> Result<Statement, Error> {
        if let Ok(cache) = self.statements.lock()
            && let Some(statement) = cache.get(sql)
        {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        if let Ok(mut cache) = self.statements.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(sql.to_string(), statement.clone());
        }
        Ok(statement)
    }
}

/// The runtime on its own thread that drives every pooled connection.
fn io_runtime() -> &'static tokio::runtime::Handle {
    static HANDLE: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let (sender, handle) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("rawx-db-io".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the database I/O runtime");
                let _ = sender.send(runtime.handle().clone());
                runtime.block_on(std::future::pending::<()>());
            })
            .expect("the database I/O thread");
        handle.recv().expect("the database I/O runtime's handle")
    })
}

/// Runs `task` on the database I/O thread, which also drives the sockets
/// it opens: it is never held up by a busy HTTP worker or actor.
pub fn spawn_io<F>(task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    io_runtime().spawn(task)
}

/// Which runtime drives a pool's connections (their sockets and the task
/// that talks on each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// The database I/O thread: for a pool any thread may use.
    IoThread,
    /// The runtime of the thread that checks the connection out: for a pool
    /// only that thread uses (an HTTP worker's), whose queries then cross
    /// no thread.
    Current,
}

/// Makes and checks connections for bb8.
pub struct Manager {
    config: tokio_postgres::Config,
    driver: Driver,
}

impl Manager {
    /// Connections from `config`, driven by `driver`.
    pub fn new(config: tokio_postgres::Config, driver: Driver) -> Manager {
        let mut config = config;
        // Every statement here is prepared once per connection and run many
        // times; PostgreSQL would otherwise keep planning some of them anew
        // on every execution (custom plans), a quarter of the machine's CPU
        // under a burst of launches.
        let options = match config.get_options() {
            Some(given) => format!("{given} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_string(),
        };
        config.options(&options);
        Manager { config, driver }
    }
}

/// Why the pool could not make or keep a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Postgres(#[from] Error),
    #[error("the database I/O thread is gone")]
    Gone,
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ConnectError;

    async fn connect(&self) -> Result<Connection, ConnectError> {
        let config = self.config.clone();
        let open = async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move { connection.await.map(|_| ()) });
            Ok::<_, Error>(client)
        };
        let client = match self.driver {
            // The socket and the task that does the talking live on the
            // pool's own thread: a connection made by a busy thread (an
            // actor's) would otherwise move only when that thread is free,
            // and stall every task of another thread that checks it out.
            Driver::IoThread => io_runtime()
                .spawn(open)
                .await
                .map_err(|_| ConnectError::Gone)??,
            Driver::Current => open.await?,
        };
        Ok(Connection {
            client,
            statements: Mutex::new(HashMap::new()),
        })
    }

    async fn is_valid(&self, conn: &mut Connection) -> Result<(), ConnectError> {
        Ok(conn.simple_query("").await.map(|_| ())?)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.is_closed()
    }
}

/// Runs SQL the same way on a pooled connection (through its statement
/// cache) and inside a transaction (as is), so helpers serve both.
pub trait Queryable {
    /// Every row.
    fn fetch(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>>;
    /// Exactly one row.
    fn fetch_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, Error>>;
    /// At most one row.
    fn fetch_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, Error>>;
    /// A statement's affected row count.
    fn run(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>>;
}

impl Queryable for Connection {
    async fn fetch(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        let statement = self.prepared(sql).await?;
        self.client.query(&statement, params).await
    }

    async fn fetch_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        let statement = self.prepared(sql).await?;
        self.client.query_one(&statement, params).await
    }

    async fn fetch_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let statement = self.prepared(sql).await?;
        self.client.query_opt(&statement, params).await
    }

    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.prepared(sql).await?;
        self.client.execute(&statement, params).await
    }
}

impl Queryable for Transaction<'_> {
    async fn fetch(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        self.query(sql, params).await
    }

    async fn fetch_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        self.query_one(sql, params).await
    }

    async fn fetch_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        self.query_opt(sql, params).await
    }

    async fn run(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        self.execute(sql, params).await
    }
}
