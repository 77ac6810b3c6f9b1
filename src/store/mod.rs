//! PostgreSQL: the pool, migrations, and the queries each subsystem needs.

pub mod activity;
pub mod ad_hoc_commands;
pub mod auth;
pub mod copy;
pub mod credential_types;
pub mod events;
pub mod facts;
pub mod heartbeat;
pub mod instances;
pub mod inventory_updates;
pub mod jobs;
pub mod mesh;
pub mod migrate;
mod placement;
pub mod pool;
pub mod project_updates;
pub mod relations;
pub mod resource;
pub mod rules;
pub mod schedule;
pub mod settings;
pub mod surveys;
pub mod users;

use std::time::Duration;

use bb8::Pool;
use tokio_postgres::NoTls;

/// The connection pool every part of a control node shares.
pub type Db = Pool<pool::Manager>;

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database_url: {0}")]
    BadUrl(String),
    #[error("database_url: cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("database: {}", pg_message(.0))]
    Query(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("migrations: {0}")]
    Migrate(String),
}

impl From<bb8::RunError<pool::ConnectError>> for StoreError {
    fn from(err: bb8::RunError<pool::ConnectError>) -> Self {
        match err {
            bb8::RunError::User(pool::ConnectError::Postgres(err)) => StoreError::Query(err),
            bb8::RunError::User(err @ pool::ConnectError::Gone) => {
                StoreError::Pool(err.to_string())
            }
            bb8::RunError::TimedOut => {
                StoreError::Pool("timed out waiting for a connection".into())
            }
        }
    }
}

impl StoreError {
    /// Whether the failure is in the configuration (a bad URL, an unreachable
    /// server) rather than in the running system.
    pub fn is_config(&self) -> bool {
        matches!(self, StoreError::BadUrl(_) | StoreError::Connect { .. })
    }
}

/// The server's own message for a database error ("db error" alone says nothing).
fn pg_message(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => root_cause(err),
    }
}

/// Parses a connection string (URL or key=value form).
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    url.parse::<tokio_postgres::Config>().map_err(|err| {
        StoreError::BadUrl(format!("`{}` is not a PostgreSQL URL: {err}", redact(url)))
    })
}

/// `user@host:port/db`, without the password, for messages.
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or(""),
        host,
        port,
        config.get_dbname().unwrap_or("")
    )
}

/// The URL with any password replaced, for messages about a URL that did not parse.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// `config` with rawx's defaults where it sets nothing.
fn with_defaults(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("rawx");
    }
    config
}

/// A pool for one thread (an HTTP worker's), made where it is used:
/// its connections are driven by that thread's runtime, so a query
/// crosses no thread. Connects lazily; `connect` checked the database.
pub fn thread_pool(config: tokio_postgres::Config, max_size: u32) -> Db {
    let manager = pool::Manager::new(with_defaults(config), pool::Driver::Current);
    pool_builder(max_size).build_unchecked(manager)
}

/// Every pool's settings. No liveness query on every checkout (a round
/// trip per request): a closed connection is noticed by `has_broken` and
/// replaced.
fn pool_builder(max_size: u32) -> bb8::Builder<pool::Manager> {
    Pool::builder()
        .max_size(max_size)
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(10))
}

/// Connects once (to fail fast with a clear reason), then builds the pool.
pub async fn connect(config: tokio_postgres::Config, max_size: u32) -> Result<Db, StoreError> {
    let config = with_defaults(config);
    let target = describe(&config);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|err| StoreError::Connect {
            target: target.clone(),
            reason: root_cause(&err),
        })?;
    drop(client);
    drop(connection);
    let manager = pool::Manager::new(config, pool::Driver::IoThread);
    pool_builder(max_size)
        .build(manager)
        .await
        .map_err(|err| StoreError::Connect {
            target,
            reason: root_cause(&err),
        })
}

/// The innermost error's message: tokio-postgres wraps I/O errors in
/// "error connecting to server", which hides the part a person needs.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    let inner = current.to_string();
    let outer = err.to_string();
    if inner == outer || outer.contains(&inner) {
        outer
    } else {
        format!("{outer}: {inner}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://rawx:hunter2@db:5432/rawx"),
            "postgres://rawx:***@db:5432/rawx"
        );
        let err =
            super::parse_url("postgres://rawx:hunter2@db:notaport/rawx").expect_err("bad port");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
