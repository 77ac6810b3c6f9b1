//! Tokens and sessions: stored as SHA-256 of the secret, never the secret.

use chrono::{DateTime, Utc};

use super::users::{self, User};
use super::{Db, StoreError};

/// SHA-256 of a secret, hex-encoded: how tokens and session keys are stored.
pub fn digest(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The active user a bearer token belongs to, and whether it may only read.
pub async fn user_by_token(db: &Db, token: &str) -> Result<Option<(User, bool)>, StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(&format!(
            "SELECT {}, t.scope FROM tokens t JOIN users u ON u.id = t.user_id
              WHERE t.token_hash = $1 AND t.expires > now() AND u.is_active",
            users::COLUMNS_U
        ))
        .await?;
    let row = conn.query_opt(&statement, &[&digest(token)]).await?;
    Ok(row.map(|row| {
        let scope: String = row.get("scope");
        (users::from_row(&row), scope == "read")
    }))
}

/// The active user a session cookie belongs to, and the session's CSRF token.
pub async fn user_by_session(db: &Db, key: &str) -> Result<Option<User>, StoreError> {
    let conn = db.get().await?;
    let row = conn
        .query_opt(
            &format!(
                "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.session_key_hash = $1 AND s.expires > now() AND u.is_active",
                users::COLUMNS_U
            ),
            &[&digest(key)],
        )
        .await?;
    Ok(row.map(|row| users::from_row(&row)))
}

/// Opens a session for `user_id` under `key` until `expires`.
pub async fn create_session(
    db: &Db,
    user_id: i64,
    key: &str,
    expires: DateTime<Utc>,
) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "INSERT INTO sessions (session_key_hash, user_id, expires) VALUES ($1, $2, $3)",
        &[&digest(key), &user_id, &expires],
    )
    .await?;
    conn.execute(
        "UPDATE users SET last_login = now() WHERE id = $1",
        &[&user_id],
    )
    .await?;
    // Expired sessions are of no use to anyone; sweep a few on each login.
    conn.execute(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires < now() LIMIT 100)",
        &[],
    )
    .await?;
    Ok(())
}

/// Ends the session under `key`.
pub async fn delete_session(db: &Db, key: &str) -> Result<(), StoreError> {
    let conn = db.get().await?;
    conn.execute(
        "DELETE FROM sessions WHERE session_key_hash = $1",
        &[&digest(key)],
    )
    .await?;
    Ok(())
}
