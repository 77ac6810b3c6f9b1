//! Who may do what: AWX's object roles, their inheritance, and the checks
//! every handler goes through. The checks live here and nowhere else.

pub mod role_resource;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::store::pool::Queryable;
use serde_json::{Map, Value};

use crate::resource::{Change, Create, Read, Resource, RoleRef};
use crate::store::resource::Condition;
use crate::store::users::User;
use crate::store::{Db, StoreError};

/// The caller of a request with the roles they hold, directly, through
/// teams, and implied by role inheritance.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// Every role id the caller holds (empty for superusers, who need none).
    pub held: Arc<HashSet<i64>>,
    /// A token with `read` scope may not write.
    pub read_only: bool,
}

impl Caller {
    /// Superusers may do everything.
    pub fn is_superuser(&self) -> bool {
        self.user.is_superuser
    }

    /// Superusers and system auditors see everything.
    pub fn sees_all(&self) -> bool {
        self.user.is_superuser || self.user.is_system_auditor
    }

    /// Whether the caller holds role `id`.
    pub fn holds(&self, id: i64) -> bool {
        self.user.is_superuser || self.held.contains(&id)
    }
}

/// Every role the user holds: granted ones, those of teams whose member
/// role they hold, and every role those imply.
pub async fn held_roles(db: &Db, user_id: i64) -> Result<HashSet<i64>, StoreError> {
    let conn = db.get().await?;
    let statement = conn
        .prepared(
            "WITH RECURSIVE edges(parent, child) AS (
                 SELECT parent_id, role_id FROM role_parents
                 UNION ALL
                 SELECT m.id, rt.role_id
                   FROM role_teams rt
                   JOIN roles m ON m.content_type = 'team' AND m.object_id = rt.team_id
                               AND m.role_field = 'member_role'
             ), held(id) AS (
                 SELECT role_id FROM role_users WHERE user_id = $1
                 UNION
                 SELECT e.child FROM edges e JOIN held h ON e.parent = h.id
             )
             SELECT id FROM held",
        )
        .await?;
    let rows = conn.query(&statement, &[&user_id]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The condition that limits a list to what the caller may read; `None`
/// when nothing is hidden from them.
pub fn read_condition(caller: &Caller, resource: &Resource) -> Option<Condition> {
    if caller.sees_all() {
        return None;
    }
    let held: Vec<i64> = caller.held.iter().copied().collect();
    let id_col = crate::store::resource::column(resource, &crate::resource::field::ID, "{o}");
    match resource.access.read {
        Read::Anyone => None,
        Read::SystemOnly => Some(Condition::new("FALSE", Vec::new())),
        Read::OwnRole(role) => Some(Condition::new(
            format!(
                "{id_col} IN (SELECT r.object_id FROM roles r WHERE r.content_type = '{}' \
                 AND r.role_field = '{role}' AND r.id = ANY(?))",
                resource.type_name
            ),
            vec![Box::new(held)],
        )),
        Read::ViaFk(field_name, role) => {
            let Some(field) = resource.field(field_name) else {
                return Some(Condition::new("FALSE", Vec::new()));
            };
            let crate::resource::Kind::Fk(target) = field.kind else {
                return Some(Condition::new("FALSE", Vec::new()));
            };
            let col = crate::store::resource::column(resource, field, "{o}");
            Some(Condition::new(
                format!(
                    "{col} IN (SELECT r.object_id FROM roles r WHERE r.content_type = '{target}' \
                     AND r.role_field = '{role}' AND r.id = ANY(?))"
                ),
                vec![Box::new(held)],
            ))
        }
        Read::Custom => Some(custom_read(caller, resource, held)),
    }
}

/// Resources whose visibility is not one role: users see themselves and the
/// users of organizations they belong to; tokens are their owner's.
fn custom_read(caller: &Caller, resource: &Resource, held: Vec<i64>) -> Condition {
    match resource.type_name {
        // ORG_ADMINS_CAN_SEE_ALL_USERS, on by default in AWX: an
        // organization admin sees every user, so they can add them.
        "user" => Condition::new(
            "{o}.id = ? OR EXISTS (SELECT 1 FROM roles a WHERE a.content_type = 'organization'
                                    AND a.role_field = 'admin_role' AND a.id = ANY(?))
             OR {o}.id IN (
                 SELECT ru.user_id FROM role_users ru JOIN roles r ON r.id = ru.role_id
                  WHERE r.content_type = 'organization'
                    AND r.role_field IN ('member_role', 'admin_role', 'auditor_role')
                    AND r.object_id IN (SELECT o2.object_id FROM roles o2
                                         WHERE o2.content_type = 'organization'
                                           AND o2.role_field = 'read_role' AND o2.id = ANY(?)))",
            vec![
                Box::new(caller.user.id),
                Box::new(held.clone()),
                Box::new(held),
            ],
        ),
        "o_auth2_access_token" => Condition::new("{o}.user_id = ?", vec![Box::new(caller.user.id)]),
        "role" => Condition::new("{o}.id = ANY(?)", vec![Box::new(held)]),
        "activity_stream" => Condition::new("{o}.actor_id = ?", vec![Box::new(caller.user.id)]),
        _ => Condition::new("FALSE", Vec::new()),
    }
}

/// Roles of objects: `{object id: {role field: role id}}`.
pub async fn roles_of(
    client: &impl Queryable,
    content_type: &str,
    ids: &[i64],
) -> Result<HashMap<i64, HashMap<String, i64>>, StoreError> {
    let mut out: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = client
        .fetch(
            "SELECT object_id, role_field, id FROM roles WHERE content_type = $1 AND object_id = ANY($2)",
            &[&content_type, &ids],
        )
        .await?;
    for row in rows {
        out.entry(row.get(0))
            .or_default()
            .insert(row.get(1), row.get(2));
    }
    Ok(out)
}

/// Whether the caller holds `role` of the `content_type` object `id`.
pub async fn holds_role(
    client: &impl Queryable,
    caller: &Caller,
    content_type: &str,
    id: i64,
    role: &str,
) -> Result<bool, StoreError> {
    if caller.is_superuser() {
        return Ok(true);
    }
    let row = client
        .fetch_opt(
            "SELECT id FROM roles WHERE content_type = $1 AND object_id = $2 AND role_field = $3",
            &[&content_type, &id, &role],
        )
        .await?;
    Ok(row.is_some_and(|row| caller.holds(row.get(0))))
}

fn fk_id(object: &Map<String, Value>, field: &str) -> Option<i64> {
    object.get(field).and_then(Value::as_i64)
}

fn fk_target(resource: &Resource, field: &str) -> Option<&'static str> {
    match resource.field(field)?.kind {
        crate::resource::Kind::Fk(target) => Some(target),
        _ => None,
    }
}

/// Whether the caller may change or delete each of `objects`.
pub async fn can_change_each(
    client: &impl Queryable,
    caller: &Caller,
    resource: &Resource,
    objects: &[Map<String, Value>],
) -> Result<Vec<bool>, StoreError> {
    if caller.is_superuser() {
        return Ok(vec![true; objects.len()]);
    }
    if caller.read_only {
        return Ok(vec![false; objects.len()]);
    }
    let (content_type, role, key): (&str, &str, Option<&str>) = match resource.access.change {
        Change::OwnRole(role) => (resource.type_name, role, None),
        Change::ViaFk(field, role) => match fk_target(resource, field) {
            Some(target) => (target, role, Some(field)),
            None => return Ok(vec![false; objects.len()]),
        },
        Change::SuperuserOnly => return Ok(vec![false; objects.len()]),
        Change::Custom => {
            return Ok(objects
                .iter()
                .map(|o| custom_change(caller, resource, o))
                .collect());
        }
    };
    let ids: Vec<i64> = objects
        .iter()
        .filter_map(|o| fk_id(o, key.unwrap_or("id")))
        .collect();
    let roles = roles_of(client, content_type, &ids).await?;
    Ok(objects
        .iter()
        .map(|o| {
            fk_id(o, key.unwrap_or("id"))
                .and_then(|id| roles.get(&id))
                .and_then(|r| r.get(role))
                .is_some_and(|id| caller.holds(*id))
        })
        .collect())
}

fn custom_change(caller: &Caller, resource: &Resource, object: &Map<String, Value>) -> bool {
    match resource.type_name {
        // Users change themselves; organization admins are checked by the
        // user resource's own code when it matters.
        "user" => fk_id(object, "id") == Some(caller.user.id),
        "o_auth2_access_token" => fk_id(object, "user") == Some(caller.user.id),
        _ => false,
    }
}

/// Tokens are created by their owner for themselves; a credential by its
/// organization's credential admins, or for oneself, or by a team's admins.
async fn custom_create(
    client: &impl Queryable,
    caller: &Caller,
    resource: &Resource,
    values: &Map<String, Value>,
) -> Result<bool, StoreError> {
    match resource.type_name {
        "o_auth2_access_token" => Ok(fk_id(values, "user") == Some(caller.user.id)),
        "user" => {
            let row = client
                .fetch_opt(
                    "SELECT 1 FROM roles WHERE content_type = 'organization' AND role_field = 'admin_role' AND id = ANY($1)",
                    &[&caller.held.iter().copied().collect::<Vec<i64>>()],
                )
                .await?;
            Ok(row.is_some())
        }
        "credential" => {
            if let Some(org) = fk_id(values, "organization") {
                holds_role(client, caller, "organization", org, "credential_admin_role").await
            } else if let Some(user) = fk_id(values, "user") {
                Ok(user == caller.user.id)
            } else if let Some(team) = fk_id(values, "team") {
                holds_role(client, caller, "team", team, "admin_role").await
            } else {
                Ok(false)
            }
        }
        _ => Ok(false),
    }
}

/// Whether the caller may create an object with these values.
pub async fn can_create(
    client: &impl Queryable,
    caller: &Caller,
    resource: &Resource,
    values: &Map<String, Value>,
) -> Result<bool, StoreError> {
    if caller.is_superuser() {
        return Ok(true);
    }
    if caller.read_only {
        return Ok(false);
    }
    match resource.access.create {
        Create::SuperuserOnly | Create::Never => Ok(false),
        Create::Custom => custom_create(client, caller, resource, values).await,
        Create::FkRole(field, role) => {
            let (Some(target), Some(id)) = (fk_target(resource, field), fk_id(values, field))
            else {
                return Ok(false);
            };
            holds_role(client, caller, target, id, role).await
        }
    }
}

/// Whether the caller may copy each of `objects`, AWX's `copy`
/// capability: whether they could create an object with its values (the
/// resource's create rule) and hold the roles a copy declares it uses (a
/// template's inventory). One roles read per rule, not per object; the
/// copy endpoint itself also checks what a copy's parts link to.
pub async fn can_copy_each(
    client: &impl Queryable,
    caller: &Caller,
    resource: &Resource,
    objects: &[Map<String, Value>],
) -> Result<Vec<bool>, StoreError> {
    let Some(copying) = &resource.copy else {
        return Ok(vec![false; objects.len()]);
    };
    // A read-only token copies nothing, whoever holds it.
    if caller.read_only || caller.is_superuser() {
        return Ok(vec![!caller.read_only; objects.len()]);
    }
    // (field, role, whether the field may be empty): what a copy uses may
    // be unset; what the create rule names may not.
    let mut needs: Vec<(&str, &str, bool)> = copying
        .uses
        .iter()
        .map(|(field, role)| (*field, *role, true))
        .collect();
    match resource.access.create {
        Create::FkRole(field, role) => needs.push((field, role, false)),
        Create::Custom => {}
        Create::SuperuserOnly | Create::Never => return Ok(vec![false; objects.len()]),
    }
    let held = futures_util::future::try_join_all(needs.iter().map(|(field, _, _)| async {
        let Some(target) = fk_target(resource, field) else {
            return Ok(HashMap::new());
        };
        let ids: Vec<i64> = objects.iter().filter_map(|o| fk_id(o, field)).collect();
        roles_of(client, target, &ids).await
    }))
    .await?;
    let by_roles = objects.iter().map(|object| {
        needs.iter().zip(&held).all(
            |((field, role, optional), roles)| match fk_id(object, field) {
                None => *optional,
                Some(id) => roles
                    .get(&id)
                    .and_then(|r| r.get(*role))
                    .is_some_and(|id| caller.holds(*id)),
            },
        )
    });
    if !matches!(resource.access.create, Create::Custom) {
        return Ok(by_roles.collect());
    }
    // A custom rule asks per object: the questions travel pipelined.
    futures_util::future::try_join_all(objects.iter().zip(by_roles).map(
        |(object, may)| async move {
            if may {
                custom_create(client, caller, resource, object).await
            } else {
                Ok(false)
            }
        },
    ))
    .await
}

/// Creates the roles of a new object and links them to the roles that
/// imply them.
pub async fn create_object_roles(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    if resource.roles.is_empty() {
        return Ok(());
    }
    let mut own: HashMap<&str, i64> = HashMap::new();
    for role in resource.roles {
        let row = client
            .fetch_one(
                "INSERT INTO roles (content_type, object_id, role_field) VALUES ($1, $2, $3) RETURNING id",
                &[&resource.type_name, &id, &role.field],
            )
            .await?;
        own.insert(role.field, row.get(0));
    }
    link_parents(client, resource, &own, values).await
}

/// Re-links an object's roles after a foreign key they inherit through changed.
pub async fn relink_object_roles(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    if resource.roles.is_empty() {
        return Ok(());
    }
    let own: HashMap<String, i64> = roles_of(client, resource.type_name, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let own_ids: Vec<i64> = own.values().copied().collect();
    client
        .run(
            "DELETE FROM role_parents WHERE role_id = ANY($1)",
            &[&own_ids],
        )
        .await?;
    let own: HashMap<&str, i64> = resource
        .roles
        .iter()
        .filter_map(|r| own.get(r.field).map(|id| (r.field, *id)))
        .collect();
    link_parents(client, resource, &own, values).await
}

async fn link_parents(
    client: &impl Queryable,
    resource: &Resource,
    own: &HashMap<&str, i64>,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    for role in resource.roles {
        let Some(child) = own.get(role.field) else {
            continue;
        };
        for parent in role.parents {
            let parent_id = match parent {
                RoleRef::Own(field) => own.get(field).copied(),
                RoleRef::Fk(fk, field) => match (fk_target(resource, fk), fk_id(values, fk)) {
                    (Some(target), Some(object)) => client
                        .fetch_opt(
                            "SELECT id FROM roles WHERE content_type = $1 AND object_id = $2 AND role_field = $3",
                            &[&target, &object, field],
                        )
                        .await?
                        .map(|row| row.get(0)),
                    _ => None,
                },
            };
            if let Some(parent_id) = parent_id {
                client
                    .run(
                        "INSERT INTO role_parents (role_id, parent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[child, &parent_id],
                    )
                    .await?;
            }
        }
    }
    Ok(())
}
