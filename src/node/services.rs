//! PostgreSQL and Redis: the configured ones, or embedded ones under the data dir.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fred::prelude::{Builder, ClientLike, Config as RedisConfig};

use super::NodeError;
use crate::config::Config;
use crate::embedded::postgres::{self, EmbeddedPostgres};
use crate::embedded::redis::{self, EmbeddedRedis};
use crate::store;

/// Creates the data dir (0700) if needed and returns its path.
pub fn ensure_data_dir(config: &Config) -> Result<PathBuf, NodeError> {
    let path = config.data_dir();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&path)
        .map_err(|source| NodeError::DataDir {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// The database to use, and the embedded cluster when it is ours.
pub async fn open_database(
    config: &Config,
    data_dir: &Path,
) -> Result<(tokio_postgres::Config, Option<EmbeddedPostgres>), NodeError> {
    if config.database_url.is_empty() {
        let cluster = postgres::open(data_dir).await?;
        Ok((cluster.config(), Some(cluster)))
    } else {
        Ok((store::parse_url(&config.database_url)?, None))
    }
}

/// The Redis URL to use, and the embedded server when it is ours.
pub async fn open_redis(
    config: &Config,
    checked: Option<RedisConfig>,
    data_dir: &Path,
) -> Result<(String, Option<EmbeddedRedis>), NodeError> {
    match checked {
        Some(_) => Ok((config.redis_url.clone(), None)),
        None => {
            let server = redis::open(data_dir).await?;
            Ok((server.url(), Some(server)))
        }
    }
}

/// Parses a configured Redis URL (`None` when unset: embedded), so a typo
/// fails before anything starts.
pub fn check_redis_url(url: &str) -> Result<Option<RedisConfig>, NodeError> {
    if url.is_empty() {
        return Ok(None);
    }
    const SCHEMES: [&str; 2] = ["redis://", "redis+unix://"];
    if !SCHEMES.iter().any(|scheme| url.starts_with(scheme)) {
        return Err(NodeError::Redis(format!(
            "`{url}` is not a Redis URL (redis://host:port or redis+unix:///path)"
        )));
    }
    parse_redis_url(url).map(Some)
}

fn parse_redis_url(url: &str) -> Result<RedisConfig, NodeError> {
    RedisConfig::from_url(url).map_err(|err| NodeError::Redis(format!("`{url}`: {err}")))
}

/// Connects to Redis and checks that it answers.
pub async fn connect_redis(url: &str) -> Result<fred::clients::Client, NodeError> {
    let config = parse_redis_url(url)?;
    let client = Builder::from_config(config)
        .with_connection_config(|conn| conn.connection_timeout = Duration::from_secs(5))
        .build()
        .map_err(|err| NodeError::Redis(err.to_string()))?;
    let connected = tokio::time::timeout(Duration::from_secs(10), client.init()).await;
    match connected {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(NodeError::Redis(format!("cannot connect to {url}: {err}"))),
        Err(_) => {
            return Err(NodeError::Redis(format!(
                "cannot connect to {url}: timed out"
            )));
        }
    }
    client
        .ping::<String>(None)
        .await
        .map_err(|err| NodeError::Redis(format!("{url} does not answer PING: {err}")))?;
    Ok(client)
}
