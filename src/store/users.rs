//! Users as authentication and `rawx admin create` need them.

use chrono::{DateTime, Utc};

use super::{Db, StoreError};

/// The channel every change to a user row is announced on (V13).
pub const CHANGED_CHANNEL: &str = "rawx_users";

/// A user row, without its password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_superuser: bool,
    pub is_system_auditor: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

const COLUMNS: &str = "id, username, first_name, last_name, email, is_superuser, \
                       is_system_auditor, last_login, created, modified, password";

/// The user columns under alias `u`, for joins.
pub const COLUMNS_U: &str = "u.id, u.username, u.first_name, u.last_name, u.email, \
                             u.is_superuser, u.is_system_auditor, u.last_login, u.created, u.modified";

/// A user from a row holding the user columns.
pub fn from_row(row: &tokio_postgres::Row) -> User {
    User {
        id: row.get("id"),
        username: row.get("username"),
        first_name: row.get("first_name"),
        last_name: row.get("last_name"),
        email: row.get("email"),
        is_superuser: row.get("is_superuser"),
        is_system_auditor: row.get("is_system_auditor"),
        last_login: row.get("last_login"),
        created: row.get("created"),
        modified: row.get("modified"),
    }
}

/// An active user and their password hash, by username.
pub async fn find_active_with_hash(
    db: &Db,
    username: &str,
) -> Result<Option<(User, String)>, StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(&format!(
            "SELECT {COLUMNS} FROM users WHERE username = $1 AND is_active"
        ))
        .await?;
    let row = conn.query_opt(&statement, &[&username]).await?;
    Ok(row.map(|row| (from_row(&row), row.get("password"))))
}

/// Whether the admin was created or already existed.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    PasswordSet,
}

/// Creates a superuser, or makes an existing user a superuser with this password.
pub async fn upsert_superuser(
    db: &Db,
    username: &str,
    password_hash: &str,
    email: &str,
) -> Result<AdminOutcome, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_one(
            "INSERT INTO users AS u (username, password, email, is_superuser, password_changed)
             VALUES ($1, $2, $3, true, now())
             ON CONFLICT (username) DO UPDATE SET
                 password = EXCLUDED.password,
                 email = CASE WHEN EXCLUDED.email = '' THEN u.email ELSE EXCLUDED.email END,
                 is_superuser = true,
                 is_active = true,
                 password_changed = now(),
                 modified = now()
             RETURNING (xmax = 0) AS inserted",
            &[&username, &password_hash, &email],
        )
        .await?;
    Ok(if row.get::<_, bool>("inserted") {
        AdminOutcome::Created
    } else {
        AdminOutcome::PasswordSet
    })
}
