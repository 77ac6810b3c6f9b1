//! The generic resource endpoints: one list, detail, create, update,
//! delete and OPTIONS for every declared resource, and `copy/` for those
//! that declare it.

pub mod body;
pub mod copy;
pub mod credentials;
pub mod handlers;
pub mod hooks;
pub mod lookup;
pub mod options;
pub mod rules;
pub mod serialize;

use crate::api::routes::Routes;
use actix_web::{HttpRequest, HttpResponse, web};

use super::error::ApiError;
use crate::resource::Resource;

/// Mounts `/api/v2/<path>/`, `/api/v2/<path>/{id}/` and, if declared,
/// `/api/v2/<path>/{id}/copy/` for `resource`.
pub fn mount(routes: &mut Routes, resource: &'static Resource) {
    let list = format!("/api/v2/{}/", resource.path);
    let detail = format!("/api/v2/{}/{{id}}/", resource.path);
    routes
        .service(&list, move |r| {
            r.route(web::get().to(move |s, r, c| handlers::list(resource, s, r, c)))
                .route(web::post().to(move |s, r, c, b| handlers::create(resource, s, r, c, b)))
                .route(
                    web::method(actix_web::http::Method::OPTIONS)
                        .to(move |s, c| options::list(resource, s, c)),
                )
                .default_service(web::to(method_not_allowed))
        })
        .service(&detail, move |r| {
            r.route(web::get().to(move |s, p, c| handlers::detail(resource, s, p, c)))
                .route(
                    web::put().to(move |s, p, r, c, b| handlers::replace(resource, s, p, r, c, b)),
                )
                .route(
                    web::patch().to(move |s, p, r, c, b| handlers::patch(resource, s, p, r, c, b)),
                )
                .route(web::delete().to(move |s, p, c| handlers::delete(resource, s, p, c)))
                .route(
                    web::method(actix_web::http::Method::OPTIONS)
                        .to(move |s, c| options::detail(resource, s, c)),
                )
                .default_service(web::to(method_not_allowed))
        });
    if resource.copy.is_some() {
        routes.service(
            &format!("/api/v2/{}/{{id}}/copy/", resource.path),
            move |r| {
                r.route(web::get().to(move |s, p, c| copy::describe(resource, s, p, c)))
                    .route(web::post().to(move |s, p, r, c, b| copy::copy(resource, s, p, r, c, b)))
                    .default_service(web::to(method_not_allowed))
            },
        );
    }
}

/// 405 in AWX's words.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(req.method().to_string()))
}
