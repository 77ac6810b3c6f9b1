//! Every resource of the canonical workflow over real HTTP, as AWX serves
//! it: OPTIONS, create, read by id and by named URL, filters and ordering,
//! PATCH, PUT and bad input, DELETE, the activity stream, and the
//! association sub-lists (`POST {"id": N}`, `disassociate`, create-here).
//!
//! Each test collects what the server gets wrong and reports it all at the
//! end, so one bug does not hide the next; steps later checks build on
//! (creating the objects they use) are hard assertions.

mod common;

use std::fmt::Display;
use std::time::{Duration, Instant};

use common::api::{Api, Node};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

/// A pk nothing has.
const MISSING: i64 = 999_999;

/// What went wrong in one test, reported together by `finish`.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn that(&mut self, ok: bool, what: impl Display) {
        if !ok {
            self.0.push(what.to_string());
        }
    }

    /// `got` is `want`; `what` names the request.
    fn status(&mut self, what: impl Display, got: StatusCode, want: u16, body: &Value) {
        self.that(
            got.as_u16() == want,
            format!("{what}: expected {want}, got {got}: {body}"),
        );
    }

    /// A 400 whose body names `field` (`{"field": ["msg"]}`), the message
    /// containing `text`.
    fn field_error(
        &mut self,
        what: impl Display,
        (status, body): (StatusCode, Value),
        field: &str,
        text: &str,
    ) {
        let message = body[field][0].as_str().unwrap_or_default();
        self.that(
            status == 400 && message.contains(text),
            format!("{what}: expected 400 naming {field:?} ({text:?}), got {status}: {body}"),
        );
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} check(s) failed:\n- {}",
            self.0.len(),
            self.0.join("\n- ")
        );
    }
}

/// The standard checks of one resource.
#[derive(Default)]
struct Spec {
    /// `/api/v2/<path>/`.
    list: &'static str,
    type_name: &'static str,
    /// A valid body for POST (and, less the required field, for PUT).
    body: Value,
    /// POST fields OPTIONS must describe with these types.
    types: &'static [(&'static str, &'static str)],
    /// A required field: OPTIONS says so, PUT without it is a 400 naming it.
    required: Option<&'static str>,
    /// A field to PATCH and its new value as read back.
    patch: (&'static str, Value),
    /// A field with a bad choice or type.
    bad: (&'static str, Value),
    /// A foreign key to point at a missing object.
    missing_fk: Option<&'static str>,
    /// Foreign key → the name its summary must show.
    summary: &'static [(&'static str, &'static str)],
    /// JSON pointer → value, in the created object.
    shows: Vec<(&'static str, Value)>,
    /// The named-URL slug (`web1++prod++Eng`).
    named: Option<String>,
    /// Query string → names listed, in order.
    lists: Vec<(&'static str, Vec<&'static str>)>,
    /// Whether the object links an `activity_stream` sub-list.
    activity: bool,
}

fn id_of(object: &Value) -> i64 {
    object["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {object}"))
}

fn url_of(object: &Value) -> String {
    object["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no url in {object}"))
        .to_string()
}

/// `base` with `changes` laid over it.
fn with(base: &Value, changes: Value) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Value::Object(changes) = changes {
        out.extend(changes);
    }
    Value::Object(out)
}

/// `base` without `field`.
fn without(base: &Value, field: &str) -> Value {
    let mut out: Map<String, Value> = base.as_object().cloned().unwrap_or_default();
    out.remove(field);
    Value::Object(out)
}

/// POST, returning the `Location` header too.
async fn post_located(api: &Api, path: &str, body: &Value) -> (StatusCode, Option<String>, Value) {
    let response = api
        .request(Method::POST, path)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap_or_default();
    (
        status,
        location,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// The names (usernames, hostnames) a list shows; a failure is recorded.
async fn list_names(c: &mut Checks, api: &Api, path: &str) -> Vec<String> {
    let (status, body) = api.get(path).await;
    c.status(format!("GET {path}"), status, 200, &body);
    body["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|o| {
                    ["name", "username", "hostname"]
                        .iter()
                        .find_map(|key| o.get(*key).and_then(Value::as_str))
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The ids a list shows; a failure is recorded.
async fn list_ids(c: &mut Checks, api: &Api, path: &str) -> Vec<i64> {
    let (status, body) = api.get(path).await;
    c.status(format!("GET {path}"), status, 200, &body);
    body["results"]
        .as_array()
        .map(|results| results.iter().filter_map(|o| o["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// OPTIONS, create, read, named URL, lists, PATCH, PUT, bad input and the
/// activity stream of one resource; returns the object as it ends up.
async fn check_resource(c: &mut Checks, api: &Api, spec: &Spec) -> Value {
    let list = spec.list;

    // OPTIONS on the list: GET and POST only; POST fields typed, required marked.
    let (status, options) = api.options(list).await;
    c.status(format!("OPTIONS {list}"), status, 200, &options);
    let actions: Vec<String> = options["actions"]
        .as_object()
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    c.that(
        actions == ["GET", "POST"],
        format!("OPTIONS {list}: actions {actions:?}"),
    );
    let post = &options["actions"]["POST"];
    for (name, meta) in post.as_object().into_iter().flatten() {
        c.that(
            meta["type"].is_string() && meta["required"].is_boolean(),
            format!("OPTIONS {list}: POST {name} lacks type or required: {meta}"),
        );
    }
    for read_only in ["id", "url", "created", "modified"] {
        c.that(
            post.get(read_only).is_none(),
            format!("OPTIONS {list}: POST offers read-only {read_only}"),
        );
    }
    if let Some(required) = spec.required {
        c.that(
            post[required]["required"] == true,
            format!(
                "OPTIONS {list}: POST {required} not required: {}",
                post[required]
            ),
        );
    }
    for (field, kind) in spec.types {
        c.that(
            post[*field]["type"] == *kind,
            format!(
                "OPTIONS {list}: POST {field} type is not {kind}: {}",
                post[*field]
            ),
        );
    }

    // Create: 201, Location, type, relative url, echoed fields, summaries.
    let (status, location, created) = post_located(api, list, &spec.body).await;
    assert_eq!(status, 201, "POST {list} {}: {created}", spec.body);
    let id = id_of(&created);
    let url = format!("{list}{id}/");
    c.that(
        location.as_deref() == Some(url.as_str()),
        format!("POST {list}: Location {location:?}, expected {url}"),
    );
    c.that(
        created["url"] == url.as_str(),
        format!("POST {list}: url {}", created["url"]),
    );
    c.that(
        created["type"] == spec.type_name,
        format!("POST {list}: type {}", created["type"]),
    );
    for (key, value) in spec.body.as_object().into_iter().flatten() {
        if matches!(key.as_str(), "password" | "inputs") {
            continue;
        }
        c.that(
            created[key] == *value,
            format!("POST {list}: {key} reads {}, sent {value}", created[key]),
        );
    }
    for (fk, name) in spec.summary {
        let summary = &created["summary_fields"][*fk];
        c.that(
            summary["id"] == created[*fk] && summary["name"] == *name,
            format!("POST {list}: summary_fields.{fk} is {summary}, expected {name}"),
        );
    }
    for (pointer, value) in &spec.shows {
        let got = created.pointer(pointer).unwrap_or(&Value::Null);
        c.that(
            got == value,
            format!("POST {list}: {pointer} is {got}, expected {value}"),
        );
    }

    // Read by id and by named URL.
    let (status, read) = api.get(&url).await;
    c.status(format!("GET {url}"), status, 200, &read);
    c.that(read["id"] == id, format!("GET {url}: id {}", read["id"]));
    // The POST answers with the object as a GET reads it (a project's
    // update starts at once and changes its status meanwhile).
    if spec.type_name != "project" {
        c.that(
            read == created,
            format!("POST {list} answered {created}\nGET {url} reads {read}"),
        );
    }
    if let Some(slug) = &spec.named {
        let named = format!("{list}{slug}/");
        let (status, by_name) = api.get(&named).await;
        c.status(format!("GET {named}"), status, 200, &by_name);
        c.that(
            by_name["id"] == id,
            format!("GET {named}: id {}, expected {id}", by_name["id"]),
        );
        c.that(
            read["related"]["named_url"] == named.as_str(),
            format!(
                "GET {url}: related.named_url is {}, expected {named}",
                read["related"]["named_url"]
            ),
        );
    }

    // Filters and ordering.
    for (query, want) in &spec.lists {
        let path = format!("{list}?{query}");
        let got = list_names(c, api, &path).await;
        c.that(
            got == *want,
            format!("GET {path}: {got:?}, expected {want:?}"),
        );
    }

    // PATCH one field.
    let (field, value) = &spec.patch;
    if !field.is_empty() {
        let (status, patched) = api.patch(&url, json!({ *field: value })).await;
        c.status(format!("PATCH {url} {field}"), status, 200, &patched);
        c.that(
            patched[*field] == *value,
            format!(
                "PATCH {url}: {field} reads {}, sent {value}",
                patched[*field]
            ),
        );
        for key in ["name", "username"].into_iter().filter(|key| key != field) {
            c.that(
                patched[key] == created[key],
                format!("PATCH {url}: {key} changed to {}", patched[key]),
            );
        }
        let (_, reread) = api.get(&url).await;
        c.that(
            reread[*field] == *value,
            format!("GET {url} after PATCH: {field} reads {}", reread[*field]),
        );
    }

    // PUT without a required field.
    if let Some(required) = spec.required {
        let response = api.put(&url, without(&spec.body, required)).await;
        c.field_error(
            format!("PUT {url} without {required}"),
            response,
            required,
            "required",
        );
    }

    // A bad choice or type; a foreign key to nothing.
    let (field, value) = &spec.bad;
    if !field.is_empty() {
        let response = api
            .post(list, with(&spec.body, json!({ *field: value })))
            .await;
        refused(
            c,
            api,
            format!("POST {list} {field}={value}"),
            response,
            field,
            "",
        )
        .await;
    }
    if let Some(fk) = spec.missing_fk {
        let response = api
            .post(list, with(&spec.body, json!({ fk: MISSING })))
            .await;
        refused(
            c,
            api,
            format!("POST {list} {fk}={MISSING}"),
            response,
            fk,
            &format!("Invalid pk \"{MISSING}\""),
        )
        .await;
        // A key AWX makes read-only once the object exists (a host's
        // inventory) is left out of the detail's PUT and ignored.
        let (_, detail) = api.options(&url).await;
        let (status, body) = api.patch(&url, json!({ fk: MISSING })).await;
        if detail["actions"]["PUT"].get(fk).is_some() {
            c.field_error(
                format!("PATCH {url} {fk}={MISSING}"),
                (status, body),
                fk,
                &format!("Invalid pk \"{MISSING}\""),
            );
        } else {
            c.that(
                status == 200 && body[fk] == created[fk],
                format!("PATCH {url} read-only {fk}={MISSING}: {status} {body}"),
            );
        }
    }

    // The activity stream saw the create and the update.
    if spec.activity {
        check_activity(c, api, &url, spec.type_name, &["create", "update"]).await;
    }
    let (_, object) = api.get(&url).await;
    object
}

/// A POST the server must refuse with a 400 naming `field`; what it
/// created anyway is deleted, so later lists are not thrown off.
async fn refused(
    c: &mut Checks,
    api: &Api,
    what: impl Display,
    response: (StatusCode, Value),
    field: &str,
    text: &str,
) {
    if response.0 == 201
        && let Some(url) = response.1["url"].as_str()
    {
        api.delete(url).await;
    }
    c.field_error(what, response, field, text);
}

/// `<url>activity_stream/` lists entries with these operations about the object.
async fn check_activity(c: &mut Checks, api: &Api, url: &str, type_name: &str, ops: &[&str]) {
    let path = format!("{url}activity_stream/");
    let (status, body) = api.get(&path).await;
    c.status(format!("GET {path}"), status, 200, &body);
    let entries = body["results"].as_array().cloned().unwrap_or_default();
    for op in ops {
        c.that(
            entries.iter().any(|e| {
                e["operation"] == *op && (e["object1"] == type_name || e["object2"] == type_name)
            }),
            format!("GET {path}: no {op} entry about a {type_name}: {body}"),
        );
    }
}

/// DELETE answers `want`; the object is then gone (AWX deletes inventories
/// in the background, so that may take a moment).
async fn check_delete(c: &mut Checks, api: &Api, url: &str, want: u16) {
    let (status, body) = api.delete(url).await;
    c.status(format!("DELETE {url}"), status, want, &body);
    if status == 204 {
        c.that(
            body.is_null(),
            format!("DELETE {url}: 204 with a body {body}"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = api.get(url).await;
        if status == 404 {
            break;
        }
        if Instant::now() > deadline {
            c.that(false, format!("GET {url} after DELETE: {status} {body}"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A manual project directory holding `site.yml`, under the node's projects
/// root, as AWX needs for a job template's playbook.
fn project_dir(node: &Node, dir: &str) {
    let root = node.server.data_dir.path().join("projects").join(dir);
    std::fs::create_dir_all(&root).expect("project dir");
    std::fs::write(
        root.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  tasks: []\n",
    )
    .expect("playbook");
}

/// The id of a managed credential type.
async fn credential_type(api: &Api, name: &str) -> i64 {
    let (_, types) = api
        .get(&format!("/api/v2/credential_types/?name={name}"))
        .await;
    types["results"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no managed credential type {name}: {types}"))
}

#[tokio::test]
async fn identity_resources() {
    let node = Node::start().await;
    let admin = node.admin();
    let mut c = Checks::default();

    // Organizations.
    for name in ["Ops", "Re-Eng"] {
        admin
            .create("/api/v2/organizations/", json!({"name": name}))
            .await;
    }
    let eng = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/organizations/",
            type_name: "organization",
            body: json!({"name": "Eng", "description": "engineering", "max_hosts": 10}),
            types: &[
                ("name", "string"),
                ("max_hosts", "integer"),
                ("default_environment", "id"),
            ],
            required: Some("name"),
            patch: ("description", json!("all of engineering")),
            bad: ("max_hosts", json!("lots")),
            missing_fk: Some("default_environment"),
            shows: vec![("/summary_fields/created_by/username", json!("admin"))],
            named: Some("Eng".into()),
            lists: vec![
                ("name__icontains=eng&order_by=-name", vec!["Re-Eng", "Eng"]),
                ("order_by=name", vec!["Eng", "Ops", "Re-Eng"]),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;
    let eng_id = id_of(&eng);
    let other = admin
        .create("/api/v2/organizations/", json!({"name": "Other"}))
        .await;

    // Users.
    for name in ["bob", "alicia"] {
        node.user(name, "pw-123456").await;
    }
    let alice = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/users/",
            type_name: "user",
            body: json!({"username": "alice", "password": "pw-alice-1", "first_name": "Alice",
                         "email": "alice@example.com"}),
            types: &[
                ("username", "string"),
                ("is_superuser", "boolean"),
                ("password", "string"),
            ],
            required: Some("username"),
            patch: ("last_name", json!("Liddell")),
            bad: ("is_superuser", json!("maybe")),
            shows: vec![("/password", json!("$encrypted$"))],
            named: Some("alice".into()),
            lists: vec![
                (
                    "username__icontains=ali&order_by=-username",
                    vec!["alicia", "alice"],
                ),
                ("first_name=Alice", vec!["alice"]),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;
    let (status, me) = node.as_user("alice", "pw-alice-1").get("/api/v2/me/").await;
    c.status("GET /api/v2/me/ as the new user", status, 200, &me);
    let response = admin
        .post(
            "/api/v2/users/",
            json!({"username": "no spaces allowed", "password": "x"}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST /api/v2/users/ bad username",
        response,
        "username",
        "",
    )
    .await;

    // Teams.
    admin
        .create(
            "/api/v2/teams/",
            json!({"name": "DevOps", "organization": eng_id}),
        )
        .await;
    admin
        .create(
            "/api/v2/teams/",
            json!({"name": "Dev", "organization": id_of(&other)}),
        )
        .await;
    let dev = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/teams/",
            type_name: "team",
            body: json!({"name": "Dev", "description": "developers", "organization": eng_id}),
            types: &[("name", "string"), ("organization", "id")],
            required: Some("organization"),
            patch: ("description", json!("builders")),
            bad: ("name", json!({"not": "a string"})),
            missing_fk: Some("organization"),
            summary: &[("organization", "Eng")],
            named: Some("Dev++Eng".into()),
            lists: vec![
                (
                    "name__icontains=dev&order_by=-name",
                    vec!["DevOps", "Dev", "Dev"],
                ),
                (
                    "organization__name=Eng&order_by=-name",
                    vec!["DevOps", "Dev"],
                ),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;
    let response = admin
        .post(
            "/api/v2/teams/",
            json!({"name": "Dev", "organization": eng_id}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST a duplicate team",
        response,
        "__all__",
        "already exists",
    )
    .await;

    check_tokens(&mut c, &node).await;

    check_delete(&mut c, &admin, &url_of(&dev), 204).await;
    check_delete(&mut c, &admin, &url_of(&alice), 204).await;
    check_delete(&mut c, &admin, &url_of(&eng), 204).await;
    c.finish();
}

/// Tokens: the secret only in the POST response, the token works until deleted.
async fn check_tokens(c: &mut Checks, node: &Node) {
    let admin = node.admin();
    let list = "/api/v2/tokens/";
    let (status, options) = admin.options(list).await;
    c.status(format!("OPTIONS {list}"), status, 200, &options);
    let actions: Vec<String> = options["actions"]
        .as_object()
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    c.that(
        actions == ["GET", "POST"],
        format!("OPTIONS {list}: {actions:?}"),
    );
    let post = &options["actions"]["POST"];
    c.that(
        post["scope"]["type"] == "choice"
            && post["scope"]["required"] == false
            && post["description"]["type"] == "string"
            && post.get("token").is_none()
            && post.get("user").is_none(),
        format!("OPTIONS {list}: POST {post}"),
    );

    let body = json!({"description": "ci runner", "application": null, "scope": "write"});
    let (status, location, token) = post_located(&admin, list, &body).await;
    assert_eq!(status, 201, "POST {list}: {token}");
    let id = id_of(&token);
    let url = format!("{list}{id}/");
    c.that(
        location.as_deref() == Some(url.as_str()) && token["url"] == url.as_str(),
        format!("POST {list}: Location {location:?}, url {}", token["url"]),
    );
    c.that(
        token["type"] == "o_auth2_access_token" && token["scope"] == "write",
        format!("POST {list}: {token}"),
    );
    c.that(
        token["summary_fields"]["user"]["username"] == "admin",
        format!(
            "POST {list}: summary_fields.user {}",
            token["summary_fields"]["user"]
        ),
    );
    let secret = token["token"].as_str().unwrap_or_default().to_string();
    c.that(
        secret.len() >= 16 && !secret.contains('*'),
        format!("POST {list}: token {secret:?}"),
    );
    let bearer = node.with_token(&secret);
    let (status, me) = bearer.get("/api/v2/me/").await;
    c.status("GET /api/v2/me/ with the new token", status, 200, &me);

    let (status, read) = admin.get(&url).await;
    c.status(format!("GET {url}"), status, 200, &read);
    c.that(
        read["token"] == "************",
        format!("GET {url}: token {}", read["token"]),
    );
    admin
        .create(list, json!({"description": "deploy bot"}))
        .await;
    let (_, page) = admin
        .get(&format!("{list}?description__icontains=ci&order_by=-id"))
        .await;
    c.that(
        page["count"] == 1 && page["results"][0]["id"] == id,
        format!("GET {list}?description__icontains=ci: {page}"),
    );
    let (_, page) = admin.get(&format!("{list}?order_by=-description")).await;
    let descriptions: Vec<&str> = page["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["description"].as_str())
        .collect();
    c.that(
        descriptions == ["deploy bot", "ci runner"],
        format!("GET {list}?order_by=-description: {descriptions:?}"),
    );
    let personal = list_ids(c, &admin, "/api/v2/users/admin/personal_tokens/").await;
    c.that(
        personal.contains(&id),
        format!("/api/v2/users/admin/personal_tokens/ lacks {id}: {personal:?}"),
    );

    let (status, patched) = admin.patch(&url, json!({"description": "ci"})).await;
    c.status(format!("PATCH {url}"), status, 200, &patched);
    c.that(
        patched["description"] == "ci",
        format!("PATCH {url}: {patched}"),
    );
    let response = admin.post(list, json!({"scope": "admin"})).await;
    refused(
        c,
        &admin,
        format!("POST {list} scope=admin"),
        response,
        "scope",
        "",
    )
    .await;
    let response = admin.post(list, json!({"application": MISSING})).await;
    refused(
        c,
        &admin,
        format!("POST {list} application={MISSING}"),
        response,
        "application",
        &format!("Invalid pk \"{MISSING}\""),
    )
    .await;
    check_activity(
        c,
        &admin,
        &url,
        "o_auth2_access_token",
        &["create", "update"],
    )
    .await;

    check_delete(c, &admin, &url, 204).await;
    let (status, body) = bearer.get("/api/v2/me/").await;
    c.status("GET /api/v2/me/ with a deleted token", status, 401, &body);
}

#[tokio::test]
async fn credential_and_execution_resources() {
    let node = Node::start().await;
    let admin = node.admin();
    let mut c = Checks::default();
    let eng = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let eng_id = id_of(&eng);
    let other_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Other"}))
            .await,
    );

    // Credential types (custom).
    admin
        .create(
            "/api/v2/credential_types/",
            json!({"name": "NetAPI", "kind": "net", "inputs": {}, "injectors": {}}),
        )
        .await;
    let token_type = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/credential_types/",
            type_name: "credential_type",
            body: json!({"name": "TokenAPI", "kind": "cloud",
                         "inputs": {"fields": [{"id": "token", "label": "Token", "secret": true}],
                                    "required": ["token"]},
                         "injectors": {"env": {"API_TOKEN": "{{ token }}"}}}),
            types: &[("name", "string"), ("kind", "choice"), ("inputs", "json")],
            required: Some("kind"),
            patch: ("description", json!("an API token")),
            bad: ("kind", json!("bogus")),
            shows: vec![("/managed", json!(false))],
            named: Some("TokenAPI+cloud".into()),
            lists: vec![
                ("managed=false&order_by=-name", vec!["TokenAPI", "NetAPI"]),
                (
                    "name__icontains=api&managed=false&order_by=name",
                    vec!["NetAPI", "TokenAPI"],
                ),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;
    let token_type_id = id_of(&token_type);

    // Credentials.
    let machine = credential_type(&admin, "Machine").await;
    admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "ssh", "organization": eng_id, "credential_type": machine,
               "inputs": {"username": "deploy"}}),
        )
        .await;
    let api_two = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "api-two", "organization": other_id, "credential_type": token_type_id,
               "inputs": {"token": "other-secret"}}),
        )
        .await;
    let api_credential = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/credentials/",
            type_name: "credential",
            body: json!({"name": "api", "organization": eng_id, "credential_type": token_type_id,
                         "inputs": {"token": "sekrit-123"}}),
            types: &[
                ("name", "string"),
                ("credential_type", "id"),
                ("organization", "id"),
                ("inputs", "json"),
            ],
            required: Some("credential_type"),
            patch: ("description", json!("the API")),
            bad: ("organization", json!("Eng")),
            missing_fk: Some("credential_type"),
            summary: &[("organization", "Eng"), ("credential_type", "TokenAPI")],
            shows: vec![("/inputs/token", json!("$encrypted$"))],
            named: Some("api++TokenAPI+cloud++Eng".into()),
            lists: vec![
                ("name__icontains=api&order_by=-name", vec!["api-two", "api"]),
                ("organization__name=Eng&order_by=-name", vec!["ssh", "api"]),
                (
                    "credential_type__name=TokenAPI&order_by=name",
                    vec!["api", "api-two"],
                ),
            ],
            activity: true,
        },
    )
    .await;

    // Execution environments, pulling with a registry credential.
    let registry = credential_type(&admin, "Container Registry").await;
    let quay = admin
        .create(
            "/api/v2/credentials/",
            json!({"name": "quay", "organization": eng_id, "credential_type": registry,
               "inputs": {"host": "quay.io", "username": "bot", "password": "pw"}}),
        )
        .await;
    admin
        .create(
            "/api/v2/execution_environments/",
            json!({"name": "rt-global", "image": "quay.io/ansible/awx-ee:latest"}),
        )
        .await;
    admin.create("/api/v2/execution_environments/",
        json!({"name": "rt-other", "image": "quay.io/ansible/awx-ee:latest", "organization": other_id}),
    )
    .await;
    let ee = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/execution_environments/",
            type_name: "execution_environment",
            body: json!({"name": "rt-main", "image": "quay.io/ansible/awx-ee:24.6.1",
                         "organization": eng_id, "credential": id_of(&quay), "pull": "missing"}),
            types: &[
                ("name", "string"),
                ("image", "string"),
                ("pull", "choice"),
                ("credential", "id"),
            ],
            required: Some("image"),
            patch: ("pull", json!("always")),
            bad: ("pull", json!("sometimes")),
            missing_fk: Some("credential"),
            summary: &[("organization", "Eng"), ("credential", "quay")],
            shows: vec![
                (
                    "/summary_fields/credential/credential_type_id",
                    json!(registry),
                ),
                ("/summary_fields/credential/kind", json!("registry")),
            ],
            named: Some("rt-main".into()),
            lists: vec![
                (
                    "name__icontains=rt-&order_by=-name",
                    vec!["rt-other", "rt-main", "rt-global"],
                ),
                ("organization__name=Eng", vec!["rt-main"]),
            ],
            activity: true,
        },
    )
    .await;
    let response = admin
        .post(
            "/api/v2/execution_environments/",
            json!({"name": "rt-bad", "image": "x", "credential": id_of(&api_credential)}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST an execution environment with a cloud credential",
        response,
        "credential",
        "",
    )
    .await;

    // Instance groups: the built-in ones, then a new one.
    let builtin = list_names(&mut c, &admin, "/api/v2/instance_groups/?order_by=name").await;
    c.that(
        builtin == ["controlplane", "default"],
        format!("built-in instance groups: {builtin:?}"),
    );
    let hostname = node.server.node_name();
    for group in ["controlplane", "default"] {
        let path = format!("/api/v2/instance_groups/{group}/instances/");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let members = list_names(&mut c, &admin, &path).await;
            if members.contains(&hostname) {
                break;
            }
            if Instant::now() > deadline {
                c.that(false, format!("GET {path}: {members:?} lacks {hostname}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let workers = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/instance_groups/",
            type_name: "instance_group",
            body: json!({"name": "workers", "max_forks": 10, "policy_instance_minimum": 1}),
            types: &[
                ("name", "string"),
                ("max_forks", "integer"),
                ("policy_instance_list", "json"),
                ("is_container_group", "boolean"),
            ],
            required: Some("name"),
            patch: ("max_concurrent_jobs", json!(5)),
            bad: ("max_forks", json!("many")),
            missing_fk: Some("credential"),
            shows: vec![("/capacity", json!(0)), ("/instances", json!(0))],
            named: Some("workers".into()),
            lists: vec![
                ("order_by=-name", vec!["workers", "default", "controlplane"]),
                ("name__icontains=CONTROL", vec!["controlplane"]),
            ],
            ..Spec::default()
        },
    )
    .await;
    let response = admin
        .post(
            "/api/v2/instance_groups/",
            json!({"name": "pct", "policy_instance_percentage": 150}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST an instance group with 150%",
        response,
        "policy_instance_percentage",
        "",
    )
    .await;

    // Instances: read-only; the node's own is there.
    let list = "/api/v2/instances/";
    let (status, options) = admin.options(list).await;
    c.status(format!("OPTIONS {list}"), status, 200, &options);
    let actions: Vec<String> = options["actions"]
        .as_object()
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    c.that(
        actions == ["GET"],
        format!("OPTIONS {list}: actions {actions:?}"),
    );
    c.that(
        options["actions"]["GET"]["hostname"]["type"] == "string",
        format!(
            "OPTIONS {list}: GET hostname {}",
            options["actions"]["GET"]["hostname"]
        ),
    );
    let (_, page) = admin
        .get(&format!(
            "{list}?hostname__icontains=node-&order_by=-hostname"
        ))
        .await;
    c.that(
        page["count"] == 1 && page["results"][0]["hostname"] == hostname.as_str(),
        format!("GET {list}?hostname__icontains=node-: {page}"),
    );
    let instance = &page["results"][0];
    c.that(
        instance["type"] == "instance"
            && instance["node_type"] == "hybrid"
            && instance["node_state"] == "ready"
            && instance["capacity"].as_i64().is_some_and(|n| n > 0),
        format!("the node's instance: {instance}"),
    );
    let instance_url = instance["url"].as_str().unwrap_or_default().to_string();
    c.that(
        instance_url.starts_with("/api/v2/instances/"),
        format!("instance url {instance_url:?}"),
    );
    let (status, by_name) = admin.get(&format!("{list}{hostname}/")).await;
    c.status(format!("GET {list}{hostname}/"), status, 200, &by_name);
    c.that(
        by_name["id"] == instance["id"],
        format!("GET {list}{hostname}/: {by_name}"),
    );
    // AWX creates instances only on Kubernetes (400 elsewhere); rawx never.
    let (status, body) = admin.post(list, json!({"hostname": "new-node"})).await;
    c.that(
        status == 400 || status == 405,
        format!("POST {list}: expected 400 or 405, got {status} {body}"),
    );
    let (_, page) = admin.get(list).await;
    c.that(page["count"] == 1, format!("GET {list} after POST: {page}"));
    let (status, body) = admin.delete(&instance_url).await;
    c.status(format!("DELETE {instance_url}"), status, 405, &body);
    let (status, body) = admin.patch(&instance_url, json!({"enabled": false})).await;
    c.status(format!("PATCH {instance_url} enabled"), status, 200, &body);
    c.that(
        body["enabled"] == false,
        format!("PATCH {instance_url}: {body}"),
    );
    let (status, body) = admin.patch(&instance_url, json!({"enabled": true})).await;
    c.status(format!("PATCH {instance_url} enabled"), status, 200, &body);
    let (status, body) = admin
        .patch(&instance_url, json!({"hostname": "renamed"}))
        .await;
    c.that(
        status == 200 && body["hostname"] == hostname.as_str(),
        format!("PATCH {instance_url} hostname (read-only): {status} {body}"),
    );

    check_delete(&mut c, &admin, &url_of(&workers), 204).await;
    check_delete(&mut c, &admin, &url_of(&ee), 204).await;
    // A custom type in use can be neither deleted nor changed in its inputs.
    let type_url = url_of(&token_type);
    let (status, body) = admin.delete(&type_url).await;
    c.that(
        status == 403
            && body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("in use"),
        format!("DELETE {type_url} in use: expected 403, got {status} {body}"),
    );
    let (status, body) = admin
        .patch(&type_url, json!({"inputs": {"fields": []}}))
        .await;
    c.status(
        format!("PATCH {type_url} inputs in use"),
        status,
        403,
        &body,
    );
    check_delete(&mut c, &admin, &url_of(&api_credential), 204).await;
    check_delete(&mut c, &admin, &url_of(&api_two), 204).await;
    check_delete(&mut c, &admin, &type_url, 204).await;
    c.finish();
}

#[tokio::test]
async fn inventory_resources() {
    let node = Node::start().await;
    let admin = node.admin();
    let mut c = Checks::default();
    let eng_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Eng"}))
            .await,
    );
    let other_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Other"}))
            .await,
    );

    // Inventories.
    let staging = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "staging", "organization": eng_id}),
        )
        .await;
    admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": other_id}),
        )
        .await;
    let prod = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/inventories/",
            type_name: "inventory",
            body: json!({"name": "prod", "organization": eng_id, "variables": "---\nregion: eu\n"}),
            types: &[
                ("name", "string"),
                ("organization", "id"),
                ("kind", "choice"),
                ("variables", "json"),
            ],
            required: Some("organization"),
            patch: ("description", json!("production")),
            bad: ("kind", json!("weird")),
            missing_fk: Some("organization"),
            summary: &[("organization", "Eng")],
            shows: vec![("/total_hosts", json!(0)), ("/kind", json!(""))],
            named: Some("prod++Eng".into()),
            lists: vec![
                (
                    "organization__name=Eng&order_by=-name",
                    vec!["staging", "prod"],
                ),
                ("name__icontains=PRO", vec!["prod", "prod"]),
            ],
            activity: true,
        },
    )
    .await;
    let prod_id = id_of(&prod);
    let response = admin
        .post(
            "/api/v2/inventories/",
            json!({"name": "vars", "organization": eng_id, "variables": "- not\n- a mapping\n"}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST an inventory with list variables",
        response,
        "variables",
        "",
    )
    .await;

    // Hosts.
    for (name, inventory) in [
        ("web2", prod_id),
        ("db1", prod_id),
        ("web1", id_of(&staging)),
    ] {
        admin
            .create(
                "/api/v2/hosts/",
                json!({"name": name, "inventory": inventory}),
            )
            .await;
    }
    let web1 = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/hosts/",
            type_name: "host",
            body: json!({"name": "web1", "inventory": prod_id, "variables": "{\"http_port\": 80}"}),
            types: &[
                ("name", "string"),
                ("inventory", "id"),
                ("enabled", "boolean"),
                ("variables", "json"),
            ],
            required: Some("name"),
            patch: ("enabled", json!(false)),
            bad: ("variables", json!("- 1\n- 2\n")),
            missing_fk: Some("inventory"),
            summary: &[("inventory", "prod")],
            shows: vec![
                ("/enabled", json!(true)),
                ("/summary_fields/inventory/organization_id", json!(eng_id)),
                ("/summary_fields/inventory/kind", json!("")),
            ],
            named: Some("web1++prod++Eng".into()),
            lists: vec![
                (
                    "name__icontains=web&order_by=-name",
                    vec!["web2", "web1", "web1"],
                ),
                (
                    "inventory__name=prod&order_by=-name",
                    vec!["web2", "web1", "db1"],
                ),
                (
                    "inventory__organization__name=Eng&name=web1",
                    vec!["web1", "web1"],
                ),
            ],
            activity: true,
        },
    )
    .await;
    let names = list_names(
        &mut c,
        &admin,
        &format!("/api/v2/inventories/{prod_id}/hosts/?order_by=name"),
    )
    .await;
    c.that(
        names == ["db1", "web1", "web2"],
        format!("GET /api/v2/inventories/{prod_id}/hosts/: {names:?}"),
    );
    // AWX recounts an inventory's hosts in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, prod_now) = admin.get(&url_of(&prod)).await;
        if prod_now["total_hosts"] == 3 {
            break;
        }
        if Instant::now() > deadline {
            c.that(
                false,
                format!(
                    "inventory total_hosts after 3 hosts: {}",
                    prod_now["total_hosts"]
                ),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Groups.
    admin
        .create(
            "/api/v2/groups/",
            json!({"name": "dbservers", "inventory": prod_id}),
        )
        .await;
    admin
        .create(
            "/api/v2/groups/",
            json!({"name": "webservers", "inventory": id_of(&staging)}),
        )
        .await;
    let webservers = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/groups/",
            type_name: "group",
            body: json!({"name": "webservers", "inventory": prod_id}),
            types: &[
                ("name", "string"),
                ("inventory", "id"),
                ("variables", "json"),
            ],
            required: Some("name"),
            patch: ("variables", json!("max_conns: 10\n")),
            bad: ("name", json!(["not", "a", "string"])),
            missing_fk: Some("inventory"),
            summary: &[("inventory", "prod")],
            named: Some("webservers++prod++Eng".into()),
            lists: vec![
                (
                    "inventory__name=prod&order_by=-name",
                    vec!["webservers", "dbservers"],
                ),
                ("name__icontains=WEB", vec!["webservers", "webservers"]),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;

    // Inventory sources: `scm` reads a project; AWX refuses a manual one.
    let manual = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "manual", "organization": eng_id, "scm_type": ""}),
        )
        .await;
    let response = admin
        .post(
            "/api/v2/inventory_sources/",
            json!({"name": "from-manual", "inventory": prod_id, "source": "scm",
                   "source_project": id_of(&manual), "source_path": "hosts"}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST an scm inventory source reading a manual project",
        response,
        "source_project",
        "Cannot use manual project for SCM-based inventory",
    )
    .await;
    let git = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "site-git", "organization": eng_id, "scm_type": "git",
               "scm_url": "file:///nonexistent/site.git"}),
        )
        .await;
    admin
        .create(
            "/api/v2/inventory_sources/",
            json!({"name": "ec2-east", "inventory": prod_id, "source": "ec2"}),
        )
        .await;
    let source = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/inventory_sources/",
            type_name: "inventory_source",
            body: json!({"name": "from-git", "inventory": prod_id, "source": "scm",
                         "source_project": id_of(&git), "source_path": "inventory/hosts"}),
            types: &[
                ("name", "string"),
                ("source", "choice"),
                ("source_project", "id"),
                ("verbosity", "choice"),
                ("source_vars", "json"),
            ],
            required: Some("source"),
            patch: ("overwrite", json!(true)),
            bad: ("source", json!("bogus")),
            missing_fk: Some("source_project"),
            summary: &[("inventory", "prod"), ("source_project", "site-git")],
            shows: vec![("/verbosity", json!(1))],
            named: Some("from-git++prod++Eng".into()),
            lists: vec![
                (
                    "inventory__name=prod&order_by=-name",
                    vec!["from-git", "ec2-east"],
                ),
                ("name__icontains=GIT", vec!["from-git"]),
                ("source=ec2", vec!["ec2-east"]),
            ],
            activity: true,
        },
    )
    .await;
    let response = admin
        .post(
            "/api/v2/inventory_sources/",
            json!({"name": "loud", "inventory": prod_id, "source": "ec2", "verbosity": 3}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST an inventory source with verbosity 3",
        response,
        "verbosity",
        "",
    )
    .await;
    let sources = list_names(
        &mut c,
        &admin,
        &format!("/api/v2/inventories/{prod_id}/inventory_sources/?order_by=name"),
    )
    .await;
    c.that(
        sources == ["ec2-east", "from-git"],
        format!("GET /api/v2/inventories/{prod_id}/inventory_sources/: {sources:?}"),
    );

    check_delete(&mut c, &admin, &url_of(&source), 204).await;
    check_delete(&mut c, &admin, &url_of(&webservers), 204).await;
    check_delete(&mut c, &admin, &url_of(&web1), 204).await;
    // The counters on the row follow every create and delete.
    let (_, prod_now) = admin.get(&url_of(&prod)).await;
    for (counter, list) in [
        ("total_hosts", "hosts"),
        ("total_groups", "groups"),
        ("total_inventory_sources", "inventory_sources"),
    ] {
        let (_, members) = admin
            .get(&format!("/api/v2/inventories/{prod_id}/{list}/"))
            .await;
        c.that(
            prod_now[counter] == members["count"],
            format!(
                "{counter} {} against {list} {}",
                prod_now[counter], members["count"]
            ),
        );
    }
    c.that(
        prod_now["has_inventory_sources"] == json!(prod_now["total_inventory_sources"] != 0),
        format!("has_inventory_sources: {prod_now}"),
    );
    // AWX deletes inventories in the background: 202.
    check_delete(&mut c, &admin, &url_of(&prod), 202).await;
    c.finish();
}

#[tokio::test]
async fn template_resources() {
    let node = Node::start().await;
    let admin = node.admin();
    let mut c = Checks::default();
    let eng_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Eng"}))
            .await,
    );
    let other_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Other"}))
            .await,
    );
    project_dir(&node, "site");

    // Projects (manual).
    admin
        .create(
            "/api/v2/projects/",
            json!({"name": "site-two", "organization": eng_id, "scm_type": ""}),
        )
        .await;
    let other_site = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "site", "organization": other_id, "scm_type": "", "local_path": "site"}),
        )
        .await;
    let site = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/projects/",
            type_name: "project",
            body: json!({"name": "site", "organization": eng_id, "scm_type": "", "local_path": "site"}),
            types: &[
                ("name", "string"),
                ("scm_type", "choice"),
                ("organization", "id"),
                ("scm_update_on_launch", "boolean"),
            ],
            required: Some("name"),
            patch: ("description", json!("the site")),
            bad: ("scm_type", json!("cvs")),
            missing_fk: Some("organization"),
            summary: &[("organization", "Eng")],
            named: Some("site++Eng".into()),
            lists: vec![
                ("name__icontains=SITE&order_by=-name", vec!["site-two", "site", "site"]),
                ("organization__name=Eng&order_by=-name", vec!["site-two", "site"]),
            ],
            activity: true,
            ..Spec::default()
        },
    )
    .await;
    let site_id = id_of(&site);
    let response = admin
        .post(
            "/api/v2/projects/",
            json!({"name": "eager", "organization": eng_id, "scm_type": "", "scm_update_on_launch": true}),
        )
        .await;
    refused(
        &mut c,
        &admin,
        "POST a manual project that updates on launch",
        response,
        "scm_update_on_launch",
        "",
    )
    .await;
    let (status, playbooks) = admin
        .get(&format!("/api/v2/projects/{site_id}/playbooks/"))
        .await;
    c.that(
        status == 200 && playbooks == json!(["site.yml"]),
        format!("GET /api/v2/projects/{site_id}/playbooks/: {status} {playbooks}"),
    );

    // Labels.
    admin
        .create(
            "/api/v2/labels/",
            json!({"name": "blue", "organization": eng_id}),
        )
        .await;
    admin
        .create(
            "/api/v2/labels/",
            json!({"name": "prod", "organization": other_id}),
        )
        .await;
    let label = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/labels/",
            type_name: "label",
            body: json!({"name": "prod", "organization": eng_id}),
            types: &[("name", "string"), ("organization", "id")],
            required: Some("organization"),
            patch: ("name", json!("production")),
            bad: ("name", json!({"a": 1})),
            missing_fk: Some("organization"),
            summary: &[("organization", "Eng")],
            named: Some("prod++Eng".into()),
            lists: vec![
                (
                    "organization__name=Eng&order_by=-name",
                    vec!["prod", "blue"],
                ),
                ("name__icontains=PRO&order_by=name", vec!["prod", "prod"]),
            ],
            ..Spec::default()
        },
    )
    .await;

    // Job templates.
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": eng_id}),
        )
        .await;
    let inventory_id = id_of(&inventory);
    let other_inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": other_id}),
        )
        .await;
    admin.create("/api/v2/job_templates/",
        json!({"name": "deploy-db", "project": site_id, "inventory": inventory_id, "playbook": "site.yml"}),
    )
    .await;
    admin.create("/api/v2/job_templates/",
        json!({"name": "deploy", "project": id_of(&other_site), "inventory": id_of(&other_inventory),
               "playbook": "site.yml"}),
    )
    .await;
    let deploy = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/job_templates/",
            type_name: "job_template",
            body: json!({"name": "deploy", "project": site_id, "inventory": inventory_id,
                         "playbook": "site.yml", "extra_vars": "---\nversion: 2\n"}),
            types: &[
                ("name", "string"),
                ("project", "id"),
                ("inventory", "id"),
                ("job_type", "choice"),
                ("verbosity", "choice"),
                ("forks", "integer"),
                ("extra_vars", "json"),
                ("ask_limit_on_launch", "boolean"),
            ],
            required: Some("name"),
            patch: ("limit", json!("web1")),
            bad: ("job_type", json!("scan")),
            missing_fk: Some("inventory"),
            summary: &[
                ("project", "site"),
                ("inventory", "prod"),
                ("organization", "Eng"),
            ],
            shows: vec![
                ("/job_type", json!("run")),
                ("/verbosity", json!(0)),
                ("/job_slice_count", json!(1)),
                ("/summary_fields/project/scm_type", json!("")),
                ("/summary_fields/inventory/organization_id", json!(eng_id)),
            ],
            named: Some("deploy++Eng".into()),
            lists: vec![
                (
                    "name__icontains=DEPLOY&order_by=-name",
                    vec!["deploy-db", "deploy", "deploy"],
                ),
                (
                    "organization__name=Eng&order_by=-name",
                    vec!["deploy-db", "deploy"],
                ),
                ("project__organization__name=Other", vec!["deploy"]),
            ],
            activity: true,
        },
    )
    .await;
    for (body, field, what) in [
        (
            json!({"name": "np", "inventory": inventory_id, "playbook": "site.yml"}),
            "project",
            "without a project",
        ),
        (
            json!({"name": "ni", "project": site_id, "playbook": "site.yml"}),
            "inventory",
            "without an inventory or a prompt",
        ),
        (
            json!({"name": "nb", "project": site_id, "inventory": inventory_id}),
            "playbook",
            "without a playbook",
        ),
        (
            json!({"name": "wp", "project": site_id, "inventory": inventory_id, "playbook": "nope.yml"}),
            "playbook",
            "with a playbook the project lacks",
        ),
        (
            json!({"name": "vb", "project": site_id, "inventory": inventory_id, "playbook": "site.yml", "verbosity": 9}),
            "verbosity",
            "with verbosity 9",
        ),
    ] {
        let response = admin.post("/api/v2/job_templates/", body).await;
        refused(
            &mut c,
            &admin,
            format!("POST a job template {what}"),
            response,
            field,
            "",
        )
        .await;
    }
    let (status, prompted) = admin
        .post(
            "/api/v2/job_templates/",
            json!({"name": "ask", "project": site_id, "ask_inventory_on_launch": true,
                   "playbook": "site.yml"}),
        )
        .await;
    c.status(
        "POST a job template prompting for its inventory",
        status,
        201,
        &prompted,
    );

    // Workflow job templates.
    admin
        .create(
            "/api/v2/workflow_job_templates/",
            json!({"name": "release-hotfix", "organization": eng_id}),
        )
        .await;
    admin
        .create(
            "/api/v2/workflow_job_templates/",
            json!({"name": "release", "organization": other_id}),
        )
        .await;
    let release = check_resource(
        &mut c,
        &admin,
        &Spec {
            list: "/api/v2/workflow_job_templates/",
            type_name: "workflow_job_template",
            body: json!({"name": "release", "organization": eng_id, "inventory": inventory_id,
                         "extra_vars": "---\nchannel: stable\n"}),
            types: &[
                ("name", "string"),
                ("organization", "id"),
                ("inventory", "id"),
                ("extra_vars", "json"),
                ("webhook_service", "choice"),
            ],
            required: Some("name"),
            patch: ("allow_simultaneous", json!(true)),
            bad: ("webhook_service", json!("svn")),
            missing_fk: Some("inventory"),
            summary: &[("organization", "Eng"), ("inventory", "prod")],
            shows: vec![("/limit", Value::Null), ("/survey_enabled", json!(false))],
            named: Some("release++Eng".into()),
            lists: vec![
                (
                    "name__icontains=REL&order_by=-name",
                    vec!["release-hotfix", "release", "release"],
                ),
                (
                    "organization__name=Eng&order_by=-name",
                    vec!["release-hotfix", "release"],
                ),
            ],
            activity: true,
        },
    )
    .await;

    check_delete(&mut c, &admin, &url_of(&release), 204).await;
    check_delete(&mut c, &admin, &url_of(&deploy), 204).await;
    check_delete(&mut c, &admin, &url_of(&label), 204).await;
    check_delete(&mut c, &admin, &url_of(&site), 204).await;
    c.finish();
}

#[tokio::test]
async fn association_sublists() {
    let node = Node::start().await;
    let admin = node.admin();
    let mut c = Checks::default();
    let eng_id = id_of(
        &admin
            .create("/api/v2/organizations/", json!({"name": "Eng"}))
            .await,
    );
    let prod_id = id_of(
        &admin
            .create(
                "/api/v2/inventories/",
                json!({"name": "prod", "organization": eng_id}),
            )
            .await,
    );
    let staging_id = id_of(
        &admin
            .create(
                "/api/v2/inventories/",
                json!({"name": "staging", "organization": eng_id}),
            )
            .await,
    );
    let host = |name: &str, inventory: i64| {
        let admin = admin.clone();
        let body = json!({"name": name, "inventory": inventory});
        async move { id_of(&admin.create("/api/v2/hosts/", body).await) }
    };
    let group = |name: &str, inventory: i64| {
        let admin = admin.clone();
        let body = json!({"name": name, "inventory": inventory});
        async move { id_of(&admin.create("/api/v2/groups/", body).await) }
    };
    let web1 = host("web1", prod_id).await;
    let web2 = host("web2", prod_id).await;
    let elsewhere = host("elsewhere", staging_id).await;
    let (g1, g2, g3) = (
        group("g1", prod_id).await,
        group("g2", prod_id).await,
        group("g3", prod_id).await,
    );
    let foreign = group("foreign", staging_id).await;

    // Group hosts: attach, list both ways, detach.
    let g1_hosts = format!("/api/v2/groups/{g1}/hosts/");
    for h in [web1, web2] {
        let (status, body) = admin.post(&g1_hosts, json!({"id": h})).await;
        c.status(format!("POST {g1_hosts} id={h}"), status, 204, &body);
    }
    let (status, body) = admin.post(&g1_hosts, json!({"id": web1})).await;
    c.status(
        format!("POST {g1_hosts} id={web1} again"),
        status,
        204,
        &body,
    );
    let listed = list_ids(&mut c, &admin, &g1_hosts).await;
    c.that(
        listed.len() == 2 && listed.contains(&web1) && listed.contains(&web2),
        format!("GET {g1_hosts}: {listed:?}"),
    );
    let groups = list_ids(&mut c, &admin, &format!("/api/v2/hosts/{web1}/groups/")).await;
    c.that(
        groups == [g1],
        format!("GET /api/v2/hosts/{web1}/groups/: {groups:?}"),
    );
    let (status, body) = admin
        .post(&g1_hosts, json!({"id": web1, "disassociate": true}))
        .await;
    c.status(
        format!("POST {g1_hosts} disassociate {web1}"),
        status,
        204,
        &body,
    );
    let listed = list_ids(&mut c, &admin, &g1_hosts).await;
    c.that(
        listed == [web2],
        format!("GET {g1_hosts} after detaching: {listed:?}"),
    );
    let (status, _) = admin.get(&format!("/api/v2/hosts/{web1}/")).await;
    c.that(
        status == 200,
        "detaching a host from a group deleted the host",
    );
    let response = admin.post(&g1_hosts, json!({"id": elsewhere})).await;
    c.that(
        response.0 == 400,
        format!("POST {g1_hosts} a host of another inventory: {response:?}"),
    );
    let response = admin.post(&g1_hosts, json!({"id": "web1"})).await;
    c.that(
        response.0 == 400,
        format!("POST {g1_hosts} id=\"web1\": {response:?}"),
    );

    // Host fields, no id: created in the group's inventory and attached.
    let (status, location, created) = post_located(
        &admin,
        &g1_hosts,
        &json!({"name": "web3", "variables": "a: 1"}),
    )
    .await;
    c.status(format!("POST {g1_hosts} new host"), status, 201, &created);
    let web3 = created["id"].as_i64().unwrap_or_default();
    c.that(
        created["inventory"] == prod_id && created["type"] == "host",
        format!("POST {g1_hosts} new host: {created}"),
    );
    c.that(
        location.as_deref() == Some(format!("/api/v2/hosts/{web3}/").as_str()),
        format!("POST {g1_hosts} new host: Location {location:?}"),
    );
    let listed = list_ids(&mut c, &admin, &g1_hosts).await;
    c.that(
        listed.contains(&web3),
        format!("GET {g1_hosts}: {listed:?} lacks {web3}"),
    );
    let in_inventory = list_names(
        &mut c,
        &admin,
        &format!("/api/v2/inventories/{prod_id}/hosts/?name=web3"),
    )
    .await;
    c.that(
        in_inventory == ["web3"],
        format!("web3 not in its group's inventory: {in_inventory:?}"),
    );

    // Group children: same inventory, no cycles.
    let g1_children = format!("/api/v2/groups/{g1}/children/");
    let g2_children = format!("/api/v2/groups/{g2}/children/");
    let g3_children = format!("/api/v2/groups/{g3}/children/");
    let (status, body) = admin.post(&g1_children, json!({"id": g2})).await;
    c.status(format!("POST {g1_children} id={g2}"), status, 204, &body);
    let (status, body) = admin.post(&g2_children, json!({"id": g3})).await;
    c.status(format!("POST {g2_children} id={g3}"), status, 204, &body);
    let listed = list_ids(&mut c, &admin, &g1_children).await;
    c.that(listed == [g2], format!("GET {g1_children}: {listed:?}"));
    let response = admin.post(&g3_children, json!({"id": g1})).await;
    c.that(
        response.0 == 400,
        format!("POST {g3_children} id={g1} closes a cycle: {response:?}"),
    );
    let response = admin.post(&g1_children, json!({"id": g1})).await;
    c.that(
        response.0 == 400,
        format!("POST {g1_children} id={g1} (itself): {response:?}"),
    );
    let response = admin.post(&g1_children, json!({"id": foreign})).await;
    c.that(
        response.0 == 400,
        format!("POST {g1_children} a group of another inventory: {response:?}"),
    );
    let listed = list_ids(&mut c, &admin, &g3_children).await;
    c.that(listed.is_empty(), format!("GET {g3_children}: {listed:?}"));
    let (status, body) = admin
        .post(&g2_children, json!({"id": g3, "disassociate": true}))
        .await;
    c.status(
        format!("POST {g2_children} disassociate {g3}"),
        status,
        204,
        &body,
    );
    let listed = list_ids(&mut c, &admin, &g2_children).await;
    c.that(listed.is_empty(), format!("GET {g2_children}: {listed:?}"));
    check_activity(
        &mut c,
        &admin,
        &format!("/api/v2/groups/{g1}/"),
        "group",
        &["create", "associate", "disassociate"],
    )
    .await;

    // Job template credentials and labels.
    project_dir(&node, "site");
    let site = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "site", "organization": eng_id, "scm_type": "", "local_path": "site"}),
        )
        .await;
    let jt = admin.create("/api/v2/job_templates/",
        json!({"name": "deploy", "project": id_of(&site), "inventory": prod_id, "playbook": "site.yml"}),
    )
    .await;
    let jt_id = id_of(&jt);
    let machine = credential_type(&admin, "Machine").await;
    let ssh = id_of(
        &admin
            .create(
                "/api/v2/credentials/",
                json!({"name": "ssh", "organization": eng_id, "credential_type": machine,
                   "inputs": {"username": "deploy"}}),
            )
            .await,
    );
    let ssh2 = id_of(
        &admin
            .create(
                "/api/v2/credentials/",
                json!({"name": "ssh2", "organization": eng_id, "credential_type": machine,
                   "inputs": {"username": "root"}}),
            )
            .await,
    );
    let jt_credentials = format!("/api/v2/job_templates/{jt_id}/credentials/");
    let (status, body) = admin
        .post(&jt_credentials, json!({"id": ssh, "associate": true}))
        .await;
    c.status(
        format!("POST {jt_credentials} id={ssh}"),
        status,
        204,
        &body,
    );
    let listed = list_ids(&mut c, &admin, &jt_credentials).await;
    c.that(listed == [ssh], format!("GET {jt_credentials}: {listed:?}"));
    let (_, jt_now) = admin.get(&url_of(&jt)).await;
    let summary_ids: Vec<i64> = jt_now["summary_fields"]["credentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    c.that(
        summary_ids == [ssh],
        format!(
            "GET job template: summary_fields.credentials {}",
            jt_now["summary_fields"]["credentials"]
        ),
    );
    let response = admin.post(&jt_credentials, json!({"id": ssh2})).await;
    c.that(
        response.0 == 400,
        format!("POST {jt_credentials} a second Machine credential: {response:?}"),
    );
    let (status, body) = admin
        .post(&jt_credentials, json!({"id": ssh, "disassociate": true}))
        .await;
    c.status(
        format!("POST {jt_credentials} disassociate"),
        status,
        204,
        &body,
    );
    let listed = list_ids(&mut c, &admin, &jt_credentials).await;
    c.that(
        listed.is_empty(),
        format!("GET {jt_credentials}: {listed:?}"),
    );
    let (status, _) = admin.get(&format!("/api/v2/credentials/{ssh}/")).await;
    c.that(status == 200, "detaching a credential deleted it");

    let blue = id_of(
        &admin
            .create(
                "/api/v2/labels/",
                json!({"name": "blue", "organization": eng_id}),
            )
            .await,
    );
    let jt_labels = format!("/api/v2/job_templates/{jt_id}/labels/");
    let (status, body) = admin.post(&jt_labels, json!({"id": blue})).await;
    c.status(format!("POST {jt_labels} id={blue}"), status, 204, &body);
    let (status, created) = admin
        .post(&jt_labels, json!({"name": "green", "organization": eng_id}))
        .await;
    c.status(format!("POST {jt_labels} new label"), status, 201, &created);
    let labels = list_names(&mut c, &admin, &format!("{jt_labels}?order_by=name")).await;
    c.that(
        labels == ["blue", "green"],
        format!("GET {jt_labels}: {labels:?}"),
    );
    let (_, jt_now) = admin.get(&url_of(&jt)).await;
    let summary_labels: Vec<&str> = jt_now["summary_fields"]["labels"]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str())
        .collect();
    c.that(
        summary_labels.len() == 2 && summary_labels.contains(&"blue"),
        format!(
            "GET job template: summary_fields.labels {}",
            jt_now["summary_fields"]["labels"]
        ),
    );
    check_activity(
        &mut c,
        &admin,
        &url_of(&jt),
        "job_template",
        &["create", "associate", "disassociate"],
    )
    .await;

    // Organization users: created there, then members.
    let org_users = format!("/api/v2/organizations/{eng_id}/users/");
    let (status, location, carol) = post_located(
        &admin,
        &org_users,
        &json!({"username": "carol", "password": "pw-carol-1", "email": "carol@example.com"}),
    )
    .await;
    c.status(format!("POST {org_users} new user"), status, 201, &carol);
    let carol_id = carol["id"].as_i64().unwrap_or_default();
    c.that(
        carol["type"] == "user"
            && location.as_deref() == Some(format!("/api/v2/users/{carol_id}/").as_str()),
        format!("POST {org_users} new user: Location {location:?}, {carol}"),
    );
    let members = list_names(&mut c, &admin, &org_users).await;
    c.that(
        members == ["carol"],
        format!("GET {org_users}: {members:?}"),
    );
    let orgs = list_names(&mut c, &admin, "/api/v2/users/carol/organizations/").await;
    c.that(
        orgs == ["Eng"],
        format!("GET /api/v2/users/carol/organizations/: {orgs:?}"),
    );
    let (status, _) = node
        .as_user("carol", "pw-carol-1")
        .get(&format!("/api/v2/organizations/{eng_id}/"))
        .await;
    c.that(
        status == 200,
        format!("a member cannot read her organization: {status}"),
    );
    let dave = node.user("dave", "pw-dave-1").await;
    let (status, body) = admin.post(&org_users, json!({"id": dave})).await;
    c.status(format!("POST {org_users} id={dave}"), status, 204, &body);
    let members = list_names(&mut c, &admin, &format!("{org_users}?order_by=username")).await;
    c.that(
        members == ["carol", "dave"],
        format!("GET {org_users}: {members:?}"),
    );
    let (status, body) = admin
        .post(&org_users, json!({"id": dave, "disassociate": true}))
        .await;
    c.status(
        format!("POST {org_users} disassociate {dave}"),
        status,
        204,
        &body,
    );
    let members = list_names(&mut c, &admin, &org_users).await;
    c.that(
        members == ["carol"],
        format!("GET {org_users} after detaching: {members:?}"),
    );
    let (status, _) = admin.get(&format!("/api/v2/users/{dave}/")).await;
    c.that(status == 200, "detaching a member deleted the user");

    // Team users.
    let team = admin
        .create(
            "/api/v2/teams/",
            json!({"name": "Dev", "organization": eng_id}),
        )
        .await;
    let team_users = format!("/api/v2/teams/{}/users/", id_of(&team));
    let (status, body) = admin.post(&team_users, json!({"id": carol_id})).await;
    c.status(
        format!("POST {team_users} id={carol_id}"),
        status,
        204,
        &body,
    );
    let members = list_names(&mut c, &admin, &team_users).await;
    c.that(
        members == ["carol"],
        format!("GET {team_users}: {members:?}"),
    );
    let teams = list_names(&mut c, &admin, &format!("/api/v2/users/{carol_id}/teams/")).await;
    c.that(
        teams == ["Dev"],
        format!("GET /api/v2/users/{carol_id}/teams/: {teams:?}"),
    );
    let members = list_names(&mut c, &admin, "/api/v2/teams/Dev++Eng/users/").await;
    c.that(
        members == ["carol"],
        format!("GET /api/v2/teams/Dev++Eng/users/: {members:?}"),
    );
    let (status, body) = admin
        .post(&team_users, json!({"id": carol_id, "disassociate": true}))
        .await;
    c.status(
        format!("POST {team_users} disassociate"),
        status,
        204,
        &body,
    );
    let members = list_names(&mut c, &admin, &team_users).await;
    c.that(
        members.is_empty(),
        format!("GET {team_users} after detaching: {members:?}"),
    );
    c.finish();
}
