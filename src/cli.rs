//! The command line: `rawx server`, `rawx migrate`, `rawx admin create`,
//! `rawx node token create`, `rawx node join`, `rawx mesh status`.

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
    /// Mesh nodes: join tokens (on a control node) and joining (on the new node).
    Node {
        #[command(subcommand)]
        action: NodeAction,
    },
    /// The mesh as this node sees it.
    Mesh {
        #[command(subcommand)]
        action: MeshAction,
    },
}

#[derive(Subcommand, Debug)]
enum NodeAction {
    /// One-time join tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Joins this machine to a controller as an execution or hop node
    /// (`--role`, default execution; `--listen` is the node's UDP mesh
    /// address), then starts it.
    Join {
        /// The controller's API, e.g. http://controller:8013.
        #[arg(long)]
        controller: String,
        /// A token from `rawx node token create` (or RAWX_JOIN_TOKEN).
        #[arg(long, env = "RAWX_JOIN_TOKEN", hide_env_values = true)]
        token: String,
        /// The node's name in the mesh and in /api/v2/instances/; default
        /// the host name.
        #[arg(long)]
        name: Option<String>,
        /// PEM certificate (or CA) to trust for an https controller.
        #[arg(long)]
        controller_ca: Option<PathBuf>,
        /// Store the identity and config, but do not start the node.
        #[arg(long)]
        no_start: bool,
    },
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Prints a new one-time join token.
    Create {
        /// Seconds the token stays valid.
        #[arg(long, default_value_t = crate::api::mesh::DEFAULT_TOKEN_SECONDS)]
        expires_in: i64,
        /// The role of the node it admits: execution or hop.
        #[arg(long, default_value = "execution")]
        node_type: NodeRole,
    },
}

#[derive(Subcommand, Debug)]
enum MeshAction {
    /// Prints nodes, links, costs, last seen and the route table, from the
    /// status file the running node rewrites every 2 s.
    Status {
        /// Print the status file's JSON.
        #[arg(long)]
        json: bool,
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
    let mut cli = Cli::parse();
    // For `node join`, --listen is the new node's mesh address and --role
    // its role: neither applies to the configuration it is loaded with.
    let mut join_listen = None;
    let mut join_role = None;
    if matches!(
        cli.command,
        Command::Node {
            action: NodeAction::Join { .. }
        }
    ) {
        join_listen = cli.overrides.listen.take();
        join_role = cli.overrides.role.take();
    }
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
        Command::Node {
            action:
                NodeAction::Token {
                    action:
                        TokenAction::Create {
                            expires_in,
                            node_type,
                        },
                },
        } => block_on(token_create(config, expires_in, node_type)),
        Command::Node {
            action:
                NodeAction::Join {
                    controller,
                    token,
                    name,
                    controller_ca,
                    no_start,
                },
        } => {
            let name = name.unwrap_or_else(|| config.node_name());
            let args = node::mesh::JoinArgs {
                controller,
                token,
                role: join_role.unwrap_or(NodeRole::Execution),
                listen: join_listen,
                name,
                controller_ca,
            };
            join(config, &args, no_start, cli.config.is_some())
        }
        Command::Mesh {
            action: MeshAction::Status { json },
        } => node::mesh::status_report(&config, json)
            .map(|report| print!("{report}"))
            .map_err(NodeError::from),
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

async fn token_create(
    config: Config,
    expires_in: i64,
    node_type: NodeRole,
) -> Result<(), NodeError> {
    if node_type.is_controller() {
        return Err(NodeError::Other(
            "--node-type: only execution and hop nodes join through the mesh".into(),
        ));
    }
    if !(1..=24 * 3600).contains(&expires_in) {
        return Err(NodeError::Other(
            "--expires-in must be between 1 and 86400 seconds".into(),
        ));
    }
    let token = crate::api::mesh::new_token().map_err(|err| NodeError::Other(err.to_string()))?;
    let (db, _cluster, _) = open_migrated(&config).await?;
    let created =
        store::mesh::create_token(&db, &token, node_type.as_str(), expires_in, None).await?;
    println!("{token}");
    eprintln!(
        "one-time join token, valid until {}: rawx node join --controller URL --token {token} --role {node_type} --listen ADDR",
        created.expires.to_rfc3339()
    );
    Ok(())
}

/// Joins, then (unless `no_start`) runs the node with the configuration the
/// join wrote.
fn join(
    config: Config,
    args: &node::mesh::JoinArgs,
    no_start: bool,
    had_config_file: bool,
) -> Result<(), NodeError> {
    let file = node::mesh::join(&config, args)?;
    println!(
        "joined as {} ({}); configuration in {}",
        args.name,
        args.role,
        file.display()
    );
    if had_config_file {
        eprintln!(
            "note: start this node with --config {}, which replaces the one given",
            file.display()
        );
    }
    if no_start {
        println!("start it with: rawx server --config {}", file.display());
        return Ok(());
    }
    let joined = Config::load(Some(&file), &Overrides::default())?;
    actix_web::rt::System::new().block_on(node::serve(joined))
}
