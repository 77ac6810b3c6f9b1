//! Sub-lists (`/api/v2/<parent>/{id}/<name>/`) and AWX's association
//! protocol: `POST {"id": N}` attaches, `{"id": N, "disassociate": true}`
//! detaches, a body without `id` creates the child there. Declared once
//! here; one set of handlers serves them all.

use crate::api::routes::Routes;
use actix_web::web::{self, Bytes, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{create_from, created, list_page, readable};
use super::resource::{body, lookup, method_not_allowed};
use crate::rbac::role_resource::ROLE;
use crate::rbac::{self, Caller};
use crate::resource::{Kind, Resource};
use crate::resources;
use crate::store::relations::{self, Holder};
use crate::store::resource as store;
use crate::store::{StoreError, activity};

/// How a sub-list's members relate to its parent (the SQL that follows
/// from it is in `store::relations`).
pub use crate::store::relations::Relation;

/// One sub-list.
#[derive(Debug, Clone, Copy)]
pub struct SubList {
    pub parent: &'static str,
    pub name: &'static str,
    pub child: &'static str,
    pub relation: Relation,
}

const fn sub(
    parent: &'static str,
    name: &'static str,
    child: &'static str,
    relation: Relation,
) -> SubList {
    SubList {
        parent,
        name,
        child,
        relation,
    }
}

/// Every sub-list; those whose resources are not declared yet are skipped.
pub const SUBLISTS: &[SubList] = &[
    sub(
        "organization",
        "users",
        "user",
        Relation::RoleHolders {
            role: "member_role",
        },
    ),
    sub(
        "organization",
        "admins",
        "user",
        Relation::RoleHolders { role: "admin_role" },
    ),
    sub(
        "organization",
        "teams",
        "team",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "projects",
        "project",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "inventories",
        "inventory",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "job_templates",
        "job_template",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "workflow_job_templates",
        "workflow_job_template",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "credentials",
        "credential",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "execution_environments",
        "execution_environment",
        Relation::Children { fk: "organization" },
    ),
    sub(
        "organization",
        "instance_groups",
        "instance_group",
        Relation::Join {
            table: "organization_instance_groups",
            parent_col: "organization_id",
            child_col: "instance_group_id",
        },
    ),
    sub(
        "organization",
        "galaxy_credentials",
        "credential",
        Relation::Join {
            table: "organization_galaxy_credentials",
            parent_col: "organization_id",
            child_col: "credential_id",
        },
    ),
    sub(
        "organization",
        "object_roles",
        "role",
        Relation::ObjectRoles,
    ),
    sub(
        "team",
        "users",
        "user",
        Relation::RoleHolders {
            role: "member_role",
        },
    ),
    sub("team", "roles", "role", Relation::TeamRoles),
    sub("team", "object_roles", "role", Relation::ObjectRoles),
    sub("user", "roles", "role", Relation::UserRoles),
    sub(
        "user",
        "teams",
        "team",
        Relation::HeldBy {
            role: "member_role",
        },
    ),
    sub(
        "user",
        "organizations",
        "organization",
        Relation::HeldBy {
            role: "member_role",
        },
    ),
    sub(
        "user",
        "admin_of_organizations",
        "organization",
        Relation::HeldBy { role: "admin_role" },
    ),
    sub("role", "users", "user", Relation::RoleUsers),
    sub("role", "teams", "team", Relation::RoleTeams),
    sub("project", "object_roles", "role", Relation::ObjectRoles),
    sub(
        "inventory",
        "hosts",
        "host",
        Relation::Children { fk: "inventory" },
    ),
    sub(
        "inventory",
        "groups",
        "group",
        Relation::Children { fk: "inventory" },
    ),
    sub(
        "inventory",
        "inventory_sources",
        "inventory_source",
        Relation::Children { fk: "inventory" },
    ),
    sub("inventory", "object_roles", "role", Relation::ObjectRoles),
    sub(
        "group",
        "hosts",
        "host",
        Relation::Join {
            table: "group_hosts",
            parent_col: "group_id",
            child_col: "host_id",
        },
    ),
    sub(
        "group",
        "children",
        "group",
        Relation::Join {
            table: "group_children",
            parent_col: "parent_id",
            child_col: "child_id",
        },
    ),
    sub(
        "host",
        "groups",
        "group",
        Relation::Join {
            table: "group_hosts",
            parent_col: "host_id",
            child_col: "group_id",
        },
    ),
    sub(
        "job_template",
        "credentials",
        "credential",
        Relation::Join {
            table: "job_template_credentials",
            parent_col: "job_template_id",
            child_col: "credential_id",
        },
    ),
    sub(
        "job_template",
        "labels",
        "label",
        Relation::Join {
            table: "job_template_labels",
            parent_col: "job_template_id",
            child_col: "label_id",
        },
    ),
    sub(
        "job_template",
        "instance_groups",
        "instance_group",
        Relation::Join {
            table: "job_template_instance_groups",
            parent_col: "job_template_id",
            child_col: "instance_group_id",
        },
    ),
    sub(
        "job_template",
        "object_roles",
        "role",
        Relation::ObjectRoles,
    ),
    sub(
        "job_template",
        "jobs",
        "job",
        Relation::Children { fk: "job_template" },
    ),
    sub(
        "job",
        "job_events",
        "job_event",
        Relation::Owned { fk: "job" },
    ),
    sub(
        "project",
        "project_updates",
        "project_update",
        Relation::Children { fk: "project" },
    ),
    sub(
        "inventory_source",
        "inventory_updates",
        "inventory_update",
        Relation::Children {
            fk: "inventory_source",
        },
    ),
    sub(
        "inventory_update",
        "events",
        "inventory_update_event",
        Relation::Owned {
            fk: "inventory_update",
        },
    ),
    sub(
        "ad_hoc_command",
        "events",
        "ad_hoc_command_event",
        Relation::Owned {
            fk: "ad_hoc_command",
        },
    ),
    sub(
        "inventory",
        "ad_hoc_commands",
        "ad_hoc_command",
        Relation::Children { fk: "inventory" },
    ),
    sub(
        "host",
        "ad_hoc_commands",
        "ad_hoc_command",
        Relation::Matching {
            condition: relations::AD_HOC_COMMANDS_OF_HOST,
        },
    ),
    sub(
        "host",
        "all_groups",
        "group",
        Relation::Matching {
            condition: crate::inventory::ALL_GROUPS_OF_HOST,
        },
    ),
    sub(
        "group",
        "all_hosts",
        "host",
        Relation::Matching {
            condition: crate::inventory::ALL_HOSTS_OF_GROUP,
        },
    ),
    sub(
        "group",
        "ad_hoc_commands",
        "ad_hoc_command",
        Relation::Matching {
            condition: relations::AD_HOC_COMMANDS_OF_GROUP,
        },
    ),
    sub(
        "inventory_source",
        "hosts",
        "host",
        Relation::Join {
            table: "host_inventory_sources",
            parent_col: "inventory_source_id",
            child_col: "host_id",
        },
    ),
    sub(
        "inventory_source",
        "groups",
        "group",
        Relation::Join {
            table: "group_inventory_sources",
            parent_col: "inventory_source_id",
            child_col: "group_id",
        },
    ),
    sub(
        "project_update",
        "events",
        "project_update_event",
        Relation::Owned {
            fk: "project_update",
        },
    ),
    sub(
        "job",
        "job_host_summaries",
        "job_host_summary",
        Relation::Owned { fk: "job" },
    ),
    sub(
        "host",
        "job_events",
        "job_event",
        Relation::Owned { fk: "host" },
    ),
    sub(
        "host",
        "job_host_summaries",
        "job_host_summary",
        Relation::Owned { fk: "host" },
    ),
    sub(
        "inventory",
        "instance_groups",
        "instance_group",
        Relation::Join {
            table: "inventory_instance_groups",
            parent_col: "inventory_id",
            child_col: "instance_group_id",
        },
    ),
    sub(
        "job",
        "credentials",
        "credential",
        Relation::Join {
            table: "job_credentials",
            parent_col: "job_id",
            child_col: "credential_id",
        },
    ),
    sub(
        "job",
        "labels",
        "label",
        Relation::Join {
            table: "job_labels",
            parent_col: "job_id",
            child_col: "label_id",
        },
    ),
    sub(
        "workflow_job_template",
        "labels",
        "label",
        Relation::Join {
            table: "workflow_job_template_labels",
            parent_col: "workflow_job_template_id",
            child_col: "label_id",
        },
    ),
    sub(
        "workflow_job_template",
        "object_roles",
        "role",
        Relation::ObjectRoles,
    ),
    sub("credential", "object_roles", "role", Relation::ObjectRoles),
    sub(
        "instance_group",
        "object_roles",
        "role",
        Relation::ObjectRoles,
    ),
    sub(
        "instance_group",
        "instances",
        "instance",
        Relation::Join {
            table: "instance_group_instances",
            parent_col: "instance_group_id",
            child_col: "instance_id",
        },
    ),
    sub(
        "instance",
        "peers",
        "instance",
        Relation::Matching {
            condition: relations::PEERS_OF_INSTANCE,
        },
    ),
];

/// `activity_stream` under every resource that links one, built once.
fn activity_sublists() -> &'static [SubList] {
    static SUBLISTS: std::sync::OnceLock<Vec<SubList>> = std::sync::OnceLock::new();
    SUBLISTS.get_or_init(|| {
        resources::ALL
            .iter()
            .filter(|r| {
                r.links
                    .iter()
                    .any(|l| matches!(l, crate::resource::Link::Sub("activity_stream")))
            })
            .map(|r| {
                sub(
                    r.type_name,
                    "activity_stream",
                    "activity_stream",
                    Relation::Activity,
                )
            })
            .collect()
    })
}

fn resolve(type_name: &str) -> Option<&'static Resource> {
    if type_name == ROLE.type_name {
        return Some(&ROLE);
    }
    resources::by_type(type_name)
}

/// Mounts every sub-list whose resources exist, and `activity_stream` under
/// every resource that links one.
pub fn mount(routes: &mut Routes) {
    for sublist in SUBLISTS.iter().chain(activity_sublists()) {
        let (Some(parent), Some(child)) = (resolve(sublist.parent), resolve(sublist.child)) else {
            continue;
        };
        let path = format!("/api/v2/{}/{{id}}/{}/", parent.path, sublist.name);
        routes.service(&path, move |r| {
            r.route(web::get().to(move |s, p, r, c| list(sublist, parent, child, s, p, r, c)))
                .route(
                    web::post()
                        .to(move |s, p, r, c, b| post(sublist, parent, child, s, p, r, c, b)),
                )
                .route(
                    web::method(actix_web::http::Method::OPTIONS)
                        .to(move |c| options(sublist, child, c)),
                )
                .default_service(web::to(method_not_allowed))
        });
    }
    routes
        .service("/api/v2/roles/", move |r| {
            r.route(web::get().to(|s, r, c| super::resource::handlers::list(&ROLE, s, r, c)))
                .default_service(web::to(method_not_allowed))
        })
        .service("/api/v2/roles/{id}/", move |r| {
            r.route(web::get().to(|s, p, c| super::resource::handlers::detail(&ROLE, s, p, c)))
                .default_service(web::to(method_not_allowed))
        });
}

#[allow(clippy::too_many_arguments)]
async fn list(
    sublist: &'static SubList,
    parent: &'static Resource,
    child: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, parent, &path).await?;
    readable(&state, &caller, parent, id).await?;
    // Members of an object's roles are visible to whoever sees the object.
    let caller_for_list = match sublist.relation {
        Relation::ObjectRoles
        | Relation::RoleUsers
        | Relation::RoleTeams
        | Relation::Activity
        | Relation::Owned { .. } => Caller {
            user: crate::store::users::User {
                is_system_auditor: true,
                ..caller.user.clone()
            },
            ..caller.clone()
        },
        _ => caller.clone(),
    };
    list_page(
        child,
        &state,
        &req,
        &caller_for_list,
        vec![relations::members(sublist.relation, parent, child, id)],
    )
    .await
}

/// `OPTIONS` on a sub-list: reads as the child's list; grants take only
/// `id` and `disassociate`, as AWX describes them.
async fn options(
    sublist: &'static SubList,
    child: &'static Resource,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let mut body = super::resource::options::list_body(child, &caller);
    let read_only = matches!(
        sublist.relation,
        Relation::HeldBy { .. }
            | Relation::ObjectRoles
            | Relation::Activity
            | Relation::Owned { .. }
            | Relation::Matching { .. }
    );
    if let Some(actions) = body.get_mut("actions").and_then(Value::as_object_mut) {
        if read_only || caller.read_only {
            actions.remove("POST");
        } else if matches!(
            sublist.relation,
            Relation::UserRoles | Relation::TeamRoles | Relation::RoleUsers | Relation::RoleTeams
        ) {
            actions.insert(
                "POST".into(),
                serde_json::json!({
                    "id": {"type": "integer", "required": true, "hidden": false, "label": "ID", "filterable": true},
                    "disassociate": {"type": "boolean", "required": false, "hidden": false, "label": "Disassociate", "filterable": false},
                }),
            );
        }
    }
    let allow = if read_only {
        "GET, HEAD, OPTIONS"
    } else {
        "GET, POST, HEAD, OPTIONS"
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Allow", allow))
        .json(body))
}

/// The role `id` with its object, or 404.
async fn role_target(
    state: &State,
    id: i64,
) -> Result<(Option<String>, Option<i64>, String), ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    relations::role_target(&*conn, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Whether the caller may grant or revoke role `id`: they must administer
/// the role's object (system roles: superusers only).
async fn may_grant(state: &State, caller: &Caller, role_id: i64) -> Result<bool, ApiError> {
    if caller.is_superuser() {
        return Ok(true);
    }
    if caller.read_only {
        return Ok(false);
    }
    let (content_type, object_id, _) = role_target(state, role_id).await?;
    let (Some(content_type), Some(object_id)) = (content_type, object_id) else {
        return Ok(false);
    };
    let conn = state.db.get().await.map_err(StoreError::from)?;
    Ok(rbac::holds_role(&*conn, caller, &content_type, object_id, "admin_role").await?)
}

async fn parent_role_id(
    state: &State,
    parent: &Resource,
    id: i64,
    role: &str,
) -> Result<i64, ApiError> {
    let conn = state.db.get().await.map_err(StoreError::from)?;
    relations::role_id(&*conn, parent.type_name, id, role)
        .await?
        .ok_or(ApiError::NotFound)
}

fn child_id(body: &Map<String, Value>) -> Result<Option<i64>, ApiError> {
    match body.get("id") {
        None => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(Value::String(s)) if s.parse::<i64>().is_ok() => Ok(s.parse().ok()),
        Some(_) => Err(ApiError::BadRequest(
            "\"id\" field must be an integer.".into(),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
async fn post(
    sublist: &'static SubList,
    parent: &'static Resource,
    child: &'static Resource,
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
    bytes: Bytes,
) -> Result<HttpResponse, ApiError> {
    let parent_id = lookup::resolve(&state, parent, &path).await?;
    let parent_row = readable(&state, &caller, parent, parent_id).await?;
    let body = body::object(&req, &bytes)?;
    let detach = body.contains_key("disassociate");
    let Some(id) = child_id(&body)? else {
        return create_here(
            sublist,
            parent,
            child,
            &state,
            &caller,
            parent_id,
            &parent_row,
            &body,
        )
        .await;
    };
    // Granting a role: the role is the parent or the child.
    let (role_id, member_id) = match sublist.relation {
        Relation::UserRoles | Relation::TeamRoles => (id, parent_id),
        Relation::RoleUsers | Relation::RoleTeams => (parent_id, id),
        Relation::RoleHolders { role } => {
            (parent_role_id(&state, parent, parent_id, role).await?, id)
        }
        _ => (0, 0),
    };
    let holder = match sublist.relation {
        Relation::UserRoles
        | Relation::RoleUsers
        | Relation::RoleHolders { .. }
        | Relation::TeamRoles
        | Relation::RoleTeams => {
            // Users and teams hold roles through their own tables.
            let (member, holder) = match sublist.relation {
                Relation::UserRoles => (parent, Holder::User),
                Relation::TeamRoles => (parent, Holder::Team),
                Relation::RoleTeams => (child, Holder::Team),
                _ => (child, Holder::User),
            };
            readable(&state, &caller, member, member_id).await?;
            role_target(&state, role_id).await?;
            if !may_grant(&state, &caller, role_id).await? {
                return Err(ApiError::PermissionDenied);
            }
            holder
        }
        Relation::Join {
            table,
            parent_col,
            child_col,
        } => {
            return join(
                sublist,
                parent,
                child,
                &state,
                &caller,
                &parent_row,
                id,
                detach,
                (table, parent_col, child_col),
            )
            .await;
        }
        Relation::Children { .. } => {
            if !detach {
                return Err(ApiError::BadRequest(format!(
                    "A {} is created here, not attached: send its fields instead of an id.",
                    child.display
                )));
            }
            return detach_child(sublist, parent, child, &state, &caller, parent_id, id).await;
        }
        Relation::HeldBy { .. }
        | Relation::ObjectRoles
        | Relation::Activity
        | Relation::Owned { .. }
        | Relation::Matching { .. } => {
            return Err(ApiError::MethodNotAllowed("POST".into()));
        }
    };
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    if detach {
        relations::revoke(&tx, holder, role_id, member_id).await?;
    } else {
        relations::grant(&tx, holder, role_id, member_id).await?;
    }
    let member_type = match holder {
        Holder::Team => "team",
        Holder::User => "user",
    };
    record(
        &tx,
        &state,
        &caller,
        detach,
        member_type,
        member_id,
        "role",
        role_id,
        sublist,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

#[allow(clippy::too_many_arguments)]
async fn record(
    client: &impl crate::store::pool::Queryable,
    state: &State,
    caller: &Caller,
    detach: bool,
    type1: &str,
    id1: i64,
    type2: &str,
    id2: i64,
    sublist: &SubList,
) -> Result<(), ApiError> {
    activity::record(
        client,
        activity::Entry {
            actor: Some(caller.user.id),
            operation: if detach { "disassociate" } else { "associate" },
            object1: type1,
            object2: type2,
            relationship: &format!("{}.{}", sublist.parent, sublist.name),
            changes: Value::Object(Map::new()),
            node: &state.node.name,
            objects: vec![(type1.to_string(), id1), (type2.to_string(), id2)],
        },
    )
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn join(
    sublist: &SubList,
    parent: &'static Resource,
    child: &'static Resource,
    state: &State,
    caller: &Caller,
    parent_row: &Map<String, Value>,
    id: i64,
    detach: bool,
    join_table: (&str, &str, &str),
) -> Result<HttpResponse, ApiError> {
    let parent_id = parent_row
        .get("id")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let allowed =
        rbac::can_change_each(&*conn, caller, parent, std::slice::from_ref(parent_row)).await?;
    drop(conn);
    if !allowed.first().copied().unwrap_or(false) {
        return Err(ApiError::PermissionDenied);
    }
    let child_row = readable(state, caller, child, id).await?;
    if !detach {
        check_join(sublist, parent_row, &child_row, state, parent_id, id).await?;
    }
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    if detach {
        relations::unlink(&tx, join_table, parent_id, id).await?;
    } else {
        relations::link(&tx, join_table, parent_id, id).await?;
    }
    record(
        &tx,
        state,
        caller,
        detach,
        parent.type_name,
        parent_id,
        child.type_name,
        id,
        sublist,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// What a join must respect beyond permissions: groups stay in their
/// inventory and acyclic.
async fn check_join(
    sublist: &SubList,
    parent_row: &Map<String, Value>,
    child_row: &Map<String, Value>,
    state: &State,
    parent_id: i64,
    child_id: i64,
) -> Result<(), ApiError> {
    let same_inventory = parent_row
        .get("inventory")
        .zip(child_row.get("inventory"))
        .is_none_or(|(a, b)| a == b);
    if !same_inventory {
        return Err(ApiError::BadRequest(format!(
            "The {} must be in the same inventory.",
            sublist.child
        )));
    }
    if sublist.parent == "job_template" && sublist.name == "credentials" {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        // One credential per type (vaults: per vault id), as AWX allows.
        let clash = relations::credential_clash(&*conn, parent_id, child_id).await?;
        if let Some(kind) = clash {
            return Err(ApiError::BadRequest(format!(
                "Cannot assign multiple {kind} credentials."
            )));
        }
    }
    if sublist.parent == "group" && sublist.name == "children" {
        if parent_id == child_id {
            return Err(ApiError::BadRequest(
                "A group cannot be its own child.".into(),
            ));
        }
        let conn = state.db.get().await.map_err(StoreError::from)?;
        // Adding the edge closes a cycle if the parent is already below the child.
        let below = relations::group_is_below(&*conn, parent_id, child_id).await?;
        if below {
            return Err(ApiError::BadRequest("Cyclical Group association.".into()));
        }
    }
    Ok(())
}

async fn detach_child(
    sublist: &SubList,
    parent: &'static Resource,
    child: &'static Resource,
    state: &State,
    caller: &Caller,
    parent_id: i64,
    id: i64,
) -> Result<HttpResponse, ApiError> {
    let row = readable(state, caller, child, id).await?;
    let Relation::Children { fk } = sublist.relation else {
        return Err(ApiError::NotFound);
    };
    if row.get(fk).and_then(Value::as_i64) != Some(parent_id) {
        return Err(ApiError::NotFound);
    }
    let mut conn = state.db.get().await.map_err(StoreError::from)?;
    let allowed = rbac::can_change_each(&*conn, caller, child, std::slice::from_ref(&row)).await?;
    if !allowed.first().copied().unwrap_or(false) {
        return Err(ApiError::PermissionDenied);
    }
    let tx = conn.transaction().await.map_err(StoreError::from)?;
    store::delete(&tx, child, id).await?;
    record(
        &tx,
        state,
        caller,
        true,
        parent.type_name,
        parent_id,
        child.type_name,
        id,
        sublist,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A body without `id`: create the child under the parent, then attach it.
#[allow(clippy::too_many_arguments)]
async fn create_here(
    sublist: &SubList,
    parent: &'static Resource,
    child: &'static Resource,
    state: &State,
    caller: &Caller,
    parent_id: i64,
    parent_row: &Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.clone();
    match sublist.relation {
        Relation::Children { fk } => {
            body.insert(fk.to_string(), Value::from(parent_id));
        }
        Relation::Join { .. } => {
            // A host created in a group lives in the group's inventory.
            for field in child.fields {
                if matches!(field.kind, Kind::Fk(_))
                    && !body.contains_key(field.name)
                    && let Some(value) = parent_row.get(field.name).filter(|v| !v.is_null())
                {
                    body.insert(field.name.to_string(), value.clone());
                }
            }
        }
        Relation::RoleHolders { role } => {
            // Creating a member is granting a role: the same permission.
            let role_id = parent_role_id(state, parent, parent_id, role).await?;
            if !may_grant(state, caller, role_id).await? {
                return Err(ApiError::PermissionDenied);
            }
        }
        _ => return Err(ApiError::BadRequest("\"id\" is required.".into())),
    }
    let id = create_from(child, state, caller, &body, Vec::new()).await?;
    match sublist.relation {
        Relation::Join {
            table,
            parent_col,
            child_col,
        } => {
            let conn = state.db.get().await.map_err(StoreError::from)?;
            relations::link(&*conn, (table, parent_col, child_col), parent_id, id).await?;
        }
        Relation::RoleHolders { role } => {
            let role_id = parent_role_id(state, parent, parent_id, role).await?;
            let conn = state.db.get().await.map_err(StoreError::from)?;
            relations::grant(&*conn, Holder::User, role_id, id).await?;
        }
        _ => {}
    }
    created(child, state, caller, id).await
}
