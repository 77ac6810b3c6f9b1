//! Browser-style login: `/api/login/` with Django's CSRF dance, as the `awx`
//! CLI performs it, and `/api/logout/`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{Duration, Utc};

use super::State;
use super::auth::{CSRF_COOKIE, SESSION_COOKIE, verify_basic};
use super::error::ApiError;
use crate::crypto::random;
use crate::store::auth as store_auth;

/// Seconds a session lasts (AWX's SESSION_COOKIE_AGE).
const SESSION_AGE: i64 = 1800;

/// A cookie for plain http: never `Secure`, or Python's requests drops it.
fn cookie(name: &'static str, value: String, http_only: bool) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_path("/");
    cookie.set_same_site(SameSite::Lax);
    cookie.set_http_only(http_only);
    cookie.set_secure(false);
    cookie
}

/// The CSRF cookie to set when the request has none.
pub fn csrf_cookie(req: &HttpRequest) -> Option<Cookie<'static>> {
    if req.cookie(CSRF_COOKIE).is_some() {
        return None;
    }
    random::alphanumeric(32)
        .ok()
        .map(|token| cookie(CSRF_COOKIE, token, false))
}

const FORM: &str = "<!DOCTYPE html><html><head><title>AWX REST API</title></head><body>\
<form method=\"post\" action=\"/api/login/\"><input type=\"hidden\" name=\"next\" value=\"/api/\">\
<label>Username <input name=\"username\"></label> <label>Password <input type=\"password\" name=\"password\"></label>\
<button type=\"submit\">Log in</button></form></body></html>";

/// `GET /api/login/`: the form, and the CSRF cookie it needs.
pub async fn form(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(cookie) = csrf_cookie(&req) {
        response.cookie(cookie);
    }
    response.content_type("text/html; charset=utf-8").body(FORM)
}

/// Only a local path may follow a login, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") => path.to_string(),
        _ => "/api/".into(),
    }
}

/// `POST /api/login/` (form-encoded `username`, `password`, `next`).
pub async fn login(state: State, req: HttpRequest, bytes: Bytes) -> Result<HttpResponse, ApiError> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let cookie_token = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string());
    let sent_token = req
        .headers()
        .get("X-CSRFToken")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| get("csrfmiddlewaretoken").map(str::to_string));
    match (&cookie_token, &sent_token) {
        (Some(cookie), Some(sent)) if !cookie.is_empty() && cookie == sent => {}
        _ => {
            return Err(ApiError::Forbidden(
                "CSRF Failed: CSRF token missing or incorrect.".into(),
            ));
        }
    }
    let (Some(username), Some(password)) = (get("username"), get("password")) else {
        return Ok(HttpResponse::Unauthorized()
            .content_type("text/html; charset=utf-8")
            .body(FORM));
    };
    let user = match verify_basic(&state, username, password).await {
        Ok(user) => user,
        Err(ApiError::InvalidCredentials) => {
            return Ok(HttpResponse::Unauthorized()
                .content_type("text/html; charset=utf-8")
                .body(FORM));
        }
        Err(err) => return Err(err),
    };
    let key = random::alphanumeric(40).map_err(|err| ApiError::Internal(err.to_string()))?;
    store_auth::create_session(
        &state.db,
        user.id,
        &key,
        Utc::now() + Duration::seconds(SESSION_AGE),
    )
    .await?;
    let mut session = cookie(SESSION_COOKIE, key, true);
    session.set_max_age(actix_web::cookie::time::Duration::seconds(SESSION_AGE));
    Ok(HttpResponse::Found()
        .insert_header(("Location", safe_next(get("next"))))
        .insert_header(("X-API-Session-Cookie-Name", SESSION_COOKIE))
        .cookie(session)
        .cookie(cookie("userLoggedIn", "true".into(), false))
        .finish())
}

/// `/api/logout/`: ends the session, whatever method.
pub async fn logout(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(session) = req.cookie(SESSION_COOKIE) {
        store_auth::delete_session(&state.db, session.value()).await?;
    }
    let mut gone = cookie(SESSION_COOKIE, String::new(), true);
    gone.make_removal();
    let mut logged_out = cookie("userLoggedIn", String::new(), false);
    logged_out.make_removal();
    Ok(HttpResponse::Found()
        .insert_header(("Location", "/api/"))
        .cookie(gone)
        .cookie(logged_out)
        .finish())
}
