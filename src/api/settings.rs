//! `/api/v2/settings/`: the system settings, by category, read-only.

use actix_web::HttpResponse;
use actix_web::web::Path;
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use crate::store::StoreError;

/// AWX's categories and the settings each holds; `all` holds every one.
const CATEGORIES: &[(&str, &str, &[&str])] = &[
    ("all", "All", &[]),
    (
        "system",
        "System",
        &[
            "INSTALL_UUID",
            "TOWER_URL_BASE",
            "ACTIVITY_STREAM_ENABLED",
            "ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC",
            "ORG_ADMINS_CAN_SEE_ALL_USERS",
            "MANAGE_ORGANIZATION_AUTH",
            "DISABLE_LOCAL_AUTH",
            "REMOTE_HOST_HEADERS",
        ],
    ),
    (
        "jobs",
        "Jobs",
        &[
            "AD_HOC_COMMANDS",
            "EVENT_STDOUT_MAX_BYTES_DISPLAY",
            "STDOUT_MAX_BYTES_DISPLAY",
            "MAX_EVENT_RES_DATA",
            "DEFAULT_JOB_TIMEOUT",
            "DEFAULT_JOB_IDLE_TIMEOUT",
            "DEFAULT_INVENTORY_UPDATE_TIMEOUT",
            "DEFAULT_PROJECT_UPDATE_TIMEOUT",
            "ANSIBLE_FACT_CACHE_TIMEOUT",
            "MAX_FORKS",
            "SCHEDULE_MAX_JOBS",
            "PROJECT_UPDATE_VVV",
            "AWX_ROLES_ENABLED",
            "AWX_COLLECTIONS_ENABLED",
            "AWX_SHOW_PLAYBOOK_LINKS",
            "GALAXY_IGNORE_CERTS",
            "AWX_TASK_ENV",
            "DEFAULT_EXECUTION_ENVIRONMENT",
        ],
    ),
    (
        "authentication",
        "Authentication",
        &[
            "AUTH_BASIC_ENABLED",
            "SESSION_COOKIE_AGE",
            "SESSIONS_PER_USER",
            "OAUTH2_PROVIDER",
            "ALLOW_OAUTH2_FOR_EXTERNAL_USERS",
            "LOGIN_REDIRECT_OVERRIDE",
        ],
    ),
    (
        "ui",
        "UI",
        &[
            "CUSTOM_LOGIN_INFO",
            "CUSTOM_LOGO",
            "MAX_UI_JOB_EVENTS",
            "UI_LIVE_UPDATES_ENABLED",
            "MAX_WEBSOCKET_EVENT_RATE",
        ],
    ),
];

/// `GET /api/v2/settings/`: the categories.
pub async fn categories(Authenticated(_caller): Authenticated) -> HttpResponse {
    let results: Vec<Value> = CATEGORIES
        .iter()
        .map(|(slug, name, _)| json!({"url": format!("/api/v2/settings/{slug}/"), "slug": slug, "name": name}))
        .collect();
    HttpResponse::Ok()
        .json(json!({"count": results.len(), "next": null, "previous": null, "results": results}))
}

/// `GET /api/v2/settings/<category>/`: superusers and auditors only, as in AWX.
pub async fn category(
    state: State,
    slug: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let Some((_, _, keys)) = CATEGORIES.iter().find(|(s, _, _)| *s == slug.as_str()) else {
        return Err(ApiError::NotFound);
    };
    if !caller.sees_all() {
        return Err(ApiError::PermissionDenied);
    }
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let rows = conn
        .query(
            "SELECT key, value FROM settings WHERE key NOT LIKE 'RAWX\\_%' ORDER BY key",
            &[],
        )
        .await
        .map_err(StoreError::from)?;
    let mut out = Map::new();
    for row in rows {
        let key: String = row.get(0);
        if keys.is_empty() || keys.contains(&key.as_str()) {
            out.insert(key, row.get(1));
        }
    }
    Ok(HttpResponse::Ok().json(Value::Object(out)))
}
