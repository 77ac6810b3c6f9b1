//! The connection pool's connections: a client that prepares each
//! statement once and reuses it, instead of parsing the same SQL on every
//! request (a round trip and a parse each time).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use tokio_postgres::{Client, Error, NoTls, Statement};

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

/// Makes and checks connections for bb8.
pub struct Manager {
    config: tokio_postgres::Config,
}

impl Manager {
    /// Connections from `config`.
    pub fn new(config: tokio_postgres::Config) -> Manager {
        Manager { config }
    }
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = Error;

    async fn connect(&self) -> Result<Connection, Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        // The connection object does the talking; it runs on its own.
        tokio::spawn(async move { connection.await.map(|_| ()) });
        Ok(Connection {
            client,
            statements: Mutex::new(HashMap::new()),
        })
    }

    async fn is_valid(&self, conn: &mut Connection) -> Result<(), Error> {
        conn.simple_query("").await.map(|_| ())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.is_closed()
    }
}
