//! The node's configuration: defaults < `config/rawx.toml` < `RAWX_*` < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actors::NodeRole;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every key of `config/rawx.toml`; the same names, upper-cased after
/// `RAWX_`, are read from the environment.
pub const KEYS: [&str; 19] = [
    "listen",
    "database_url",
    "redis_url",
    "data_dir",
    "node_name",
    "role",
    "secret_key_file",
    "heartbeat_interval",
    "log_level",
    "preload_data",
    "tls",
    "tls_cert",
    "tls_key",
    "venv",
    "mesh_listen",
    "mesh_peers",
    "mesh_dir",
    "mesh_reconnect_timeout",
    "mesh_idle_timeout",
];

/// The whole configuration of a node. `config/rawx.toml` documents each key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// host:port of the API.
    pub listen: String,
    /// PostgreSQL URL; empty runs an embedded PostgreSQL under `data_dir`.
    pub database_url: String,
    /// Redis URL; empty runs an embedded redis-server under `data_dir`.
    pub redis_url: String,
    /// Where the node keeps its state; empty picks the platform default.
    pub data_dir: PathBuf,
    /// This node's name in the cluster; empty uses the host name.
    pub node_name: String,
    /// What this node does.
    pub role: NodeRole,
    /// The file holding the key that encrypts secrets; empty is `<data_dir>/SECRET_KEY`.
    pub secret_key_file: PathBuf,
    /// Seconds between two heartbeats.
    pub heartbeat_interval: u64,
    /// A tracing filter (`info`, `rawx=debug,actix_web=info`, ...).
    pub log_level: String,
    /// Whether a new cluster gets AWX's demo objects.
    pub preload_data: bool,
    /// TLS on the API: `""` (plain http), `"self-signed"` or `"files"`.
    pub tls: String,
    /// PEM certificate chain, for `tls = "files"`.
    pub tls_cert: PathBuf,
    /// PEM private key, for `tls = "files"`.
    pub tls_key: PathBuf,
    /// The Python venv with ansible-core and ansible-runner; empty is
    /// `~/.cache/rawx/venv`, where the scripts build it.
    pub venv: PathBuf,
    /// UDP host:port the mesh node listens on; empty: a control or hybrid
    /// node's mesh node listens nowhere (execution and hop nodes need one,
    /// or peers).
    pub mesh_listen: String,
    /// Peers to dial, each "node-id@host:port".
    pub mesh_peers: Vec<String>,
    /// The node's mesh identity, CA, trusted keys and work units; empty is
    /// `<data_dir>/mesh`.
    pub mesh_dir: PathBuf,
    /// Seconds a controller keeps trying to reach the execution node of a
    /// running job before the job ends as `error`.
    pub mesh_reconnect_timeout: u64,
    /// Seconds of silence after which a mesh link counts as dead (QUIC's
    /// idle timeout; keepalives go at a quarter of it).
    pub mesh_idle_timeout: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8013".into(),
            database_url: String::new(),
            redis_url: String::new(),
            data_dir: PathBuf::new(),
            node_name: String::new(),
            role: NodeRole::Hybrid,
            secret_key_file: PathBuf::new(),
            heartbeat_interval: 60,
            log_level: "info".into(),
            preload_data: true,
            tls: String::new(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            venv: PathBuf::new(),
            mesh_listen: String::new(),
            mesh_peers: Vec::new(),
            mesh_dir: PathBuf::new(),
            mesh_reconnect_timeout: 600,
            mesh_idle_timeout: 21,
        }
    }
}

/// Values given as command-line flags; `None` leaves the lower layers alone.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<NodeRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// A configuration that cannot be used, described in one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0}: not found")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Invalid(String),
    #[error("{key}: {problem}")]
    BadValue { key: &'static str, problem: String },
}

impl Config {
    /// Loads the layers; `file` is the config file named by flag or
    /// `RAWX_CONFIG`, which must then exist.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment
            .merge(Env::prefixed("RAWX_").only(&KEYS))
            .merge(Serialized::defaults(overrides));
        let config: Config = figment.extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::BadValue {
                key: "listen",
                problem: format!("`{}` is not an address like 127.0.0.1:8013", self.listen),
            });
        }
        if self.mesh_idle_timeout < 2 {
            return Err(ConfigError::BadValue {
                key: "mesh_idle_timeout",
                problem: "must be at least 2 (seconds)".into(),
            });
        }
        if self.mesh_reconnect_timeout == 0 {
            return Err(ConfigError::BadValue {
                key: "mesh_reconnect_timeout",
                problem: "must be at least 1 (seconds)".into(),
            });
        }
        if self.heartbeat_interval == 0 {
            return Err(ConfigError::BadValue {
                key: "heartbeat_interval",
                problem: "must be at least 1 second".into(),
            });
        }
        match self.tls.as_str() {
            "" | "self-signed" => {}
            "files"
                if self.tls_cert.as_os_str().is_empty() || self.tls_key.as_os_str().is_empty() =>
            {
                return Err(ConfigError::BadValue {
                    key: "tls",
                    problem: "\"files\" needs tls_cert and tls_key".into(),
                });
            }
            "files" => {}
            other => {
                return Err(ConfigError::BadValue {
                    key: "tls",
                    problem: format!("`{other}` is not \"\", \"self-signed\" or \"files\""),
                });
            }
        }
        if !self.mesh_listen.is_empty() && self.mesh_listen.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::BadValue {
                key: "mesh_listen",
                problem: format!(
                    "`{}` is not an address like 127.0.0.1:27199",
                    self.mesh_listen
                ),
            });
        }
        for peer in &self.mesh_peers {
            if let Err(problem) = parse_peer(peer) {
                return Err(ConfigError::BadValue {
                    key: "mesh_peers",
                    problem,
                });
            }
        }
        if !self.role.is_controller() && self.mesh_listen.is_empty() && self.mesh_peers.is_empty() {
            return Err(ConfigError::BadValue {
                key: "mesh_listen",
                problem: format!(
                    "a {} node needs mesh_listen or mesh_peers: it reaches the cluster only through the mesh",
                    self.role
                ),
            });
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.log_level) {
            return Err(ConfigError::BadValue {
                key: "log_level",
                problem: err.to_string(),
            });
        }
        Ok(())
    }

    /// The data dir, with the platform default filled in.
    pub fn data_dir(&self) -> PathBuf {
        if !self.data_dir.as_os_str().is_empty() {
            return self.data_dir.clone();
        }
        if nix::unistd::geteuid().is_root() {
            return PathBuf::from("/var/lib/rawx");
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share"))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("rawx")
    }

    /// The secret key file, with its default filled in.
    pub fn secret_key_file(&self) -> PathBuf {
        if self.secret_key_file.as_os_str().is_empty() {
            self.data_dir().join("SECRET_KEY")
        } else {
            self.secret_key_file.clone()
        }
    }

    /// This node's name, with the host name as default.
    pub fn node_name(&self) -> String {
        if !self.node_name.is_empty() {
            return self.node_name.clone();
        }
        nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    /// The venv jobs run with.
    pub fn venv(&self) -> PathBuf {
        if !self.venv.as_os_str().is_empty() {
            return self.venv.clone();
        }
        std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".cache/rawx/venv"))
            .unwrap_or_else(|| PathBuf::from("/var/lib/rawx/venv"))
    }

    /// The mesh dir, with its default filled in.
    pub fn mesh_dir(&self) -> PathBuf {
        if self.mesh_dir.as_os_str().is_empty() {
            self.data_dir().join("mesh")
        } else {
            self.mesh_dir.clone()
        }
    }

    /// The heartbeat period.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(self.heartbeat_interval)
    }

    /// The mesh transport's idle timeout.
    pub fn mesh_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.mesh_idle_timeout)
    }

    /// How long a run's execution node may stay out of reach.
    pub fn mesh_reconnect_timeout(&self) -> Duration {
        Duration::from_secs(self.mesh_reconnect_timeout)
    }
}

/// Splits a `mesh_peers` entry, "node-id@host:port", into its node id and
/// address; the id may be left out ("host:port") when it is not known.
pub fn parse_peer(peer: &str) -> Result<(Option<String>, SocketAddr), String> {
    let (id, addr) = match peer.rsplit_once('@') {
        Some((id, addr)) if !id.is_empty() => (Some(id.to_owned()), addr),
        Some(_) => return Err(format!("`{peer}` has an empty node id before `@`")),
        None => (None, peer),
    };
    let addr = addr
        .parse::<SocketAddr>()
        .map_err(|_| format!("`{peer}` is not like node-id@127.0.0.1:27199"))?;
    Ok((id, addr))
}

/// Turns figment's error into one line: the key, the problem, the source.
fn describe(err: figment::Error) -> ConfigError {
    let Some(first) = err.into_iter().next() else {
        return ConfigError::Invalid("invalid configuration".into());
    };
    let key = first.path.join(".");
    let source = first
        .metadata
        .as_ref()
        .and_then(|meta| meta.source.as_ref())
        .map(|source| format!(" (from {source})"))
        .unwrap_or_default();
    let kind = first.kind.to_string().replace('\n', " ");
    if key.is_empty() {
        ConfigError::Invalid(format!("{kind}{source}"))
    } else {
        ConfigError::Invalid(format!("{key}: {kind}{source}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_matches_the_defaults() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rawx.toml");
        let from_file: Config = Figment::new()
            .merge(Toml::file_exact(&file))
            .extract()
            .expect("config/rawx.toml parses");
        assert_eq!(from_file, Config::default());
    }

    #[test]
    fn every_key_is_documented() {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rawx.toml"))
                .expect("config/rawx.toml");
        for key in KEYS {
            assert!(
                text.lines()
                    .any(|line| line.starts_with(&format!("{key} ="))),
                "{key} missing from config/rawx.toml"
            );
            let env = format!("RAWX_{}", key.to_uppercase());
            assert!(text.contains(&env), "{env} not documented");
        }
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "heartbeat_interval = \"soon\"\n").expect("write");
        let err = Config::load(Some(&file), &Overrides::default()).expect_err("rejected");
        let line = err.to_string();
        assert!(line.starts_with("heartbeat_interval: "), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").expect("write");
        let err = Config::load(Some(&file), &Overrides::default()).expect_err("rejected");
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn mesh_keys_are_checked() {
        assert_eq!(
            parse_peer("ctl@127.0.0.1:27199"),
            Ok((Some("ctl".into()), "127.0.0.1:27199".parse().expect("addr")))
        );
        assert!(parse_peer("@127.0.0.1:1").is_err());
        assert!(parse_peer("ctl@nowhere").is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("exec.toml");
        std::fs::write(&file, "role = \"execution\"\n").expect("write");
        let err = Config::load(Some(&file), &Overrides::default()).expect_err("rejected");
        assert!(err.to_string().starts_with("mesh_listen: "), "{err}");
        std::fs::write(
            &file,
            "role = \"hop\"\nmesh_peers = [\"ctl@127.0.0.1:27199\"]\n",
        )
        .expect("write");
        let config = Config::load(Some(&file), &Overrides::default()).expect("loads");
        assert_eq!(config.mesh_peers.len(), 1);
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("ok.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nrole = \"control\"\n").expect("write");
        let overrides = Overrides {
            listen: Some("127.0.0.1:9001".into()),
            ..Overrides::default()
        };
        let config = Config::load(Some(&file), &overrides).expect("loads");
        assert_eq!(config.listen, "127.0.0.1:9001");
        assert_eq!(config.role, NodeRole::Control);
    }
}
