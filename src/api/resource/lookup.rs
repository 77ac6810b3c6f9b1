//! `{id}` in a path: an integer, or a named URL (`Web++Default`).

use serde_json::{Map, Value};

use crate::api::State;
use crate::api::error::ApiError;
use crate::resource::Resource;
use crate::resources;
use crate::store::pool::Queryable;
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
    match resource.type_name {
        "credential_type" | "credential" => credential_named(state, resource.type_name, raw).await,
        _ => named(state, resource, raw, 0)
            .await?
            .ok_or(ApiError::NotFound),
    }
}

/// `<name>+<kind>` for credential types; `<name>++<type name>+<type
/// kind>++<organization>` for credentials (an empty organization: none).
async fn credential_named(state: &State, type_name: &str, slug: &str) -> Result<i64, ApiError> {
    let unescape = |s: &str| s.replace("[+]", "+");
    let split_type = |part: &str| -> Option<(String, String)> {
        let (name, kind) = part.rsplit_once('+')?;
        Some((unescape(name), kind.to_string()))
    };
    let conn = state
        .db
        .get()
        .await
        .map_err(crate::store::StoreError::from)?;
    let row = if type_name == "credential_type" {
        let (name, kind) = split_type(slug).ok_or(ApiError::NotFound)?;
        conn.query_opt(
            "SELECT id FROM credential_types WHERE name = $1 AND kind = $2",
            &[&name, &kind],
        )
        .await
    } else {
        let mut parts = slug.splitn(3, "++");
        let name = unescape(parts.next().unwrap_or_default());
        let (type_name, kind) =
            split_type(parts.next().unwrap_or_default()).ok_or(ApiError::NotFound)?;
        let organization = unescape(parts.next().unwrap_or_default());
        conn.query_opt(
            "SELECT c.id FROM credentials c
               JOIN credential_types t ON t.id = c.credential_type_id
               LEFT JOIN organizations o ON o.id = c.organization_id
              WHERE c.name = $1 AND t.name = $2 AND t.kind = $3
                AND coalesce(o.name, '') = $4",
            &[&name, &type_name, &kind, &organization],
        )
        .await
    };
    let row = row.map_err(crate::store::StoreError::from)?;
    row.map(|row| row.get(0)).ok_or(ApiError::NotFound)
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

/// Escapes `+` in a named-URL part, as AWX writes it (`[+]`).
fn escape(part: &str) -> String {
    part.replace('+', "[+]")
}

/// The named-URL slug of object `id` (`web1++prod++Eng`), if its resource has one.
pub async fn slug(
    state: &State,
    resource: &'static Resource,
    id: i64,
) -> Result<Option<String>, ApiError> {
    let conn = state
        .db
        .get()
        .await
        .map_err(crate::store::StoreError::from)?;
    match resource.type_name {
        "credential_type" => {
            let row = conn
                .query_opt(
                    "SELECT name, kind FROM credential_types WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(crate::store::StoreError::from)?;
            return Ok(row.map(|r| format!("{}+{}", escape(r.get(0)), r.get::<_, String>(1))));
        }
        "credential" => {
            let row = conn
                .query_opt(
                    "SELECT c.name, t.name, t.kind, coalesce(o.name, '') FROM credentials c
                       JOIN credential_types t ON t.id = c.credential_type_id
                       LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.id = $1",
                    &[&id],
                )
                .await
                .map_err(crate::store::StoreError::from)?;
            return Ok(row.map(|r| {
                format!(
                    "{}++{}+{}++{}",
                    escape(r.get(0)),
                    escape(r.get(1)),
                    r.get::<_, String>(2),
                    escape(r.get(3))
                )
            }));
        }
        _ => {}
    }
    let Some(levels) = name_levels(resource) else {
        return Ok(None);
    };
    Ok(store::name_chain(&*conn, &levels, id)
        .await?
        .map(|names| join_names(&names)))
}

/// The levels of `resource`'s named URL, each joined to its parent in one
/// statement: its own name up to the last declared parent's.
fn name_levels(resource: &'static Resource) -> Option<Vec<store::NameLevel<'static>>> {
    let mut levels = Vec::new();
    let mut current = resource;
    for _ in 0..4 {
        let decl = current.named_url?;
        let field = current.field(decl.field)?;
        let fk_field = decl.parent.and_then(|fk| current.field(fk));
        levels.push(store::NameLevel {
            resource: current,
            name: field,
            parent: fk_field,
        });
        let Some(fk) = decl.parent else {
            break;
        };
        current = current.field(fk).and_then(|f| match f.kind {
            crate::resource::Kind::Fk(target) => resources::by_type(target),
            _ => None,
        })?;
    }
    Some(levels)
}

/// A named URL from its names; a missing parent leaves an empty part, as
/// AWX writes it (`Foo++`).
fn join_names(names: &[Option<String>]) -> String {
    let parts: Vec<String> = names
        .iter()
        .map(|name| name.as_deref().map(escape).unwrap_or_default())
        .collect();
    parts.join("++")
}

/// The names above a new object in its named URL, read while the object
/// is being written: `None` inside when its resource has no named URL.
pub struct ParentNames(Option<Vec<Option<String>>>);

impl ParentNames {
    /// The new object's named URL, from the row its write returned.
    pub fn slug(self, resource: &'static Resource, row: &Map<String, Value>) -> Option<String> {
        let parents = self.0?;
        let own = resource
            .named_url
            .and_then(|decl| row.get(decl.field))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default();
        let mut names = vec![Some(own)];
        names.extend(parents);
        Some(join_names(&names))
    }
}

/// The parents' names for a new object of `resource` with `values`, or
/// `None` when they are read with the object once written (`slug`): for
/// credentials and their types, or a parent gone meanwhile.
pub async fn parent_names(
    client: &impl Queryable,
    resource: &'static Resource,
    values: &Map<String, Value>,
) -> Result<Option<ParentNames>, ApiError> {
    if matches!(resource.type_name, "credential_type" | "credential") {
        return Ok(None);
    }
    let Some(levels) = name_levels(resource) else {
        return Ok(Some(ParentNames(None)));
    };
    let Some(fk) = levels.first().and_then(|level| level.parent) else {
        return Ok(Some(ParentNames(Some(Vec::new()))));
    };
    let Some(parent) = values.get(fk.name).and_then(Value::as_i64) else {
        return Ok(Some(ParentNames(Some(vec![None]))));
    };
    let above = store::name_chain(client, &levels[1..], parent).await?;
    Ok(above.map(|names| ParentNames(Some(names))))
}
