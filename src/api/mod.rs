//! The REST API: AWX's `/api/` and `/api/v2/`. Only this module knows HTTP and JSON.

pub mod ad_hoc;
pub mod auth;
pub mod error;
pub mod headers;
pub mod inventory_sources;
pub mod inventory_views;
pub mod launch;
pub mod me;
pub mod mesh;
pub mod metrics;
pub mod pagination;
pub mod ping;
pub mod projects;
pub mod prompts;
pub mod relations;
pub mod resource;
pub mod root;
pub mod routes;
pub mod session;
pub mod settings;
pub mod survey;
pub mod system_config;
pub mod time;
pub mod tokens;
pub mod unified_jobs;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use routes::Routes;

use crate::node::NodeInfo;
use crate::node::actors::ActorHandles;
use crate::store::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// On a node's HTTP workers, that worker's own pool.
    pub db: Db,
    pub node: NodeInfo,
    pub actors: ActorHandles,
    pub install_uuid: String,
    /// Basic credentials verified before; emptied on any user change.
    pub auth_cache: std::sync::Arc<auth::CredentialCache>,
    /// Encrypts secrets at rest (credential inputs).
    pub cipher: std::sync::Arc<crate::crypto::fields::Cipher>,
    /// Where project files live (`<data_dir>/projects`).
    pub projects_root: std::path::PathBuf,
    /// Records launched jobs on their templates and tells the TaskManagers.
    pub announcer: crate::store::schedule::Announcer,
}

/// The shared state as handlers extract it.
pub type State = web::Data<Arc<AppState>>;

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut routes = Routes::default();
    routes
        .route("/api/", web::get().to(root::api_root))
        .route("/api/login/", web::get().to(session::form))
        .route("/api/login/", web::post().to(session::login))
        .route("/api/logout/", web::to(session::logout))
        .route(
            "/api/v2/users/{id}/personal_tokens/",
            web::get().to(tokens::list_for_user),
        )
        .route(
            "/api/v2/users/{id}/personal_tokens/",
            web::post().to(tokens::create_personal),
        )
        .route(
            "/api/v2/users/{id}/tokens/",
            web::get().to(tokens::list_for_user),
        )
        .route(
            "/api/v2/users/{id}/tokens/",
            web::post().to(tokens::create_personal),
        )
        .route("/api/v2/", web::get().to(root::v2_index))
        .route("/api/v2/ping/", web::get().to(ping::ping))
        .route("/api/v2/config/", web::get().to(system_config::config))
        .route("/api/v2/me/", web::get().to(me::me))
        .route("/api/v2/metrics/", web::get().to(metrics::metrics))
        .route(
            "/api/v2/mesh/join_tokens/",
            web::post().to(mesh::create_join_token),
        )
        .route("/api/v2/mesh/join/", web::post().to(mesh::join))
        .route("/api/v2/mesh_visualizer/", web::get().to(mesh::visualizer))
        .route(
            "/api/v2/projects/{id}/playbooks/",
            web::get().to(projects::playbooks),
        )
        .route(
            "/api/v2/job_templates/{id}/launch/",
            web::get().to(launch::describe),
        )
        .route(
            "/api/v2/job_templates/{id}/launch/",
            web::post().to(launch::launch),
        )
        .route(
            "/api/v2/job_templates/{id}/launch/",
            web::method(actix_web::http::Method::OPTIONS).to(launch::options),
        )
        .route(
            "/api/v2/inventory_sources/{id}/update/",
            web::get().to(inventory_sources::describe_update),
        )
        .route(
            "/api/v2/inventory_sources/{id}/update/",
            web::post().to(inventory_sources::update),
        )
        .route(
            "/api/v2/inventories/{id}/update_inventory_sources/",
            web::get().to(inventory_sources::describe_update_all),
        )
        .route(
            "/api/v2/inventories/{id}/update_inventory_sources/",
            web::post().to(inventory_sources::update_all),
        )
        .route(
            "/api/v2/hosts/{id}/ansible_facts/",
            web::get().to(inventory_sources::host_facts),
        )
        .route(
            "/api/v2/hosts/{id}/ad_hoc_commands/",
            web::post().to(ad_hoc::create_for_host),
        )
        .route(
            "/api/v2/groups/{id}/ad_hoc_commands/",
            web::post().to(ad_hoc::create_for_group),
        )
        .route(
            "/api/v2/ad_hoc_commands/{id}/relaunch/",
            web::get().to(ad_hoc::describe_relaunch),
        )
        .route(
            "/api/v2/ad_hoc_commands/{id}/relaunch/",
            web::post().to(ad_hoc::relaunch),
        )
        .route(
            "/api/v2/jobs/{id}/relaunch/",
            web::get().to(launch::describe_relaunch),
        )
        .route(
            "/api/v2/jobs/{id}/relaunch/",
            web::post().to(launch::relaunch),
        )
        .route(
            "/api/v2/projects/{id}/inventories/",
            web::get().to(projects::inventories),
        )
        .route(
            "/api/v2/projects/{id}/update/",
            web::get().to(projects::can_update),
        )
        .route(
            "/api/v2/projects/{id}/update/",
            web::post().to(projects::update),
        )
        .route("/api/v2/settings/", web::get().to(settings::categories))
        .route(
            "/api/v2/settings/{slug}/",
            web::get().to(settings::category),
        );
    // Before the sub-lists: a smart inventory's hosts are not its children.
    inventory_views::mount(&mut routes);
    relations::mount(&mut routes);
    unified_jobs::mount(&mut routes);
    survey::mount(&mut routes);
    for declared in crate::resources::ALL {
        resource::mount(&mut routes, declared);
    }
    routes.mount(cfg);
    cfg.default_service(web::to(fallback));
}

/// Django's APPEND_SLASH, as AWX clients expect it, then 404 in AWX's shape.
async fn fallback(req: HttpRequest) -> Result<HttpResponse, error::ApiError> {
    let path = req.path();
    if path.starts_with("/api") && !path.ends_with('/') {
        let mut location = format!("{path}/");
        if !req.query_string().is_empty() {
            location.push('?');
            location.push_str(req.query_string());
        }
        return Ok(HttpResponse::MovedPermanently()
            .insert_header(("Location", location))
            .finish());
    }
    Err(error::ApiError::NotFound)
}
