//! What every kind of unified job serves beside its declaration: its
//! output (`stdout/`) and `cancel/`.

use crate::api::routes::Routes;
use actix_web::web::{self, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{query_pairs, readable};
use super::resource::lookup;
use crate::exec::event::EventTable;
use crate::rbac::{self, Caller};
use crate::resource::Resource;
use crate::resources::ad_hoc_commands::AD_HOC_COMMAND;
use crate::resources::inventory_updates::INVENTORY_UPDATE;
use crate::resources::jobs::JOB;
use crate::resources::project_updates::PROJECT_UPDATE;
use crate::store::{StoreError, events, jobs};

/// Mounts `stdout/` and `cancel/` of each kind of unified job rawx runs.
pub fn mount(routes: &mut Routes) {
    for resource in [&JOB, &PROJECT_UPDATE, &INVENTORY_UPDATE, &AD_HOC_COMMAND] {
        let base = format!("/api/v2/{}/{{id}}", resource.path);
        routes
            .route(
                &format!("{base}/stdout/"),
                web::get().to(move |s, p, r, c| stdout(resource, s, p, r, c)),
            )
            .route(
                &format!("{base}/cancel/"),
                web::get().to(move |s, p, c| can_cancel(resource, s, p, c)),
            )
            .route(
                &format!("{base}/cancel/"),
                web::post().to(move |s, p, c| cancel(resource, s, p, c)),
            );
    }
}

/// Removes ANSI escape sequences for the `txt` formats.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `GET /api/v2/jobs/N/stdout/?format=txt|ansi|txt_download|ansi_download|json`.
async fn stdout(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    readable(&state, &caller, resource, id).await?;
    let table = EventTable::of_kind(resource.type_name).ok_or(ApiError::NotFound)?;
    let raw = events::stdout(&state.db, table, id).await?;
    let format = query_pairs(&req)
        .into_iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v)
        .unwrap_or_else(|| "txt".into());
    let text = |ansi: bool| if ansi { raw.clone() } else { strip_ansi(&raw) };
    Ok(match format.as_str() {
        "txt" | "ansi" => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(text(format == "ansi")),
        "txt_download" | "ansi_download" => {
            let ansi = format == "ansi_download";
            let name = if ansi {
                format!("{}_{id}.ansi.txt", resource.type_name)
            } else {
                format!("{}_{id}.txt", resource.type_name)
            };
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .insert_header((
                    "Content-Disposition",
                    format!("attachment; filename=\"{name}\""),
                ))
                .body(text(ansi))
        }
        "json" => {
            let lines = raw.lines().count();
            HttpResponse::Ok().json(
                json!({"range": {"start": 0, "end": lines, "absolute_end": lines}, "content": raw}),
            )
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "Unsupported format \"{other}\"."
            )));
        }
    })
}

/// Whether the caller may cancel the job: its launcher, or whoever may
/// change it (its template's admins).
async fn may_cancel(
    resource: &'static Resource,
    state: &State,
    caller: &Caller,
    job: &Map<String, Value>,
) -> Result<bool, ApiError> {
    if caller.is_superuser() {
        return Ok(true);
    }
    if job
        .get("launched_by")
        .and_then(|l| l.get("id"))
        .and_then(Value::as_i64)
        == Some(caller.user.id)
    {
        return Ok(!caller.read_only);
    }
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let allowed =
        rbac::can_change_each(&*conn, caller, resource, std::slice::from_ref(job)).await?;
    Ok(allowed.first().copied().unwrap_or(false))
}

fn cancelable(job: &Map<String, Value>) -> bool {
    matches!(
        job.get("status").and_then(Value::as_str),
        Some("new" | "pending" | "waiting" | "running")
    )
}

/// `GET /api/v2/jobs/N/cancel/`: `{"can_cancel": bool}`.
async fn can_cancel(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    let job = readable(&state, &caller, resource, id).await?;
    Ok(HttpResponse::Ok().json(json!({"can_cancel": cancelable(&job)})))
}

/// `POST /api/v2/jobs/N/cancel/`: 202, or 405 when the job is over.
async fn cancel(
    resource: &'static Resource,
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, resource, &path).await?;
    let job = readable(&state, &caller, resource, id).await?;
    if !may_cancel(resource, &state, &caller, &job).await? {
        return Err(ApiError::PermissionDenied);
    }
    if !cancelable(&job) || !jobs::cancel(&state.db, id).await? {
        return Err(ApiError::MethodNotAllowed("POST".into()));
    }
    Ok(HttpResponse::Accepted().finish())
}
