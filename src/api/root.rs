//! `/api/` and `/api/v2/`: where a client learns the rest.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

/// `GET /api/`, open to anyone; sets the CSRF cookie a session login needs.
pub async fn api_root(req: HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(cookie) = super::session::csrf_cookie(&req) {
        response.cookie(cookie);
    }
    response.json(json!({
        "description": "AWX REST API",
        "current_version": "/api/v2/",
        "available_versions": { "v2": "/api/v2/" },
        "oauth2": "/api/o/",
        "custom_logo": "",
        "custom_login_info": "",
        "login_redirect_override": "",
    }))
}

/// The resource keys of `/api/v2/`, in AWX 24.6.1's order; each becomes an
/// `awx` CLI subcommand.
pub const RESOURCES: [&str; 52] = [
    "ping",
    "instances",
    "instance_groups",
    "receptor_addresses",
    "config",
    "settings",
    "me",
    "dashboard",
    "organizations",
    "users",
    "execution_environments",
    "projects",
    "project_updates",
    "teams",
    "credentials",
    "credential_types",
    "credential_input_sources",
    "applications",
    "tokens",
    "metrics",
    "inventory",
    "constructed_inventory",
    "inventory_sources",
    "inventory_updates",
    "groups",
    "hosts",
    "host_metrics",
    "host_metric_summary_monthly",
    "job_templates",
    "jobs",
    "ad_hoc_commands",
    "system_job_templates",
    "system_jobs",
    "schedules",
    "roles",
    "notification_templates",
    "notifications",
    "labels",
    "unified_job_templates",
    "unified_jobs",
    "activity_stream",
    "workflow_job_templates",
    "workflow_jobs",
    "workflow_approvals",
    "workflow_job_template_nodes",
    "workflow_job_nodes",
    "mesh_visualizer",
    "bulk",
    "analytics",
    "service_index",
    "role_definitions",
    "role_user_assignments",
];

/// The list URL of a resource key (two keys are singular in AWX's index).
fn list_url(key: &str) -> String {
    match key {
        "inventory" => "/api/v2/inventories/".into(),
        "constructed_inventory" => "/api/v2/constructed_inventories/".into(),
        other => format!("/api/v2/{other}/"),
    }
}

/// `GET /api/v2/`, open to anyone.
pub async fn v2_index() -> HttpResponse {
    let mut index = Map::new();
    for key in RESOURCES.iter().chain(["role_team_assignments"].iter()) {
        index.insert((*key).to_string(), Value::String(list_url(key)));
    }
    HttpResponse::Ok().json(Value::Object(index))
}
