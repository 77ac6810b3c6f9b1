//! Who is calling: HTTP Basic (with a cache that spares argon2 on repeat
//! calls), bearer tokens, and session cookies with CSRF, as AWX accepts them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::http::Method;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use base64::Engine;
use ring::digest;

use super::State;
use super::error::ApiError;
use crate::crypto::password;
use crate::rbac::{self, Caller};
use crate::store::auth as store_auth;
use crate::store::users::{self, User};

/// The session cookie AWX sets.
pub const SESSION_COOKIE: &str = "awx_sessionid";
/// The CSRF cookie, echoed in `X-CSRFToken` on unsafe methods.
pub const CSRF_COOKIE: &str = "csrftoken";

/// Entries kept before the cache is emptied; a bound, not a tuning knob.
const CACHE_LIMIT: usize = 4096;

/// The cache's key: a username and a digest of the password.
type Key = (String, [u8; 32]);

/// Basic credentials verified before, each with its user and the hash it
/// was verified against.
///
/// While the node hears the database's notices of user changes (`live`),
/// a hit needs no query at all: any change to a user row, committed
/// anywhere, empties the cache (see `forget_all`). Without them, a hit
/// still reads the user's row and counts only while the stored hash is the
/// one verified, so a password change or a deactivation takes effect at
/// once either way.
#[derive(Default)]
pub struct CredentialCache {
    inner: Mutex<Verified>,
}

#[derive(Default)]
struct Verified {
    live: bool,
    /// Moves on with every emptying, so a lookup that read the database
    /// before a change cannot store what it read after it.
    generation: u64,
    entries: HashMap<Key, (User, String)>,
}

impl CredentialCache {
    fn key(username: &str, password: &str) -> Key {
        let digest = digest::digest(&digest::SHA256, password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        (username.to_string(), out)
    }

    /// The user of credentials verified before, when changes are heard.
    fn live_hit(&self, key: &Key) -> Option<User> {
        let verified = self.inner.lock().ok()?;
        if !verified.live {
            return None;
        }
        verified.entries.get(key).map(|(user, _)| user.clone())
    }

    /// Whether these credentials were verified against `stored_hash`.
    fn hit(&self, key: &Key, stored_hash: &str) -> bool {
        match self.inner.lock() {
            Ok(verified) => verified
                .entries
                .get(key)
                .is_some_and(|(_, hash)| hash == stored_hash),
            Err(_) => false,
        }
    }

    fn generation(&self) -> u64 {
        self.inner.lock().map(|v| v.generation).unwrap_or(u64::MAX)
    }

    /// Keeps verified credentials, unless the cache was emptied since
    /// `generation` (what was read may be stale).
    fn remember(&self, key: Key, user: User, stored_hash: String, generation: u64) {
        if let Ok(mut verified) = self.inner.lock() {
            if verified.generation != generation {
                return;
            }
            if verified.entries.len() >= CACHE_LIMIT {
                verified.entries.clear();
            }
            verified.entries.insert(key, (user, stored_hash));
        }
    }

    /// Empties the cache: a user row changed.
    pub fn forget_all(&self) {
        if let Ok(mut verified) = self.inner.lock() {
            verified.generation = verified.generation.wrapping_add(1);
            verified.entries.clear();
        }
    }

    /// Whether the node now hears (or stopped hearing) the notices of user
    /// changes; either way what it holds may have missed one.
    pub fn set_live(&self, live: bool) {
        if let Ok(mut verified) = self.inner.lock() {
            verified.live = live;
            verified.generation = verified.generation.wrapping_add(1);
            verified.entries.clear();
        }
    }
}

/// The authenticated caller; a handler that takes it cannot run anonymously.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

/// Marks a request as authenticated, for the response headers.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticatedMarker;

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<State>()
                .cloned()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let (user, read_only) = identify(&state, &req).await?;
            let held = if user.is_superuser {
                Default::default()
            } else {
                rbac::held_roles(&state.db, user.id).await?
            };
            req.extensions_mut().insert(AuthenticatedMarker);
            Ok(Authenticated(Caller {
                user,
                held: Arc::new(held),
                read_only,
            }))
        })
    }
}

/// The user behind the request's credentials, and whether they may only read.
pub async fn identify(state: &State, req: &HttpRequest) -> Result<(User, bool), ApiError> {
    if let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let value = header.to_str().map_err(|_| ApiError::InvalidCredentials)?;
        let (scheme, credentials) = value.split_once(' ').ok_or(ApiError::InvalidCredentials)?;
        if scheme.eq_ignore_ascii_case("basic") {
            let (username, secret) = basic_credentials(credentials)?;
            return Ok((verify_basic(state, &username, &secret).await?, false));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return store_auth::user_by_token(&state.db, credentials.trim())
                .await?
                .ok_or(ApiError::InvalidToken);
        }
        return Err(ApiError::InvalidCredentials);
    }
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let user = store_auth::user_by_session(&state.db, cookie.value())
            .await?
            .ok_or(ApiError::NotAuthenticated)?;
        check_csrf(req)?;
        return Ok((user, false));
    }
    Err(ApiError::NotAuthenticated)
}

/// Session callers must echo the CSRF cookie on unsafe methods, as Django
/// requires; token and Basic callers are exempt.
fn check_csrf(req: &HttpRequest) -> Result<(), ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let cookie = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let header = req
        .headers()
        .get("X-CSRFToken")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match (cookie, header) {
        (Some(cookie), Some(header)) if !cookie.is_empty() && cookie == header => Ok(()),
        _ => Err(ApiError::Forbidden(
            "CSRF Failed: CSRF token missing or incorrect.".into(),
        )),
    }
}

/// The username and password of a Basic `Authorization` value.
fn basic_credentials(encoded: &str) -> Result<(String, String), ApiError> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::InvalidCredentials)?;
    let text = String::from_utf8(decoded).map_err(|_| ApiError::InvalidCredentials)?;
    let (username, secret) = text.split_once(':').ok_or(ApiError::InvalidCredentials)?;
    Ok((username.to_string(), secret.to_string()))
}

/// Checks a username and password, through the cache when it can.
pub async fn verify_basic(state: &State, username: &str, secret: &str) -> Result<User, ApiError> {
    let key = CredentialCache::key(username, secret);
    if let Some(user) = state.auth_cache.live_hit(&key) {
        return Ok(user);
    }
    let generation = state.auth_cache.generation();
    let (user, stored_hash) = users::find_active_with_hash(&state.db, username)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    if !state.auth_cache.hit(&key, &stored_hash) {
        // argon2 is deliberately slow: keep it off the async worker threads.
        let secret = secret.to_string();
        let hash = stored_hash.clone();
        let matches = actix_web::web::block(move || password::verify(&secret, &hash))
            .await
            .map_err(|err| ApiError::Internal(err.to_string()))?;
        if !matches {
            return Err(ApiError::InvalidCredentials);
        }
    }
    state
        .auth_cache
        .remember(key, user.clone(), stored_hash, generation);
    Ok(user)
}
