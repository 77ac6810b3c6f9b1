//! `GET /api/v2/me/`: a one-item page holding the caller.

use actix_web::HttpResponse;
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::time::{iso, iso_opt};
use crate::store::users::User;

/// A user as AWX serializes one; the password always reads `$encrypted$`.
pub fn user_json(user: &User) -> Value {
    let url = format!("/api/v2/users/{}/", user.id);
    json!({
        "id": user.id,
        "type": "user",
        "url": url,
        "related": {
            "named_url": format!("/api/v2/users/{}/", user.username),
            "teams": format!("{url}teams/"),
            "organizations": format!("{url}organizations/"),
            "admin_of_organizations": format!("{url}admin_of_organizations/"),
            "projects": format!("{url}projects/"),
            "credentials": format!("{url}credentials/"),
            "roles": format!("{url}roles/"),
            "activity_stream": format!("{url}activity_stream/"),
            "access_list": format!("{url}access_list/"),
            "tokens": format!("{url}tokens/"),
            "authorized_tokens": format!("{url}authorized_tokens/"),
            "personal_tokens": format!("{url}personal_tokens/"),
        },
        "summary_fields": {
            "user_capabilities": { "edit": true, "delete": false },
        },
        "created": iso(&user.created),
        "modified": iso(&user.modified),
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_superuser": user.is_superuser,
        "is_system_auditor": user.is_system_auditor,
        "password": "$encrypted$",
        "ldap_dn": "",
        "last_login": iso_opt(&user.last_login),
        "external_account": Value::Null,
    })
}

/// The caller, paginated as AWX does it.
pub async fn me(Authenticated(user): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "count": 1,
        "next": Value::Null,
        "previous": Value::Null,
        "results": [user_json(&user)],
    }))
}
