//! `{id}` in a path: an integer, or a named URL (`Web++Default`).

use crate::api::State;
use crate::api::error::ApiError;
use crate::resource::Resource;
use crate::resources;
use crate::store::resource as store;

/// The id an `{id}` path segment names, or 404.
pub async fn resolve(
    state: &State,
    resource: &'static Resource,
    raw: &str,
) -> Result<i64, ApiError> {
    if let Ok(id) = raw.parse::<i64>() {
        return Ok(id);
    }
    named(state, resource, raw, 0)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Named URLs chain through parents: `<name>++<parent's named URL>`.
fn named<'a>(
    state: &'a State,
    resource: &'static Resource,
    slug: &'a str,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<i64>, ApiError>> + 'a>> {
    Box::pin(async move {
        let Some(decl) = resource.named_url else {
            return Ok(None);
        };
        if depth > 4 {
            return Ok(None);
        }
        let Some(field) = resource.field(decl.field) else {
            return Ok(None);
        };
        let conn = state
            .db
            .get()
            .await
            .map_err(crate::store::StoreError::from)?;
        match decl.parent {
            None => {
                let own = slug.replace("[+]", "+");
                Ok(store::find_id(&*conn, resource, field, &own, None).await?)
            }
            Some(fk_name) => {
                let (own, rest) = slug.split_once("++").unwrap_or((slug, ""));
                let own = own.replace("[+]", "+");
                let Some(fk) = resource.field(fk_name) else {
                    return Ok(None);
                };
                let crate::resource::Kind::Fk(target) = fk.kind else {
                    return Ok(None);
                };
                let parent_id = if rest.is_empty() {
                    None
                } else {
                    let Some(target) = resources::by_type(target) else {
                        return Ok(None);
                    };
                    match named(state, target, rest, depth + 1).await? {
                        Some(id) => Some(id),
                        None => return Ok(None),
                    }
                };
                drop(conn);
                let conn = state
                    .db
                    .get()
                    .await
                    .map_err(crate::store::StoreError::from)?;
                Ok(store::find_id(&*conn, resource, field, &own, Some((fk, parent_id))).await?)
            }
        }
    })
}
