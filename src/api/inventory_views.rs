//! Inventory endpoints beyond the declarations: a smart inventory's
//! `hosts/`, `script/`, `tree/`, and AWX's `/dashboard/` with its jobs
//! graph (a host's `all_groups/` and a group's `all_hosts/` are sub-lists in
//! `relations.rs`).

use crate::api::routes::Routes;
use std::collections::{HashMap, HashSet};

use actix_web::web::{self, Path};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value, json};

use super::State;
use super::auth::Authenticated;
use super::error::ApiError;
use super::resource::handlers::{list_page, query_pairs, readable};
use super::resource::{lookup, method_not_allowed, serialize};
use crate::inventory::script::{self, Options};
use crate::inventory::{self, InventoryError, host_filter};
use crate::rbac::{self, Caller};
use crate::resource::Resource;
use crate::resource::filter::Query;
use crate::resources::credentials::CREDENTIAL;
use crate::resources::groups::GROUP;
use crate::resources::hosts::HOST;
use crate::resources::inventories::INVENTORY;
use crate::resources::inventory_sources::INVENTORY_SOURCE;
use crate::resources::inventory_updates::INVENTORY_UPDATE;
use crate::resources::job_templates::JOB_TEMPLATE;
use crate::resources::jobs::JOB;
use crate::resources::organizations::ORGANIZATION;
use crate::resources::project_updates::PROJECT_UPDATE;
use crate::resources::projects::PROJECT;
use crate::resources::teams::TEAM;
use crate::resources::users::USER;
use crate::store::StoreError;
use crate::store::resource::{self as store, Condition, Param};

/// Mounts the endpoints; before the generic sub-lists, so a smart
/// inventory's `GET hosts/` is answered here (other methods fall through).
pub fn mount(routes: &mut Routes) {
    routes
        .route(
            "/api/v2/inventories/{id}/hosts/",
            web::get().to(inventory_hosts),
        )
        .route("/api/v2/hosts/", web::get().to(hosts));
    for (path, handler) in [
        ("/api/v2/inventories/{id}/script/", Handler::Script),
        ("/api/v2/inventories/{id}/tree/", Handler::Tree),
    ] {
        routes.service(path, move |r| {
            r.route(web::get().to(move |s, p, r, c| handler.call(s, p, r, c)))
                .default_service(web::to(method_not_allowed))
        });
    }
    routes
        .service("/api/v2/dashboard/", move |r| {
            r.route(web::get().to(dashboard))
                .default_service(web::to(method_not_allowed))
        })
        .service("/api/v2/dashboard/graphs/jobs/", move |r| {
            r.route(web::get().to(jobs_graph))
                .default_service(web::to(method_not_allowed))
        });
}

#[derive(Clone, Copy)]
enum Handler {
    Script,
    Tree,
}

impl Handler {
    async fn call(
        self,
        state: State,
        path: Path<String>,
        req: HttpRequest,
        caller: Authenticated,
    ) -> Result<HttpResponse, ApiError> {
        match self {
            Handler::Script => inventory_script(state, path, req, caller).await,
            Handler::Tree => tree(state, path, caller).await,
        }
    }
}

fn inventory_error(err: InventoryError) -> ApiError {
    match err {
        InventoryError::Store(err) => ApiError::from(err),
        InventoryError::Filter(err) => {
            let mut errors = crate::resource::validate::FieldErrors::new();
            crate::resource::validate::push(&mut errors, "host_filter", err.to_string());
            ApiError::Fields(errors)
        }
        InventoryError::Missing(_) => ApiError::NotFound,
    }
}

/// `GET /api/v2/inventories/N/hosts/`: a regular inventory's own hosts, or
/// the hosts a smart inventory's filter selects.
async fn inventory_hosts(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &INVENTORY, &path).await?;
    readable(&state, &caller, &INVENTORY, id).await?;
    let found = {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        inventory::load(&*conn, id).await?
    };
    let found = found.ok_or(ApiError::NotFound)?;
    let scope = inventory::hosts_condition(&found, false)
        .map_err(|err| inventory_error(InventoryError::Filter(err)))?;
    list_page(&HOST, &state, &req, &caller, vec![scope]).await
}

/// `GET /api/v2/hosts/`, which also takes `?host_filter=` as AWX's host
/// list does (its UI previews a smart inventory's hosts with it).
async fn hosts(
    state: State,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req);
    let scope = match param(&pairs, "host_filter") {
        "" => Vec::new(),
        filter => vec![
            host_filter::compile(filter)
                .map_err(|err| ApiError::BadRequest(err.to_string()))?
                .into_condition(),
        ],
    };
    list_page(&HOST, &state, &req, &caller, scope).await
}

/// AWX reads these flags as Python truth: any non-empty value is true.
fn flag(pairs: &[(String, String)], key: &str) -> bool {
    pairs.iter().any(|(k, v)| k == key && !v.is_empty())
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// `GET /api/v2/inventories/N/script/`: the JSON a job's inventory script
/// prints (`hostvars`, `towervars`, `all`, `subset=sliceNofM`), or one
/// host's variables (`host=NAME`).
async fn inventory_script(
    state: State,
    path: Path<String>,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &INVENTORY, &path).await?;
    readable(&state, &caller, &INVENTORY, id).await?;
    let pairs = query_pairs(&req);
    let show_all = flag(&pairs, "all");
    let (slice_number, slice_count) = match param(&pairs, "subset") {
        "" => (1, 1),
        subset => {
            script::parse_subset(subset).map_err(|err| ApiError::BadRequest(err.to_string()))?
        }
    };
    let host = param(&pairs, "host");
    if !host.is_empty() {
        let vars = script::host_variables(&state.db, id, host, show_all)
            .await
            .map_err(inventory_error)?
            .ok_or(ApiError::NotFound)?;
        return Ok(HttpResponse::Ok().json(vars));
    }
    let options = Options {
        hostvars: flag(&pairs, "hostvars"),
        towervars: flag(&pairs, "towervars"),
        show_all,
        slice_number,
        slice_count,
    };
    let built = script::document(&state.db, id, &options)
        .await
        .map_err(inventory_error)?;
    Ok(HttpResponse::Ok().json(built.document))
}

/// `GET /api/v2/inventories/N/tree/`: the root groups, each with its
/// `children` nested, by name (a group under two parents shows under both).
async fn tree(
    state: State,
    path: Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let id = lookup::resolve(&state, &INVENTORY, &path).await?;
    readable(&state, &caller, &INVENTORY, id).await?;
    let inventory_col = GROUP
        .field("inventory")
        .map(|f| store::column(&GROUP, f, "{o}"))
        .ok_or(ApiError::NotFound)?;
    let (_, rows) = store::list(
        &state.db,
        &GROUP,
        &Query::default(),
        vec![Condition::new(
            format!("{inventory_col} = ?"),
            vec![Box::new(id)],
        )],
        0,
        i64::MAX,
    )
    .await?;
    let rendered = serialize::render(&state, &caller, &GROUP, rows).await?;
    let edges = {
        let conn = state.db.get().await.map_err(StoreError::from)?;
        inventory::group_edges(&*conn, id).await?
    };
    // Rendered in name order, so children keep it when collected in order.
    let order: Vec<i64> = rendered
        .iter()
        .filter_map(|g| g.get("id").and_then(Value::as_i64))
        .collect();
    let by_id: HashMap<i64, Value> = rendered
        .into_iter()
        .filter_map(|g| g.get("id").and_then(Value::as_i64).map(|id| (id, g)))
        .collect();
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut has_parent: HashSet<i64> = HashSet::new();
    for (parent, child) in &edges {
        children.entry(*parent).or_default().push(*child);
        has_parent.insert(*child);
    }
    let rank: HashMap<i64, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for list in children.values_mut() {
        list.sort_by_key(|id| rank.get(id).copied().unwrap_or(usize::MAX));
    }
    let mut path_ids = HashSet::new();
    let roots: Vec<Value> = order
        .iter()
        .filter(|id| !has_parent.contains(id))
        .filter_map(|id| nest(*id, &by_id, &children, &mut path_ids))
        .collect();
    Ok(HttpResponse::Ok().json(roots))
}

/// Group `id` with its descendants under `children`; a group already on
/// the path (a cycle the API would not have let in) is left out.
fn nest(
    id: i64,
    by_id: &HashMap<i64, Value>,
    children: &HashMap<i64, Vec<i64>>,
    path: &mut HashSet<i64>,
) -> Option<Value> {
    let mut group = by_id.get(&id)?.clone();
    if !path.insert(id) {
        return None;
    }
    let kids: Vec<Value> = children
        .get(&id)
        .map(|list| {
            list.iter()
                .filter_map(|child| nest(*child, by_id, children, path))
                .collect()
        })
        .unwrap_or_default();
    path.remove(&id);
    if let Some(object) = group.as_object_mut() {
        object.insert("children".into(), Value::Array(kids));
    }
    Some(group)
}

/// `select` over the rows of `resource` the caller may read that also meet
/// `extra` (`{o}` the row): one number.
async fn scalar(
    state: &State,
    caller: &Caller,
    resource: &Resource,
    select: &str,
    extra: &str,
) -> Result<i64, ApiError> {
    let mut conditions: Vec<Condition> =
        rbac::read_condition(caller, resource).into_iter().collect();
    if !extra.is_empty() {
        conditions.push(Condition::new(extra, Vec::new()));
    }
    let mut params: Vec<Param> = Vec::new();
    let mut clauses = vec!["TRUE".to_string()];
    for condition in conditions {
        clauses.push(format!("({})", condition.sql));
        params.extend(condition.params);
    }
    let sql = host_filter::number_params(
        &format!(
            "SELECT ({select})::int8 FROM {} WHERE {}",
            store::from_clause(resource, "o"),
            clauses.join(" AND ")
        )
        .replace("{o}", "o"),
        1,
    );
    let refs = crate::store::resource::param_refs(&params);
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let row = conn
        .query_one(sql.as_str(), &refs)
        .await
        .map_err(StoreError::from)?;
    Ok(row.get::<_, Option<i64>>(0).unwrap_or_default())
}

async fn count(
    state: &State,
    caller: &Caller,
    resource: &Resource,
    extra: &str,
) -> Result<i64, ApiError> {
    scalar(state, caller, resource, "count(*)", extra).await
}

/// The SQL of a field of `resource` on the row `{o}`.
fn col(resource: &Resource, name: &str) -> String {
    resource
        .own_field(name)
        .map(|f| store::column(resource, f, "{o}"))
        .unwrap_or_else(|| "NULL".into())
}

/// `GET /api/v2/dashboard/`: AWX's counts of what the caller can see.
async fn dashboard(
    state: State,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = &state;
    let c = &caller;
    let failed_host = "{o}.last_job_failed";
    let inventories = json!({
        "url": "/api/v2/inventories/",
        "total": count(s, c, &INVENTORY, "").await?,
        "total_with_inventory_source": count(s, c, &INVENTORY,
            "EXISTS (SELECT 1 FROM inventory_sources s WHERE s.inventory_id = {o}.id)").await?,
        "job_failed": count(s, c, &INVENTORY,
            "EXISTS (SELECT 1 FROM hosts h WHERE h.inventory_id = {o}.id AND h.last_job_failed)").await?,
        "inventory_failed": scalar(s, c, &INVENTORY,
            "coalesce(sum((SELECT count(*) FROM inventory_sources s JOIN unified_job_templates u ON u.id = s.id \
                           WHERE s.inventory_id = {o}.id AND u.last_job_failed)), 0)", "").await?,
    });
    let source = col(&INVENTORY_SOURCE, "source");
    let source_status = col(&INVENTORY_SOURCE, "status");
    let ec2 = format!("{source} = 'ec2'");
    let inventory_sources = json!({"ec2": {
        "url": "/api/v2/inventory_sources/?source=ec2",
        "failures_url": "/api/v2/inventory_sources/?source=ec2&status=failed",
        "label": "Amazon EC2",
        "total": count(s, c, &INVENTORY_SOURCE, &ec2).await?,
        "failed": count(s, c, &INVENTORY_SOURCE, &format!("{ec2} AND {source_status} = 'failed'")).await?,
    }});
    let groups = json!({
        "url": "/api/v2/groups/",
        "total": count(s, c, &GROUP, "").await?,
        "inventory_failed": count(s, c, &GROUP,
            "EXISTS (SELECT 1 FROM group_inventory_sources gs JOIN unified_job_templates u ON u.id = gs.inventory_source_id \
              WHERE gs.group_id = {o}.id AND u.last_job_failed)").await?,
    });
    let hosts = json!({
        "url": "/api/v2/hosts/",
        "failures_url": "/api/v2/hosts/?last_job_host_summary__failed=True",
        "total": count(s, c, &HOST, "").await?,
        "failed": count(s, c, &HOST, failed_host).await?,
    });
    let project_failed = col(&PROJECT, "last_job_failed");
    let scm_type = col(&PROJECT, "scm_type");
    let projects = json!({
        "url": "/api/v2/projects/",
        "failures_url": "/api/v2/projects/?last_job_failed=True",
        "total": count(s, c, &PROJECT, "").await?,
        "failed": count(s, c, &PROJECT, &project_failed).await?,
    });
    let mut scm_types = Map::new();
    for (kind, label) in [
        ("git", "Git"),
        ("svn", "Subversion"),
        ("archive", "Remote Archive"),
    ] {
        let of_kind = format!("{scm_type} = '{kind}'");
        scm_types.insert(
            kind.into(),
            json!({
                "url": format!("/api/v2/projects/?scm_type={kind}"),
                "label": label,
                "failures_url": format!("/api/v2/projects/?scm_type={kind}&last_job_failed=True"),
                "total": count(s, c, &PROJECT, &of_kind).await?,
                "failed": count(s, c, &PROJECT, &format!("{of_kind} AND {project_failed}")).await?,
            }),
        );
    }
    let mut data = Map::new();
    data.insert(
        "related".into(),
        json!({"jobs_graph": "/api/v2/dashboard/graphs/jobs/"}),
    );
    data.insert("inventories".into(), inventories);
    data.insert("inventory_sources".into(), inventory_sources);
    data.insert("groups".into(), groups);
    data.insert("hosts".into(), hosts);
    data.insert("projects".into(), projects);
    data.insert("scm_types".into(), Value::Object(scm_types));
    for (key, resource) in [
        ("users", &USER),
        ("organizations", &ORGANIZATION),
        ("teams", &TEAM),
        ("credentials", &CREDENTIAL),
        ("job_templates", &JOB_TEMPLATE),
    ] {
        data.insert(
            key.into(),
            json!({"url": resource.list_url(), "total": count(s, c, resource, "").await?}),
        );
    }
    Ok(deprecated(HttpResponse::Ok()).json(Value::Object(data)))
}

/// AWX marks `/dashboard/` deprecated with a `Warning` header.
fn deprecated(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((
        "Warning",
        "299 awx \"This resource has been deprecated and will be removed in a future release.\"",
    ));
    builder
}

/// `GET /api/v2/dashboard/graphs/jobs/?period=month|two_weeks|week|day&job_type=all|playbook_run|scm_update|inv_sync`:
/// finished jobs the caller can see, per day (per hour for `day`), by
/// outcome, as `[[epoch seconds, count], …]`.
async fn jobs_graph(
    state: State,
    req: HttpRequest,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req);
    let period = match param(&pairs, "period") {
        "" => "month",
        other => other,
    };
    let job_type = match param(&pairs, "job_type") {
        "" => "all",
        other => other,
    };
    let end = Utc::now();
    let (start, step) = match period {
        "month" => (
            end.checked_sub_months(chrono::Months::new(1))
                .unwrap_or(end),
            Duration::days(1),
        ),
        "two_weeks" => (end - Duration::weeks(2), Duration::days(1)),
        "week" => (end - Duration::weeks(1), Duration::days(1)),
        "day" => (end - Duration::days(1), Duration::hours(1)),
        other => {
            return Ok(HttpResponse::BadRequest()
                .json(json!({"error": format!("Unknown period \"{other}\"")})));
        }
    };
    let kinds: &[&Resource] = match job_type {
        "playbook_run" => &[&JOB],
        "scm_update" => &[&PROJECT_UPDATE],
        "inv_sync" => &[&INVENTORY_UPDATE],
        _ => &[&JOB, &PROJECT_UPDATE, &INVENTORY_UPDATE],
    };
    let mut buckets: HashMap<&str, HashMap<i64, i64>> = HashMap::new();
    for resource in kinds {
        for outcome in ["successful", "failed", "canceled", "error"] {
            let finished = col(resource, "finished");
            let status = col(resource, "status");
            let launch = col(resource, "launch_type");
            let rows = finished_per_bucket(
                &state,
                &caller,
                resource,
                Condition::new(
                    format!(
                        "{status} = '{outcome}' AND {launch} <> 'sync' AND {finished} BETWEEN ? AND ?"
                    ),
                    vec![Box::new(start), Box::new(end)],
                ),
                &finished,
                if step == Duration::hours(1) { "hour" } else { "day" },
            )
            .await?;
            let bucket = buckets.entry(outcome).or_default();
            for (at, n) in rows {
                *bucket.entry(at).or_default() += n;
            }
        }
    }
    let mut jobs = Map::new();
    for outcome in ["successful", "failed", "canceled", "error"] {
        let counts = buckets.get(outcome);
        let mut series = Vec::new();
        let mut at = truncate(start, step);
        while at <= end {
            let n = counts
                .and_then(|c| c.get(&at.timestamp()))
                .copied()
                .unwrap_or(0);
            series.push(json!([at.timestamp(), n]));
            at += step;
        }
        jobs.insert(outcome.into(), Value::Array(series));
    }
    Ok(HttpResponse::Ok().json(json!({"jobs": jobs})))
}

fn truncate(at: DateTime<Utc>, step: Duration) -> DateTime<Utc> {
    at.duration_trunc(step).unwrap_or(at)
}

/// (bucket start in epoch seconds, count) of the readable rows meeting `extra`.
async fn finished_per_bucket(
    state: &State,
    caller: &Caller,
    resource: &Resource,
    extra: Condition,
    finished: &str,
    unit: &str,
) -> Result<Vec<(i64, i64)>, ApiError> {
    let mut conditions: Vec<Condition> =
        rbac::read_condition(caller, resource).into_iter().collect();
    conditions.push(extra);
    let mut params: Vec<Param> = Vec::new();
    let mut clauses = Vec::new();
    for condition in conditions {
        clauses.push(format!("({})", condition.sql));
        params.extend(condition.params);
    }
    let sql = host_filter::number_params(
        &format!(
            "SELECT extract(epoch FROM date_trunc('{unit}', {finished}, 'UTC'))::int8, count(*)
               FROM {} WHERE {} GROUP BY 1",
            store::from_clause(resource, "o"),
            clauses.join(" AND ")
        )
        .replace("{o}", "o"),
        1,
    );
    let refs = crate::store::resource::param_refs(&params);
    let conn = state.db.get().await.map_err(StoreError::from)?;
    let rows = conn
        .query(sql.as_str(), &refs)
        .await
        .map_err(StoreError::from)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
