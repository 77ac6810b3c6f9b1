//! Credentials injected into a run the AWX way: machine credentials as
//! command-line options, prompts answered from `env/passwords` and the SSH
//! key in `env/ssh_key`; vault passwords; cloud credentials and custom
//! types through their injectors.
//!
//! What AWX 24.6.1 does, and so what this does (awx/main/tasks/jobs.py,
//! awx/main/models/credential/): a job's machine credential gives `-u`
//! (root when it names no one), `--become-method`, `--become-user` and the
//! `--ask-*` options whose prompts `env/passwords` answers; its key goes to
//! ansible-runner, which loads it into an ssh-agent. Each vault credential
//! adds `--ask-vault-pass` or `--vault-id <id>@prompt`. Network credentials
//! set `ANSIBLE_NET_*`. A type with injectors renders them (Jinja, the
//! inputs as variables); a managed type without injectors uses AWX's
//! built-in injector for its namespace, if AWX has one.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::crypto::fields::{Cipher, CipherError};
use crate::store::Db;
use crate::store::jobs::JobSpec;

/// What AWX stores instead of a secret in a job's `job_env`.
const HIDDEN: &str = "**********";

/// AWX's privilege escalation methods; each has its own password prompt.
const BECOME_METHODS: [&str; 12] = [
    "sudo",
    "su",
    "pbrun",
    "pfexec",
    "dzdo",
    "pmrun",
    "runas",
    "enable",
    "doas",
    "ksu",
    "machinectl",
    "sesu",
];

/// Environment variables a credential may not set (AWX's ENV_BLOCKLIST,
/// plus every `ANSIBLE_*`): they steer the run itself.
const ENV_BLOCKLIST: [&str; 19] = [
    "VIRTUAL_ENV",
    "PATH",
    "PYTHONPATH",
    "JOB_ID",
    "INVENTORY_ID",
    "INVENTORY_SOURCE_ID",
    "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID",
    "REST_API_URL",
    "REST_API_TOKEN",
    "MAX_EVENT_RES",
    "CALLBACK_QUEUE",
    "CALLBACK_CONNECTION",
    "CACHE",
    "JOB_CALLBACK_DEBUG",
    "INVENTORY_HOSTVARS",
    "AWX_HOST",
    "PROJECT_REVISION",
    "SUPERVISOR_CONFIG_PATH",
];

/// What the job's credentials add to its run (files they need are already
/// written under the private data dir, mode 0600).
#[derive(Debug, Default, Clone)]
pub struct Injection {
    /// Environment variables for the run.
    pub env: Map<String, Value>,
    /// Extra variables, merged over the job's. Empty for jobs: a custom
    /// type's extra vars travel as `-e @file` in `cmdline`, as in AWX.
    pub extra_vars: Map<String, Value>,
    /// ansible-playbook command-line arguments, each one shell word already
    /// quoted, since ansible-runner splits the joined line with `shlex`.
    pub cmdline: Vec<String>,
    /// `env` as AWX stores it in the job's `job_env`: secrets hidden.
    pub safe_env: Map<String, Value>,
}

/// Why the credentials could not be injected. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("credential {0} does not exist")]
    Missing(i64),
    #[error("credential \"{credential}\": cannot decrypt {field}: {reason}")]
    Decrypt {
        credential: String,
        field: String,
        reason: CipherError,
    },
    #[error(
        "credential \"{credential}\": {field} is \"ASK\" (a password given at launch), and rawx does not take launch-time passwords yet; store the value on the credential"
    )]
    Ask { credential: String, field: String },
    #[error("credential \"{credential}\": {field} may not contain Jinja expressions")]
    Jinja { credential: String, field: String },
    #[error("credential \"{credential}\": injector {what}: {message}")]
    Template {
        credential: String,
        what: String,
        message: String,
    },
    #[error("multiple vault credentials were specified with --vault-id {0}@prompt")]
    DuplicateVaultId(String),
    #[error("credential \"{credential}\" is a {kind} credential, not Source Control")]
    NotScm { credential: String, kind: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Encode(String),
    #[error("the system random source failed")]
    Random,
}

/// One credential with its type, its secrets decrypted.
struct Credential {
    name: String,
    kind: String,
    /// The managed type's namespace (`ssh`, `aws`, ...); empty for custom types.
    namespace: String,
    managed: bool,
    /// The type's `inputs` schema.
    schema: Value,
    injectors: Value,
    inputs: Map<String, Value>,
}

// By hand, so a stray `{:?}` can never print a decrypted secret.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// A string input, or "" (AWX's `get_input(field, default='')`).
    fn text(&self, field: &str) -> &str {
        self.inputs
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// AWX's `has_input`: present and neither "" nor null.
    fn has(&self, field: &str) -> bool {
        self.inputs
            .get(field)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
    }

    fn flag(&self, field: &str, default: bool) -> bool {
        match self.inputs.get(field) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1"),
            _ => default,
        }
    }

    /// A password input that is used to answer a prompt: "ASK" would have
    /// to come at launch, which rawx does not offer.
    fn password(&self, field: &str, prompt: &str) -> Result<&str, CredentialError> {
        match self.text(field) {
            "ASK" => Err(CredentialError::Ask {
                credential: self.name.clone(),
                field: prompt.to_string(),
            }),
            value => Ok(value),
        }
    }

    /// `(id, type, secret, format)` of each declared input.
    fn fields(&self) -> Vec<(String, String, bool, String)> {
        let Some(fields) = self.schema.get("fields").and_then(Value::as_array) else {
            return Vec::new();
        };
        fields
            .iter()
            .filter_map(|f| {
                let text = |key: &str| {
                    f.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let id = text("id");
                (!id.is_empty()).then(|| {
                    let kind = f
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string")
                        .to_string();
                    let secret = f.get("secret").and_then(Value::as_bool).unwrap_or(false);
                    (id, kind, secret, text("format"))
                })
            })
            .collect()
    }

    /// Whether the type declares any injector (AWX: `if not self.injectors`).
    fn has_injectors(&self) -> bool {
        self.injectors.as_object().is_some_and(|m| !m.is_empty())
    }
}

/// Writes what the job's credentials need into `pdd` and returns the rest.
pub async fn inject(
    db: &Db,
    cipher: &Cipher,
    spec: &JobSpec,
    pdd: &Path,
) -> Result<Injection, CredentialError> {
    inject_unit(db, cipher, spec.id, spec.become_enabled, pdd).await
}

/// As `inject`, for any kind of unified job `id` (ad hoc commands and
/// inventory updates keep their credentials in `job_credentials` too).
pub async fn inject_unit(
    db: &Db,
    cipher: &Cipher,
    id: i64,
    become_enabled: bool,
    pdd: &Path,
) -> Result<Injection, CredentialError> {
    let credentials = load(
        db,
        cipher,
        "SELECT c.id, c.name, t.kind, coalesce(t.namespace, ''), t.managed, t.inputs, t.injectors, c.inputs
           FROM job_credentials jc
           JOIN credentials c ON c.id = jc.credential_id
           JOIN credential_types t ON t.id = c.credential_type_id
          WHERE jc.job_id = $1
          ORDER BY c.id",
        id,
    )
    .await?;
    inject_job(&credentials, become_enabled, &id.to_string(), pdd)
}

/// For a project update with Source Control credential `credential_id`:
/// writes its key to `<pdd>/env/ssh_key` (ansible-runner loads it into an
/// ssh-agent) and the answers to git's and ssh's prompts to
/// `<pdd>/env/passwords`; returns `scm_username`/`scm_password` as extra
/// vars. AWX passes them as extra vars for svn, insights and archive
/// projects and puts them into the URL for git over https; the caller,
/// which knows the project, picks.
pub async fn scm_injection(
    db: &Db,
    cipher: &Cipher,
    credential_id: i64,
    pdd: &Path,
) -> Result<Injection, CredentialError> {
    let credentials = load(
        db,
        cipher,
        "SELECT c.id, c.name, t.kind, coalesce(t.namespace, ''), t.managed, t.inputs, t.injectors, c.inputs
           FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id
          WHERE c.id = $1",
        credential_id,
    )
    .await?;
    let credential = credentials
        .first()
        .ok_or(CredentialError::Missing(credential_id))?;
    inject_scm(credential, pdd)
}

/// The credentials `sql` selects for `id`, secrets decrypted.
async fn load(
    db: &Db,
    cipher: &Cipher,
    sql: &str,
    id: i64,
) -> Result<Vec<Credential>, CredentialError> {
    let conn = db.get().await.map_err(crate::store::StoreError::from)?;
    let rows = conn
        .query(sql, &[&id])
        .await
        .map_err(crate::store::StoreError::from)?;
    rows.iter()
        .map(|row| {
            let name: String = row.get(1);
            let stored: Value = row.get(7);
            let inputs = decrypt_inputs(cipher, &name, stored)?;
            Ok(Credential {
                name,
                kind: row.get(2),
                namespace: row.get(3),
                managed: row.get(4),
                schema: row.get(5),
                injectors: row.get(6),
                inputs,
            })
        })
        .collect()
}

/// Every encrypted value decrypted with its field's name, as it was sealed.
fn decrypt_inputs(
    cipher: &Cipher,
    credential: &str,
    stored: Value,
) -> Result<Map<String, Value>, CredentialError> {
    let Value::Object(stored) = stored else {
        return Ok(Map::new());
    };
    stored
        .into_iter()
        .map(|(field, value)| {
            let value = match value {
                Value::String(text) if text.starts_with(crate::crypto::fields::PREFIX) => {
                    Value::String(cipher.decrypt(&field, &text).map_err(|reason| {
                        CredentialError::Decrypt {
                            credential: credential.to_string(),
                            field: field.clone(),
                            reason,
                        }
                    })?)
                }
                other => other,
            };
            Ok((field, value))
        })
        .collect()
}

/// The injection for a job's credentials (AWX's RunJob: build_private_data,
/// build_passwords, build_args, build_env, then each credential's injectors).
fn inject_job(
    credentials: &[Credential],
    become_enabled: bool,
    ident: &str,
    pdd: &Path,
) -> Result<Injection, CredentialError> {
    let env_dir = pdd.join("env");
    create_dir(&env_dir)?;
    let machine = credentials.iter().find(|c| c.kind == "ssh");
    let vaults: Vec<&Credential> = credentials.iter().filter(|c| c.kind == "vault").collect();
    let nets: Vec<&Credential> = credentials.iter().filter(|c| c.kind == "net").collect();

    let passwords = job_passwords(machine, &vaults, &nets)?;
    let mut injection = Injection::default();
    let mut args = job_args(machine, become_enabled, &passwords)?;

    if let Some(machine) = machine {
        if machine.has("ssh_key_data") {
            write_new(
                &env_dir.join("ssh_key"),
                with_newline(machine.text("ssh_key_data")).as_bytes(),
                0o600,
            )?;
        }
        // ssh-add picks up `<key>-cert.pub` beside the key it loads, which
        // ansible-runner names artifacts/<ident>/ssh_key_data.
        if machine.has("ssh_public_key_data") {
            let artifacts = pdd.join("artifacts").join(ident);
            create_dir(&artifacts)?;
            write_new(
                &artifacts.join("ssh_key_data-cert.pub"),
                with_newline(machine.text("ssh_public_key_data")).as_bytes(),
                0o600,
            )?;
        }
    }

    for net in &nets {
        let mut env = network_env(net, &env_dir)?;
        merge_env(&mut injection, &mut env, None);
    }
    for credential in credentials {
        inject_credential(credential, &env_dir, &mut injection, &mut args)?;
    }

    let answers = answers(&job_prompts(&passwords), &passwords);
    write_new(
        &env_dir.join("passwords"),
        Value::Object(answers).to_string().as_bytes(),
        0o600,
    )?;
    injection.cmdline = args.iter().map(|a| shell_word(a)).collect();
    Ok(injection)
}

/// The injection for a project update's Source Control credential.
fn inject_scm(credential: &Credential, pdd: &Path) -> Result<Injection, CredentialError> {
    if credential.kind != "scm" {
        return Err(CredentialError::NotScm {
            credential: credential.name.clone(),
            kind: credential.kind.clone(),
        });
    }
    let env_dir = pdd.join("env");
    create_dir(&env_dir)?;
    if credential.has("ssh_key_data") {
        write_new(
            &env_dir.join("ssh_key"),
            with_newline(credential.text("ssh_key_data")).as_bytes(),
            0o600,
        )?;
    }
    let mut passwords = Passwords::base();
    passwords.set("scm_key_unlock", credential.text("ssh_key_unlock"));
    passwords.set("scm_username", credential.text("username"));
    passwords.set("scm_password", credential.text("password"));
    let prompts: Vec<(String, String)> = [
        (r"Username for.*:\s*?$", "scm_username"),
        (r"Password for.*:\s*?$", "scm_password"),
        (r"Password:\s*?$", "scm_password"),
        (r"\S+?@\S+?'s\s+?password:\s*?$", "scm_password"),
        (r"Enter passphrase for .*:\s*?$", "scm_key_unlock"),
        (r"Bad passphrase, try again for .*:\s*?$", ""),
        (
            r"^Are you sure you want to continue connecting \(yes/no\)\?\s*?$",
            "yes",
        ),
    ]
    .into_iter()
    .map(|(regex, key)| (regex.to_string(), key.to_string()))
    .collect();
    write_new(
        &env_dir.join("passwords"),
        Value::Object(answers(&prompts, &passwords))
            .to_string()
            .as_bytes(),
        0o600,
    )?;
    let mut injection = Injection::default();
    for (var, field) in [("scm_username", "username"), ("scm_password", "password")] {
        if credential.has(field) {
            injection
                .extra_vars
                .insert(var.into(), Value::String(credential.text(field).into()));
        }
    }
    Ok(injection)
}

/// The answers AWX knows for a run's prompts, in the order they were found
/// (the order decides `--vault-id` order on the command line).
#[derive(Debug, Default)]
struct Passwords(Vec<(String, String)>);

impl Passwords {
    /// AWX's BaseTask passwords: the answers to yes/no questions.
    fn base() -> Passwords {
        Passwords(vec![
            ("yes".into(), "yes".into()),
            ("no".into(), "no".into()),
            (String::new(), String::new()),
        ])
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn set(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.0.push((key.to_string(), value.to_string())),
        }
    }
}

/// AWX's RunJob.build_passwords: the machine credential's key passphrase,
/// SSH and become passwords, each vault's password, and a network
/// credential's key passphrase when the machine has none.
fn job_passwords(
    machine: Option<&Credential>,
    vaults: &[&Credential],
    nets: &[&Credential],
) -> Result<Passwords, CredentialError> {
    let mut passwords = Passwords::base();
    if let Some(machine) = machine {
        for (key, field) in [
            ("ssh_key_unlock", "ssh_key_unlock"),
            ("ssh_password", "password"),
            ("become_password", "become_password"),
        ] {
            let value = machine.password(field, key)?;
            if !value.is_empty() {
                passwords.set(key, value);
            }
        }
    }
    for vault in vaults {
        let id = vault.text("vault_id");
        let key = if id.is_empty() {
            "vault_password".to_string()
        } else {
            format!("vault_password.{id}")
        };
        if !id.is_empty() && passwords.contains(&key) {
            return Err(CredentialError::DuplicateVaultId(id.to_string()));
        }
        let value = vault.password("vault_password", &key)?;
        if !value.is_empty() {
            passwords.set(&key, value);
        }
    }
    // One answer per prompt: the machine's passphrase wins.
    if !passwords.contains("ssh_key_unlock")
        && let Some(net) = nets.iter().find(|n| n.has("ssh_key_unlock"))
    {
        let value = net.password("ssh_key_unlock", "ssh_key_unlock")?;
        passwords.set("ssh_key_unlock", value);
    }
    Ok(passwords)
}

/// AWX refuses Jinja in values it puts on the command line.
fn no_jinja<'a>(
    credential: &Credential,
    field: &str,
    value: &'a str,
) -> Result<&'a str, CredentialError> {
    let expression = value
        .find("{{")
        .is_some_and(|at| value[at + 2..].contains("}}"));
    let statement = value
        .find("{%")
        .is_some_and(|at| value[at + 2..].contains("%}"));
    if expression || statement {
        return Err(CredentialError::Jinja {
            credential: credential.name.clone(),
            field: field.to_string(),
        });
    }
    Ok(value)
}

/// The credential part of AWX's RunJob.build_args, unquoted.
fn job_args(
    machine: Option<&Credential>,
    become_enabled: bool,
    passwords: &Passwords,
) -> Result<Vec<String>, CredentialError> {
    let mut args = Vec::new();
    let (mut user, mut method, mut become_user) = ("", "", "");
    if let Some(machine) = machine {
        user = no_jinja(machine, "username", machine.text("username"))?;
        method = no_jinja(machine, "become_method", machine.text("become_method"))?;
        become_user = no_jinja(machine, "become_username", machine.text("become_username"))?;
    }
    // AWX runs as a service account, so ansible's default (the current
    // user) would mean nothing: the default user is root.
    args.push("-u".to_string());
    args.push(if user.is_empty() { "root" } else { user }.to_string());
    if passwords.contains("ssh_password") {
        args.push("--ask-pass".into());
    }
    if become_enabled {
        args.push("--become".into());
    }
    if !method.is_empty() {
        args.push("--become-method".into());
        args.push(method.into());
    }
    if !become_user.is_empty() {
        args.push("--become-user".into());
        args.push(become_user.into());
    }
    if passwords.contains("become_password") {
        args.push("--ask-become-pass".into());
    }
    for (key, _) in &passwords.0 {
        if key == "vault_password" {
            args.push("--ask-vault-pass".into());
        } else if let Some(id) = key.strip_prefix("vault_password.") {
            args.push("--vault-id".into());
            args.push(format!("{id}@prompt"));
        }
    }
    Ok(args)
}

/// AWX's RunJob.get_password_prompts: each prompt's regex and the password
/// that answers it.
fn job_prompts(passwords: &Passwords) -> Vec<(String, String)> {
    let mut prompts: Vec<(String, String)> = vec![
        (
            r"Enter passphrase for .*:\s*?$".into(),
            "ssh_key_unlock".into(),
        ),
        (
            r"Bad passphrase, try again for .*:\s*?$".into(),
            String::new(),
        ),
    ];
    for method in BECOME_METHODS {
        for name in [method.to_string(), method.to_uppercase()] {
            prompts.push((
                format!(r"{name} password.*:\s*?$"),
                "become_password".into(),
            ));
        }
    }
    prompts.push((r"BECOME password.*:\s*?$".into(), "become_password".into()));
    prompts.push((r"SSH password:\s*?$".into(), "ssh_password".into()));
    prompts.push((r"Password:\s*?$".into(), "ssh_password".into()));
    prompts.push((r"Vault password:\s*?$".into(), "vault_password".into()));
    for (key, _) in &passwords.0 {
        if let Some(id) = key.strip_prefix("vault_password.") {
            prompts.push((
                format!(r"Vault password \({}\):\s*?$", regex_escape(id)),
                key.clone(),
            ));
        }
    }
    prompts
}

/// `env/passwords`: every prompt's regex with its answer ("" when AWX has
/// none, as AWX's create_expect_passwords_data_struct does).
fn answers(prompts: &[(String, String)], passwords: &Passwords) -> Map<String, Value> {
    prompts
        .iter()
        .map(|(regex, key)| {
            (
                regex.clone(),
                Value::String(passwords.get(key).unwrap_or_default().to_string()),
            )
        })
        .collect()
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// AWX's RunJob.build_env for a network credential; its key goes to a
/// file, since network modules do not use the ssh-agent.
fn network_env(net: &Credential, env_dir: &Path) -> Result<Map<String, Value>, CredentialError> {
    let mut env = Map::new();
    set(&mut env, "ANSIBLE_NET_USERNAME", net.text("username"));
    set(&mut env, "ANSIBLE_NET_PASSWORD", net.text("password"));
    if net.has("ssh_key_data") {
        let path = temp_file(
            env_dir,
            with_newline(net.text("ssh_key_data")).as_bytes(),
            0o600,
        )?;
        set(
            &mut env,
            "ANSIBLE_NET_SSH_KEYFILE",
            &path.display().to_string(),
        );
    }
    let authorize = net.flag("authorize", false);
    set(
        &mut env,
        "ANSIBLE_NET_AUTHORIZE",
        if authorize { "1" } else { "0" },
    );
    if authorize {
        set(
            &mut env,
            "ANSIBLE_NET_AUTH_PASS",
            net.text("authorize_password"),
        );
    }
    Ok(env)
}

fn set(env: &mut Map<String, Value>, key: &str, value: &str) {
    env.insert(key.to_string(), Value::String(value.to_string()));
}

/// Adds `env` to the injection; `safe` is its job_env form when the caller
/// knows it, else AWX's build_safe_env of it.
fn merge_env(
    injection: &mut Injection,
    env: &mut Map<String, Value>,
    safe: Option<Map<String, Value>>,
) {
    let safe = safe.unwrap_or_else(|| safe_env(env));
    injection.safe_env.extend(safe);
    injection.env.append(env);
}

/// AWX's build_safe_env: values of variables whose name suggests a secret,
/// and URLs carrying a password, hidden.
fn safe_env(env: &Map<String, Value>) -> Map<String, Value> {
    env.iter()
        .map(|(key, value)| {
            let upper = key.to_ascii_uppercase();
            let ansible = key.starts_with("ANSIBLE_")
                && !key.starts_with("ANSIBLE_NET")
                && !key.starts_with("ANSIBLE_GALAXY_SERVER");
            let hidden = if key == "AWS_ACCESS_KEY_ID" || ansible {
                false
            } else {
                ["API", "TOKEN", "KEY", "SECRET", "PASS"]
                    .iter()
                    .any(|word| upper.contains(word))
                    || value.as_str().is_some_and(url_with_password)
            };
            let value = if hidden {
                Value::String(HIDDEN.into())
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect()
}

/// `scheme://user:password@host...`, as AWX's `^.*?://[^:]+:(.*?)@.*?$`.
fn url_with_password(value: &str) -> bool {
    if value.contains('\n') {
        return false;
    }
    value.match_indices("://").any(|(at, _)| {
        let rest = &value[at + 3..];
        rest.find(':')
            .is_some_and(|colon| colon > 0 && rest[colon + 1..].contains('@'))
    })
}

/// One credential's injectors (AWX's CredentialType.inject_credential).
fn inject_credential(
    credential: &Credential,
    env_dir: &Path,
    injection: &mut Injection,
    args: &mut Vec<String>,
) -> Result<(), CredentialError> {
    if !credential.has_injectors() {
        if credential.managed {
            let mut env = builtin(credential, env_dir)?;
            merge_env(injection, &mut env, None);
        }
        return Ok(());
    }
    let rendered = render_injectors(credential, env_dir)?;
    let mut env = rendered.env;
    merge_env(injection, &mut env, Some(rendered.safe_env));
    if !rendered.extra_vars.is_empty() {
        let yaml = unsafe_yaml(&Value::Object(rendered.extra_vars))?;
        // Read-only, as AWX writes it: nothing in the run should change it.
        let path = temp_file(env_dir, yaml.as_bytes(), 0o400)?;
        args.push("-e".into());
        args.push(format!("@{}", path.display()));
    }
    Ok(())
}

/// A managed type's built-in injector, for the namespaces AWX has one for
/// (awx/main/models/credential/injectors.py). Others (satellite6, the
/// tokens, registries...) give a job nothing, as in AWX.
fn builtin(credential: &Credential, env_dir: &Path) -> Result<Map<String, Value>, CredentialError> {
    let c = credential;
    let mut env = Map::new();
    match c.namespace.as_str() {
        "aws" => {
            set(&mut env, "AWS_ACCESS_KEY_ID", c.text("username"));
            set(&mut env, "AWS_SECRET_ACCESS_KEY", c.text("password"));
            if c.has("security_token") {
                set(&mut env, "AWS_SECURITY_TOKEN", c.text("security_token"));
                set(&mut env, "AWS_SESSION_TOKEN", c.text("security_token"));
            }
        }
        "gce" => {
            let project = c.text("project");
            let username = c.text("username");
            let mut account = Map::new();
            for (key, value) in [
                ("type", "service_account"),
                ("private_key", c.text("ssh_key_data")),
                ("client_email", username),
                ("project_id", project),
                ("token_uri", "https://oauth2.googleapis.com/token"),
            ] {
                set(&mut account, key, value);
            }
            let json = serde_json::to_string_pretty(&Value::Object(account))
                .map_err(|e| CredentialError::Encode(e.to_string()))?;
            let path = temp_file(env_dir, json.as_bytes(), 0o600)?;
            let path = path.display().to_string();
            set(&mut env, "GCE_EMAIL", username);
            set(&mut env, "GCE_PROJECT", project);
            set(&mut env, "GCE_CREDENTIALS_FILE_PATH", &path);
            set(&mut env, "GCP_SERVICE_ACCOUNT_FILE", &path);
            set(&mut env, "GOOGLE_APPLICATION_CREDENTIALS", &path);
            set(&mut env, "GCP_AUTH_KIND", "serviceaccount");
            set(&mut env, "GCP_PROJECT", project);
            set(&mut env, "GCP_ENV_TYPE", "tower");
        }
        "azure_rm" => {
            set(&mut env, "AZURE_SUBSCRIPTION_ID", c.text("subscription"));
            let (client, tenant) = (c.text("client"), c.text("tenant"));
            if !client.is_empty() && !tenant.is_empty() {
                set(&mut env, "AZURE_CLIENT_ID", client);
                set(&mut env, "AZURE_TENANT", tenant);
                set(&mut env, "AZURE_SECRET", c.text("secret"));
            } else {
                set(&mut env, "AZURE_AD_USER", c.text("username"));
                set(&mut env, "AZURE_PASSWORD", c.text("password"));
            }
            if c.has("cloud_environment") {
                set(
                    &mut env,
                    "AZURE_CLOUD_ENVIRONMENT",
                    c.text("cloud_environment"),
                );
            }
        }
        "vmware" => {
            set(&mut env, "VMWARE_USER", c.text("username"));
            set(&mut env, "VMWARE_PASSWORD", c.text("password"));
            set(&mut env, "VMWARE_HOST", c.text("host"));
            // AWX's VMWARE_VALIDATE_CERTS setting, which defaults to False.
            set(&mut env, "VMWARE_VALIDATE_CERTS", "False");
        }
        "openstack" => {
            let yaml = serde_yaml_ng::to_string(&openstack_clouds(c))
                .map_err(|e| CredentialError::Encode(e.to_string()))?;
            let path = temp_file(env_dir, yaml.as_bytes(), 0o600)?;
            set(
                &mut env,
                "OS_CLIENT_CONFIG_FILE",
                &path.display().to_string(),
            );
        }
        "kubernetes_bearer_token" => {
            set(&mut env, "K8S_AUTH_HOST", c.text("host"));
            set(&mut env, "K8S_AUTH_API_KEY", c.text("bearer_token"));
            if c.flag("verify_ssl", false) && c.inputs.contains_key("ssl_ca_cert") {
                set(&mut env, "K8S_AUTH_VERIFY_SSL", "True");
                let path = temp_file(env_dir, c.text("ssl_ca_cert").as_bytes(), 0o600)?;
                set(
                    &mut env,
                    "K8S_AUTH_SSL_CA_CERT",
                    &path.display().to_string(),
                );
            } else {
                set(&mut env, "K8S_AUTH_VERIFY_SSL", "False");
            }
        }
        "terraform" => {
            let path = temp_file(env_dir, c.text("configuration").as_bytes(), 0o600)?;
            set(
                &mut env,
                "TF_BACKEND_CONFIG_FILE",
                &path.display().to_string(),
            );
            if c.inputs.contains_key("gce_credentials") {
                let path = temp_file(env_dir, c.text("gce_credentials").as_bytes(), 0o600)?;
                set(
                    &mut env,
                    "GOOGLE_BACKEND_CREDENTIALS",
                    &path.display().to_string(),
                );
            }
        }
        _ => {}
    }
    Ok(env)
}

/// The clouds.yaml AWX writes for an OpenStack credential.
fn openstack_clouds(c: &Credential) -> Value {
    let mut auth = Map::new();
    set(&mut auth, "auth_url", c.text("host"));
    set(&mut auth, "username", c.text("username"));
    set(&mut auth, "password", c.text("password"));
    set(&mut auth, "project_name", c.text("project"));
    if c.has("project_domain_name") {
        set(
            &mut auth,
            "project_domain_name",
            c.text("project_domain_name"),
        );
    }
    if c.has("domain") {
        set(&mut auth, "domain_name", c.text("domain"));
    }
    let mut cloud = Map::new();
    cloud.insert("auth".into(), Value::Object(auth));
    cloud.insert("verify".into(), Value::Bool(c.flag("verify_ssl", true)));
    if c.has("region") {
        set(&mut cloud, "region_name", c.text("region"));
    }
    serde_json::json!({"clouds": {"devstack": cloud}})
}

/// A type's injectors rendered for one credential.
#[derive(Default)]
struct Rendered {
    env: Map<String, Value>,
    safe_env: Map<String, Value>,
    extra_vars: Map<String, Value>,
}

/// Renders the `file`, `env` and `extra_vars` injectors with the inputs as
/// variables (the files are written as they are rendered, so templates can
/// name them through `tower.filename`).
fn render_injectors(credential: &Credential, env_dir: &Path) -> Result<Rendered, CredentialError> {
    use minijinja::Value as J;
    let (mut namespace, mut safe_namespace) = namespaces(credential);
    let template_error = |what: &str, err: minijinja::Error| CredentialError::Template {
        credential: credential.name.clone(),
        what: what.to_string(),
        message: err.to_string(),
    };
    let mut jinja = minijinja::Environment::new();
    jinja.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let render = |template: &str, vars: &BTreeMap<String, J>, what: &str| {
        jinja
            .render_str(template, J::from_object(vars.clone()))
            .map_err(|e| template_error(what, e))
    };
    let section = |name: &str| {
        credential
            .injectors
            .get(name)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };

    // `tower.filename` is the single file's path, or an object with one
    // path per `template.<name>`.
    let mut single: Option<String> = None;
    let mut named: BTreeMap<String, J> = Default::default();
    for (label, template) in section("file") {
        let what = format!("file.{label}");
        let data = render(template.as_str().unwrap_or_default(), &namespace, &what)?;
        let path = temp_file(env_dir, data.as_bytes(), 0o600)?
            .display()
            .to_string();
        match label.split_once('.') {
            Some((_, name)) => {
                named.insert(name.to_string(), J::from(path));
            }
            None => single = Some(path),
        }
        let filename = match &single {
            Some(path) if named.is_empty() => J::from(path.clone()),
            _ => J::from_object(named.clone()),
        };
        let tower: BTreeMap<String, J> = [("filename".to_string(), filename)].into_iter().collect();
        namespace.insert("tower".into(), J::from_object(tower.clone()));
        safe_namespace.insert("tower".into(), J::from_object(tower));
    }

    let mut rendered = Rendered::default();
    for (var, template) in section("env") {
        if var.starts_with("ANSIBLE_") || ENV_BLOCKLIST.contains(&var.as_str()) {
            tracing::error!(
                credential = %credential.name,
                "Ignoring prohibited env var {var}: credentials may not set it"
            );
            continue;
        }
        let template = template.as_str().unwrap_or_default();
        let what = format!("env.{var}");
        rendered.env.insert(
            var.clone(),
            Value::String(render(template, &namespace, &what)?),
        );
        rendered.safe_env.insert(
            var.clone(),
            Value::String(render(template, &safe_namespace, &what)?),
        );
    }

    fn extra(
        node: &Value,
        render: &dyn Fn(&str) -> Result<String, CredentialError>,
    ) -> Result<Value, CredentialError> {
        Ok(match node {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((render(k)?, extra(v, render)?)))
                    .collect::<Result<_, CredentialError>>()?,
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| extra(v, render))
                    .collect::<Result<_, _>>()?,
            ),
            Value::String(text) => Value::String(render(text)?),
            other => other.clone(),
        })
    }
    let render_extra = |text: &str| render(text, &namespace, "extra_vars");
    if let Value::Object(vars) = extra(&Value::Object(section("extra_vars")), &render_extra)? {
        rendered.extra_vars = vars;
    }
    Ok(rendered)
}

/// The template variables for a credential, and the same with its secrets
/// hidden (for `job_env`), as AWX builds them: empty strings are left
/// undefined, missing booleans are false, private keys end with a newline.
fn namespaces(
    credential: &Credential,
) -> (
    BTreeMap<String, minijinja::Value>,
    BTreeMap<String, minijinja::Value>,
) {
    use minijinja::Value as J;
    let fields = credential.fields();
    let secret: HashSet<&str> = fields
        .iter()
        .filter(|f| f.2)
        .map(|f| f.0.as_str())
        .collect();
    let mut namespace = BTreeMap::new();
    let mut safe = BTreeMap::new();
    for (key, value) in &credential.inputs {
        match value {
            Value::Bool(b) => {
                namespace.insert(key.clone(), J::from(*b));
                safe.insert(key.clone(), J::from(*b));
            }
            Value::String(text) => {
                if secret.contains(key.as_str()) {
                    safe.insert(key.clone(), J::from(HIDDEN));
                } else if !text.is_empty() {
                    safe.insert(key.clone(), J::from(text.clone()));
                }
                if !text.is_empty() {
                    namespace.insert(key.clone(), J::from(text.clone()));
                }
            }
            _ => {}
        }
    }
    for (id, kind, _, format) in &fields {
        if kind == "boolean" && !credential.inputs.contains_key(id) {
            namespace.insert(id.clone(), J::from(false));
            safe.insert(id.clone(), J::from(false));
        }
        if format == "ssh_private_key"
            && let Some(key) = namespace.get(id).and_then(|v| v.as_str().map(with_newline))
        {
            namespace.insert(id.clone(), J::from(key));
        }
    }
    (namespace, safe)
}

/// YAML with every string tagged `!unsafe`, so Ansible never templates a
/// credential's value (AWX's safe_dump).
fn unsafe_yaml(vars: &Value) -> Result<String, CredentialError> {
    use serde_yaml_ng::value::{Tag, TaggedValue};
    fn tag(value: &Value) -> serde_yaml_ng::Value {
        match value {
            Value::String(text) => serde_yaml_ng::Value::Tagged(Box::new(TaggedValue {
                tag: Tag::new("unsafe"),
                value: serde_yaml_ng::Value::String(text.clone()),
            })),
            Value::Object(map) => serde_yaml_ng::Value::Mapping(
                map.iter()
                    .map(|(k, v)| (serde_yaml_ng::Value::String(k.clone()), tag(v)))
                    .collect(),
            ),
            Value::Array(items) => serde_yaml_ng::Value::Sequence(items.iter().map(tag).collect()),
            Value::Bool(b) => serde_yaml_ng::Value::Bool(*b),
            Value::Number(n) => serde_yaml_ng::to_value(n).unwrap_or(serde_yaml_ng::Value::Null),
            Value::Null => serde_yaml_ng::Value::Null,
        }
    }
    serde_yaml_ng::to_string(&tag(vars)).map_err(|e| CredentialError::Encode(e.to_string()))
}

/// OpenSSH refuses a key without its final newline.
fn with_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// `arg` as one word for Python's `shlex.split` (as `shlex.quote` writes it).
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r#"'"'"'"#))
    }
}

fn io_error(path: &Path, source: std::io::Error) -> CredentialError {
    CredentialError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn create_dir(dir: &Path) -> Result<(), CredentialError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

/// Writes `bytes` to `path` with `mode` (replacing any older file: the mode
/// of an existing file would not change on open).
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CredentialError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(path, e)),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.write_all(bytes).map_err(|e| io_error(path, e))
}

/// A new file with a random name in `dir` (AWX's mkstemp in `env/`).
fn temp_file(dir: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, CredentialError> {
    loop {
        let name = crate::crypto::random::alphanumeric(8).map_err(|_| CredentialError::Random)?;
        let path = dir.join(format!("tmp{name}"));
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path);
        match opened {
            Ok(mut file) => {
                file.write_all(bytes).map_err(|e| io_error(&path, e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A credential of the managed type `namespace` (its schema from the
    /// managed types file) with `inputs`.
    fn managed(namespace: &str, inputs: Value) -> Credential {
        let types: Vec<Value> = serde_json::from_str(include_str!(
            "../resources/data/managed_credential_types.json"
        ))
        .expect("managed types");
        let t = types
            .iter()
            .find(|t| t["namespace"] == namespace)
            .expect("type");
        Credential {
            name: format!("{namespace} cred"),
            kind: t["kind"].as_str().expect("kind").into(),
            namespace: namespace.into(),
            managed: true,
            schema: t["inputs"].clone(),
            injectors: t["injectors"].clone(),
            inputs: inputs.as_object().expect("inputs").clone(),
        }
    }

    fn custom(kind: &str, schema: Value, injectors: Value, inputs: Value) -> Credential {
        Credential {
            name: "custom".into(),
            kind: kind.into(),
            namespace: String::new(),
            managed: false,
            schema,
            injectors,
            inputs: inputs.as_object().expect("inputs").clone(),
        }
    }

    fn pdd() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("env")).expect("env");
        dir
    }

    fn read_json(path: &Path) -> Map<String, Value> {
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    /// The path after `-e @` on a command line.
    fn extra_vars_file(cmdline: &[String]) -> PathBuf {
        let at = cmdline.iter().position(|a| a == "-e").expect("-e");
        PathBuf::from(cmdline[at + 1].trim_start_matches('@'))
    }

    const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----";

    #[test]
    fn a_machine_credential_gives_user_become_options_key_and_prompt_answers() {
        let dir = pdd();
        let machine = managed(
            "ssh",
            json!({"username": "deploy", "ssh_key_data": KEY, "ssh_key_unlock": "open sesame",
                   "password": "ssh-pw", "become_method": "sudo", "become_username": "app",
                   "become_password": "become-pw"}),
        );
        let injection = inject_job(&[machine], true, "7", dir.path()).expect("inject");
        assert_eq!(
            injection.cmdline,
            [
                "-u",
                "deploy",
                "--ask-pass",
                "--become",
                "--become-method",
                "sudo",
                "--become-user",
                "app",
                "--ask-become-pass"
            ]
        );
        assert!(injection.env.is_empty() && injection.extra_vars.is_empty());

        let key = dir.path().join("env/ssh_key");
        assert_eq!(
            std::fs::read_to_string(&key).expect("key"),
            format!("{KEY}\n")
        );
        assert_eq!(mode(&key), 0o600);

        let passwords_file = dir.path().join("env/passwords");
        assert_eq!(mode(&passwords_file), 0o600);
        let answers = read_json(&passwords_file);
        assert_eq!(answers[r"Enter passphrase for .*:\s*?$"], "open sesame");
        assert_eq!(answers[r"Bad passphrase, try again for .*:\s*?$"], "");
        assert_eq!(answers[r"BECOME password.*:\s*?$"], "become-pw");
        assert_eq!(answers[r"sudo password.*:\s*?$"], "become-pw");
        assert_eq!(answers[r"SUDO password.*:\s*?$"], "become-pw");
        assert_eq!(answers[r"SSH password:\s*?$"], "ssh-pw");
        assert_eq!(answers[r"Password:\s*?$"], "ssh-pw");
        assert_eq!(answers[r"Vault password:\s*?$"], "");
        // Each answer is a valid regex for ansible-runner (Python `re`):
        // nothing here needs more than these escapes.
        for regex in answers.keys() {
            assert!(regex.ends_with(r":\s*?$"), "{regex}");
        }
    }

    #[test]
    fn without_a_machine_credential_the_user_is_root_and_nothing_is_asked() {
        let dir = pdd();
        let injection = inject_job(&[], false, "1", dir.path()).expect("inject");
        assert_eq!(injection.cmdline, ["-u", "root"]);
        assert!(!dir.path().join("env/ssh_key").exists());
        let answers = read_json(&dir.path().join("env/passwords"));
        assert!(answers.values().all(|v| v == ""));

        // Become without a password: no --ask-become-pass.
        let machine = managed("ssh", json!({"username": "me", "become_method": "su"}));
        let injection = inject_job(&[machine], true, "1", dir.path()).expect("inject");
        assert_eq!(
            injection.cmdline,
            ["-u", "me", "--become", "--become-method", "su"]
        );
    }

    #[test]
    fn odd_values_are_quoted_for_shlex_and_jinja_is_refused() {
        let dir = pdd();
        let machine = managed("ssh", json!({"username": "o'brien smith"}));
        let injection = inject_job(&[machine], false, "1", dir.path()).expect("inject");
        assert_eq!(injection.cmdline, ["-u", r#"'o'"'"'brien smith'"#]);
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a@b:c/d"), "a@b:c/d");

        let machine = managed("ssh", json!({"username": "{{ lookup('pipe', 'id') }}"}));
        let err = inject_job(&[machine], false, "1", dir.path()).expect_err("jinja");
        assert!(
            err.to_string().contains("username may not contain Jinja"),
            "{err}"
        );
    }

    #[test]
    fn ask_is_refused_with_a_clear_message() {
        let dir = pdd();
        let machine = managed("ssh", json!({"username": "me", "password": "ASK"}));
        let err = inject_job(&[machine], false, "1", dir.path()).expect_err("ASK");
        let message = err.to_string();
        assert!(message.contains("ssh_password is \"ASK\""), "{message}");
        assert!(message.contains("launch"), "{message}");

        let vault = managed(
            "vault",
            json!({"vault_password": "ASK", "vault_id": "prod"}),
        );
        let err = inject_job(&[vault], false, "1", dir.path()).expect_err("ASK");
        assert!(err.to_string().contains("vault_password.prod"), "{err}");
    }

    #[test]
    fn vault_credentials_are_prompted_per_vault_id() {
        let dir = pdd();
        let plain = managed("vault", json!({"vault_password": "v-default"}));
        let prod = managed(
            "vault",
            json!({"vault_password": "v-prod", "vault_id": "prod"}),
        );
        let injection = inject_job(&[plain, prod], false, "1", dir.path()).expect("inject");
        assert_eq!(
            injection.cmdline,
            [
                "-u",
                "root",
                "--ask-vault-pass",
                "--vault-id",
                "prod@prompt"
            ]
        );
        let answers = read_json(&dir.path().join("env/passwords"));
        assert_eq!(answers[r"Vault password:\s*?$"], "v-default");
        assert_eq!(answers[r"Vault password \(prod\):\s*?$"], "v-prod");

        let twice = [
            managed("vault", json!({"vault_password": "a", "vault_id": "prod"})),
            managed("vault", json!({"vault_password": "b", "vault_id": "prod"})),
        ];
        let err = inject_job(&twice, false, "1", dir.path()).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "multiple vault credentials were specified with --vault-id prod@prompt"
        );
        assert_eq!(regex_escape("a.b(c)"), r"a\.b\(c\)");
    }

    #[test]
    fn a_network_credential_sets_ansible_net_and_writes_its_key() {
        let dir = pdd();
        let net = managed(
            "net",
            json!({"username": "admin", "password": "net-pw", "ssh_key_data": KEY,
                   "ssh_key_unlock": "net-unlock", "authorize": true, "authorize_password": "enable-pw"}),
        );
        let injection = inject_job(&[net], false, "1", dir.path()).expect("inject");
        let env = &injection.env;
        assert_eq!(env["ANSIBLE_NET_USERNAME"], "admin");
        assert_eq!(env["ANSIBLE_NET_PASSWORD"], "net-pw");
        assert_eq!(env["ANSIBLE_NET_AUTHORIZE"], "1");
        assert_eq!(env["ANSIBLE_NET_AUTH_PASS"], "enable-pw");
        let keyfile = PathBuf::from(env["ANSIBLE_NET_SSH_KEYFILE"].as_str().expect("path"));
        assert!(keyfile.starts_with(dir.path().join("env")));
        assert_eq!(
            std::fs::read_to_string(&keyfile).expect("key"),
            format!("{KEY}\n")
        );
        assert_eq!(mode(&keyfile), 0o600);
        // Network keys are not for the ssh-agent.
        assert!(!dir.path().join("env/ssh_key").exists());
        let answers = read_json(&dir.path().join("env/passwords"));
        assert_eq!(answers[r"Enter passphrase for .*:\s*?$"], "net-unlock");
        assert_eq!(injection.safe_env["ANSIBLE_NET_PASSWORD"], HIDDEN);
        assert_eq!(injection.safe_env["ANSIBLE_NET_AUTH_PASS"], HIDDEN);
        assert_eq!(injection.safe_env["ANSIBLE_NET_USERNAME"], "admin");

        let net = managed("net", json!({"username": "admin"}));
        let injection = inject_job(&[net], false, "1", dir.path()).expect("inject");
        assert_eq!(injection.env["ANSIBLE_NET_AUTHORIZE"], "0");
        assert!(!injection.env.contains_key("ANSIBLE_NET_AUTH_PASS"));
    }

    #[test]
    fn builtin_cloud_injectors() {
        let dir = pdd();
        let env_dir = dir.path().join("env");
        let aws = managed(
            "aws",
            json!({"username": "AKIA1", "password": "aws-secret", "security_token": "tok"}),
        );
        let env = builtin(&aws, &env_dir).expect("aws");
        assert_eq!(env["AWS_ACCESS_KEY_ID"], "AKIA1");
        assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "aws-secret");
        assert_eq!(env["AWS_SECURITY_TOKEN"], "tok");
        assert_eq!(env["AWS_SESSION_TOKEN"], "tok");
        let safe = safe_env(&env);
        assert_eq!(safe["AWS_ACCESS_KEY_ID"], "AKIA1");
        assert_eq!(safe["AWS_SECRET_ACCESS_KEY"], HIDDEN);
        assert_eq!(safe["AWS_SESSION_TOKEN"], HIDDEN);
        let aws = managed("aws", json!({"username": "AKIA1", "password": "s"}));
        assert!(
            !builtin(&aws, &env_dir)
                .expect("aws")
                .contains_key("AWS_SECURITY_TOKEN")
        );

        let gce = managed(
            "gce",
            json!({"username": "sa@proj.iam", "project": "proj", "ssh_key_data": "PEM"}),
        );
        let env = builtin(&gce, &env_dir).expect("gce");
        let path = PathBuf::from(env["GCE_CREDENTIALS_FILE_PATH"].as_str().expect("path"));
        assert_eq!(
            env["GCP_SERVICE_ACCOUNT_FILE"],
            env["GCE_CREDENTIALS_FILE_PATH"]
        );
        assert_eq!(
            env["GOOGLE_APPLICATION_CREDENTIALS"],
            env["GCE_CREDENTIALS_FILE_PATH"]
        );
        assert_eq!(env["GCP_AUTH_KIND"], "serviceaccount");
        assert_eq!(env["GCP_PROJECT"], "proj");
        assert_eq!(env["GCP_ENV_TYPE"], "tower");
        assert_eq!(env["GCE_EMAIL"], "sa@proj.iam");
        assert_eq!(env["GCE_PROJECT"], "proj");
        assert_eq!(mode(&path), 0o600);
        let account = read_json(&path);
        assert_eq!(
            Value::Object(account),
            json!({"type": "service_account", "private_key": "PEM", "client_email": "sa@proj.iam",
                   "project_id": "proj", "token_uri": "https://oauth2.googleapis.com/token"})
        );

        let azure = managed(
            "azure_rm",
            json!({"subscription": "sub", "client": "cid", "tenant": "tid", "secret": "az-secret",
                   "username": "u", "password": "p", "cloud_environment": "AzureChinaCloud"}),
        );
        let env = builtin(&azure, &env_dir).expect("azure");
        assert_eq!(
            Value::Object(env),
            json!({"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_CLIENT_ID": "cid", "AZURE_TENANT": "tid",
                   "AZURE_SECRET": "az-secret", "AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud"})
        );
        let azure = managed(
            "azure_rm",
            json!({"subscription": "sub", "username": "u", "password": "p"}),
        );
        let env = builtin(&azure, &env_dir).expect("azure");
        assert_eq!(
            Value::Object(env),
            json!({"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_AD_USER": "u", "AZURE_PASSWORD": "p"})
        );

        let vmware = managed(
            "vmware",
            json!({"host": "vc", "username": "u", "password": "p"}),
        );
        assert_eq!(
            Value::Object(builtin(&vmware, &env_dir).expect("vmware")),
            json!({"VMWARE_USER": "u", "VMWARE_PASSWORD": "p", "VMWARE_HOST": "vc",
                   "VMWARE_VALIDATE_CERTS": "False"})
        );

        let openstack = managed(
            "openstack",
            json!({"host": "https://keystone", "username": "u", "password": "os-pw", "project": "p",
                   "domain": "d", "region": "r1", "verify_ssl": false}),
        );
        let env = builtin(&openstack, &env_dir).expect("openstack");
        let path = PathBuf::from(env["OS_CLIENT_CONFIG_FILE"].as_str().expect("path"));
        assert_eq!(mode(&path), 0o600);
        let clouds: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        assert_eq!(
            clouds,
            json!({"clouds": {"devstack": {
                "auth": {"auth_url": "https://keystone", "username": "u", "password": "os-pw",
                         "project_name": "p", "domain_name": "d"},
                "verify": false, "region_name": "r1"}}})
        );
        let openstack = managed(
            "openstack",
            json!({"host": "h", "username": "u", "password": "p", "project": "x"}),
        );
        let env = builtin(&openstack, &env_dir).expect("openstack");
        let path = PathBuf::from(env["OS_CLIENT_CONFIG_FILE"].as_str().expect("path"));
        let clouds: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        assert_eq!(clouds["clouds"]["devstack"]["verify"], true);

        let k8s = managed(
            "kubernetes_bearer_token",
            json!({"host": "https://k8s", "bearer_token": "bt", "verify_ssl": true, "ssl_ca_cert": "CA"}),
        );
        let env = builtin(&k8s, &env_dir).expect("k8s");
        assert_eq!(env["K8S_AUTH_API_KEY"], "bt");
        assert_eq!(env["K8S_AUTH_VERIFY_SSL"], "True");
        let ca = PathBuf::from(env["K8S_AUTH_SSL_CA_CERT"].as_str().expect("path"));
        assert_eq!(std::fs::read_to_string(ca).expect("ca"), "CA");

        // AWX has no job injector for Satellite 6 (its FOREMAN_* variables
        // are for inventory updates only).
        let satellite = managed(
            "satellite6",
            json!({"host": "h", "username": "u", "password": "p"}),
        );
        assert!(builtin(&satellite, &env_dir).expect("satellite").is_empty());

        // Through inject_job, the built-ins reach env and safe_env.
        let aws = managed(
            "aws",
            json!({"username": "AKIA1", "password": "aws-secret"}),
        );
        let injection = inject_job(&[aws], false, "1", dir.path()).expect("inject");
        assert_eq!(injection.env["AWS_SECRET_ACCESS_KEY"], "aws-secret");
        assert_eq!(injection.safe_env["AWS_SECRET_ACCESS_KEY"], HIDDEN);
    }

    #[test]
    fn safe_env_hides_secrets_as_awx_does() {
        let env: Map<String, Value> = json!({
            "MY_API_URL": "x", "plain": "https://user:pw@host/x", "OK": "https://host/x",
            "ANSIBLE_BECOME_PASS": "kept", "ANSIBLE_GALAXY_SERVER_X_TOKEN": "t", "NAME": "n"
        })
        .as_object()
        .expect("env")
        .clone();
        let safe = safe_env(&env);
        assert_eq!(safe["MY_API_URL"], HIDDEN);
        assert_eq!(safe["plain"], HIDDEN);
        assert_eq!(safe["OK"], "https://host/x");
        assert_eq!(safe["ANSIBLE_BECOME_PASS"], "kept");
        assert_eq!(safe["ANSIBLE_GALAXY_SERVER_X_TOKEN"], HIDDEN);
        assert_eq!(safe["NAME"], "n");
    }

    fn api_type() -> (Value, Value) {
        (
            json!({"fields": [
                {"id": "host", "label": "Host", "type": "string"},
                {"id": "token", "label": "Token", "type": "string", "secret": true},
                {"id": "key", "label": "Key", "type": "string", "secret": true, "format": "ssh_private_key"},
                {"id": "verify", "label": "Verify", "type": "boolean"},
                {"id": "empty", "label": "Empty", "type": "string"}
            ]}),
            json!({
                "file": {"template.config": "[api]\nhost={{ host }}\ntoken={{ token }}\n",
                         "template.key": "{{ key }}"},
                "env": {"API_HOST": "{{ host }}", "API_TOKEN": "{{ token }}",
                        "API_CONFIG": "{{ tower.filename.config }}", "API_VERIFY": "{{ verify }}",
                        "API_EMPTY": "[{{ empty }}]", "ANSIBLE_CONFIG": "/evil", "PATH": "/evil"},
                "extra_vars": {"api_host": "{{ host }}", "api_token": "{{ token }}",
                               "nested": {"{{ host }}_key": ["{{ tower.filename.key }}"]}}
            }),
        )
    }

    #[test]
    fn custom_injectors_render_env_files_and_extra_vars() {
        let dir = pdd();
        let (schema, injectors) = api_type();
        let credential = custom(
            "cloud",
            schema,
            injectors,
            json!({"host": "api.example", "token": "s3cr{{et}}", "key": "KEYDATA", "empty": ""}),
        );
        let injection = inject_job(&[credential], false, "1", dir.path()).expect("inject");
        let env = &injection.env;
        assert_eq!(env["API_HOST"], "api.example");
        assert_eq!(
            env["API_TOKEN"], "s3cr{{et}}",
            "values are data, never templates"
        );
        assert_eq!(
            env["API_VERIFY"], "False",
            "a missing boolean is false, as Python prints it"
        );
        assert_eq!(env["API_EMPTY"], "[]", "an empty input is undefined");
        assert!(!env.contains_key("ANSIBLE_CONFIG") && !env.contains_key("PATH"));

        let config = PathBuf::from(env["API_CONFIG"].as_str().expect("path"));
        assert!(config.starts_with(dir.path().join("env")));
        assert_eq!(mode(&config), 0o600);
        assert_eq!(
            std::fs::read_to_string(&config).expect("config"),
            "[api]\nhost=api.example\ntoken=s3cr{{et}}"
        );

        // job_env keeps the non-secret values only.
        assert_eq!(injection.safe_env["API_TOKEN"], HIDDEN);
        assert_eq!(injection.safe_env["API_HOST"], "api.example");

        // Extra vars go to a read-only file given with -e, every string !unsafe.
        assert!(injection.extra_vars.is_empty());
        assert_eq!(injection.cmdline[..2], ["-u", "root"]);
        let file = extra_vars_file(&injection.cmdline);
        assert_eq!(mode(&file), 0o400);
        let text = std::fs::read_to_string(&file).expect("extra vars");
        assert!(text.contains("api_token: !unsafe"), "{text}");
        let vars: Value = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
            .map(untag)
            .expect("yaml");
        assert_eq!(vars["api_host"], "api.example");
        assert_eq!(vars["api_token"], "s3cr{{et}}");
        let key_path = vars["nested"]["api.example_key"][0]
            .as_str()
            .expect("key file");
        // A private key gets its final newline, as ssh wants it.
        assert_eq!(std::fs::read_to_string(key_path).expect("key"), "KEYDATA\n");
    }

    /// A YAML value without its tags, as JSON.
    fn untag(value: serde_yaml_ng::Value) -> Value {
        match value {
            serde_yaml_ng::Value::Tagged(tagged) => untag(tagged.value),
            serde_yaml_ng::Value::Mapping(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), untag(v)))
                    .collect(),
            ),
            serde_yaml_ng::Value::Sequence(items) => {
                Value::Array(items.into_iter().map(untag).collect())
            }
            other => serde_json::to_value(other).expect("json"),
        }
    }

    #[test]
    fn a_single_file_is_tower_filename_and_bad_templates_are_errors() {
        let dir = pdd();
        let credential = custom(
            "net",
            json!({"fields": [{"id": "password", "label": "P", "type": "string", "secret": true}]}),
            json!({"file": {"template": "pw={{ password }}"},
                   "env": {"PW_FILE": "{{ tower.filename }}"}}),
            json!({"password": "pw1"}),
        );
        let injection = inject_job(&[credential], false, "1", dir.path()).expect("inject");
        let path = PathBuf::from(injection.env["PW_FILE"].as_str().expect("path"));
        assert_eq!(std::fs::read_to_string(path).expect("file"), "pw=pw1");
        // A custom `net` type is a network credential to AWX too.
        assert_eq!(injection.env["ANSIBLE_NET_PASSWORD"], "pw1");

        let broken = custom(
            "cloud",
            json!({"fields": []}),
            json!({"env": {"X": "{{ unclosed"}}),
            json!({}),
        );
        let err = inject_job(&[broken], false, "1", dir.path()).expect_err("syntax");
        assert!(err.to_string().contains("injector env.X"), "{err}");
    }

    #[test]
    fn a_managed_type_with_injectors_renders_them() {
        let dir = pdd();
        let controller = managed(
            "controller",
            json!({"host": "https://awx", "username": "u", "password": "p", "verify_ssl": false}),
        );
        let injection = inject_job(&[controller], false, "1", dir.path()).expect("inject");
        assert_eq!(injection.env["CONTROLLER_HOST"], "https://awx");
        assert_eq!(injection.env["CONTROLLER_PASSWORD"], "p");
        assert_eq!(injection.safe_env["CONTROLLER_PASSWORD"], HIDDEN);
    }

    #[test]
    fn a_source_control_credential_for_a_project_update() {
        let dir = tempfile::tempdir().expect("tempdir");
        let scm = managed(
            "scm",
            json!({"username": "git-user", "password": "git-token", "ssh_key_data": KEY,
                   "ssh_key_unlock": "scm-unlock"}),
        );
        let injection = inject_scm(&scm, dir.path()).expect("inject");
        assert_eq!(
            Value::Object(injection.extra_vars),
            json!({"scm_username": "git-user", "scm_password": "git-token"})
        );
        assert!(injection.cmdline.is_empty() && injection.env.is_empty());
        let key = dir.path().join("env/ssh_key");
        assert_eq!(
            std::fs::read_to_string(&key).expect("key"),
            format!("{KEY}\n")
        );
        assert_eq!(mode(&key), 0o600);
        let answers = read_json(&dir.path().join("env/passwords"));
        assert_eq!(answers[r"Enter passphrase for .*:\s*?$"], "scm-unlock");
        assert_eq!(answers[r"Username for.*:\s*?$"], "git-user");
        assert_eq!(answers[r"Password for.*:\s*?$"], "git-token");
        assert_eq!(answers[r"\S+?@\S+?'s\s+?password:\s*?$"], "git-token");
        assert_eq!(
            answers[r"^Are you sure you want to continue connecting \(yes/no\)\?\s*?$"],
            "yes"
        );

        let anonymous = managed("scm", json!({}));
        let injection = inject_scm(&anonymous, dir.path()).expect("inject");
        assert!(injection.extra_vars.is_empty());

        let machine = managed("ssh", json!({"username": "u"}));
        let err = inject_scm(&machine, dir.path()).expect_err("not scm");
        assert!(err.to_string().contains("not Source Control"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_inputs() {
        let machine = managed("ssh", json!({"username": "u", "password": "hunter2"}));
        assert!(!format!("{machine:?}").contains("hunter2"));
    }
}
