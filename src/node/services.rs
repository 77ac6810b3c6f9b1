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

/// The services a server needs, with the embedded ones it started.
pub struct Services {
    pub db_config: tokio_postgres::Config,
    pub redis_url: String,
    postgres: Option<EmbeddedPostgres>,
    redis: Option<EmbeddedRedis>,
}

impl Services {
    /// Resolves both services, starting embedded ones where no URL is set.
    pub async fn open(config: &Config, data_dir: &Path) -> Result<Services, NodeError> {
        // Check the Redis URL before starting anything, so a typo fails fast.
        if !config.redis_url.is_empty() {
            parse_redis_url(&config.redis_url)?;
        }
        let (db_config, postgres) = open_database(config, data_dir).await?;
        let (redis_url, redis) = if config.redis_url.is_empty() {
            // On error the cluster's guard stops it as it goes out of scope.
            let server = redis::open(data_dir).await?;
            (server.url(), Some(server))
        } else {
            (config.redis_url.clone(), None)
        };
        Ok(Services {
            db_config,
            redis_url,
            postgres,
            redis,
        })
    }

    /// Stops the embedded services, Redis first (nothing writes to it after).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.redis.take() {
            server.stop();
        }
        if let Some(mut cluster) = self.postgres.take() {
            cluster.stop();
        }
    }
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
