//! The command line: `rawx server`, `rawx migrate`, `rawx admin create`.

use std::path::PathBuf;
use std::process::ExitCode;

use actors::NodeRole;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::crypto::{password, random};
use crate::embedded::postgres::EmbeddedPostgres;
use crate::node::{self, NodeError, services};
use crate::store;

/// Exit code for a configuration the operator must fix.
const EXIT_CONFIG: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "rawx",
    version,
    about = "An automation controller compatible with AWX"
)]
struct Cli {
    /// Configuration file (TOML); see config/rawx.toml for every key.
    #[arg(long, global = true, env = "RAWX_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: OverrideArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags that override the file and the environment.
#[derive(Args, Debug)]
struct OverrideArgs {
    /// host:port of the API.
    #[arg(long, global = true)]
    listen: Option<String>,
    /// PostgreSQL URL; unset runs an embedded PostgreSQL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Redis URL; unset runs an embedded redis-server.
    #[arg(long, global = true)]
    redis_url: Option<String>,
    /// The node's state directory.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// This node's name in the cluster.
    #[arg(long, global = true)]
    node_name: Option<String>,
    /// hybrid, control, execution or hop.
    #[arg(long, global = true)]
    role: Option<NodeRole>,
    /// Log filter (info, debug, rawx=debug,...).
    #[arg(long, global = true)]
    log_level: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a node: migrates, then serves the API and runs the actors.
    Server,
    /// Applies the database migrations (a no-op when up to date).
    Migrate,
    /// Manages administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand, Debug)]
enum AdminAction {
    /// Creates a superuser, or sets the password of an existing user.
    Create {
        #[arg(long)]
        username: String,
        /// The password (or RAWX_ADMIN_PASSWORD, which keeps it out of `ps`);
        /// a generated one is printed when neither is given.
        #[arg(long, env = "RAWX_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "")]
        email: String,
    },
}

/// Parses the command line, runs the command, maps failures to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        listen: cli.overrides.listen,
        database_url: cli.overrides.database_url,
        redis_url: cli.overrides.redis_url,
        data_dir: cli.overrides.data_dir,
        node_name: cli.overrides.node_name,
        role: cli.overrides.role,
        log_level: cli.overrides.log_level,
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("rawx: config: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_logging(&config.log_level);
    let result = match cli.command {
        Command::Server => actix_web::rt::System::new().block_on(node::serve(config)),
        Command::Migrate => block_on(migrate(config)),
        Command::Admin {
            action:
                AdminAction::Create {
                    username,
                    password,
                    email,
                },
        } => block_on(admin_create(config, username, password, email)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rawx: {err}");
            if err.is_config() {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn block_on<F: Future<Output = Result<(), NodeError>>>(future: F) -> Result<(), NodeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| NodeError::Other(format!("cannot start the runtime: {err}")))?
        .block_on(future)
}

/// The database (with the embedded cluster, when this command started it),
/// migrated, and the names of the migrations this call applied.
type Migrated = (store::Db, Option<EmbeddedPostgres>, Vec<String>);

/// Connects (starting the embedded cluster if needed) and migrates.
async fn open_migrated(config: &Config) -> Result<Migrated, NodeError> {
    let data_dir = services::ensure_data_dir(config)?;
    let (db_config, cluster) = services::open_database(config, &data_dir).await?;
    let db = store::connect(db_config, 2).await?;
    let applied = store::migrate::run(&db).await?;
    Ok((db, cluster, applied.applied))
}

async fn migrate(config: Config) -> Result<(), NodeError> {
    let (_db, _cluster, applied) = open_migrated(&config).await?;
    if applied.is_empty() {
        println!("schema is up to date");
    }
    for name in &applied {
        println!("applied {name}");
    }
    Ok(())
}

async fn admin_create(
    config: Config,
    username: String,
    password: Option<String>,
    email: String,
) -> Result<(), NodeError> {
    if username.is_empty() || username.chars().count() > 150 {
        return Err(NodeError::Other(
            "--username must be 1 to 150 characters".into(),
        ));
    }
    let (password, generated) = match password {
        Some(password) if !password.is_empty() => (password, false),
        _ => (
            random::alphanumeric(20).map_err(|err| NodeError::Other(err.to_string()))?,
            true,
        ),
    };
    let hash = password::hash(&password).map_err(|err| NodeError::Other(err.to_string()))?;
    let (db, _cluster, _) = open_migrated(&config).await?;
    let outcome = store::users::upsert_superuser(&db, &username, &hash, &email).await?;
    match outcome {
        store::users::AdminOutcome::Created => println!("created superuser {username}"),
        store::users::AdminOutcome::PasswordSet => println!("set the password of {username}"),
    }
    if generated {
        println!("password: {password}");
    }
    Ok(())
}
