//! Inventories beyond their declaration: smart inventories and their
//! `host_filter`, the inventory script, a host's groups and a group's hosts
//! through the whole tree, the dashboard, and a job on a smart inventory.

mod common;

use common::api::{Api, LOCAL_HOST_VARS, Node};
use reqwest::Method;
use serde_json::{Value, json};

fn id(object: &Value) -> i64 {
    object["id"].as_i64().expect("id")
}

async fn create(admin: &Api, path: &str, body: Value) -> i64 {
    id(&admin.create(path, body).await)
}

async fn host(admin: &Api, inventory: i64, name: &str, variables: &str) -> i64 {
    create(
        admin,
        "/api/v2/hosts/",
        json!({"name": name, "inventory": inventory, "variables": variables}),
    )
    .await
}

async fn attach(admin: &Api, path: &str, member: i64) {
    let (status, body) = admin.post(path, json!({"id": member})).await;
    assert_eq!(status, 204, "POST {path}: {body}");
}

async fn smart(admin: &Api, org: i64, name: &str, filter: &str) -> i64 {
    create(
        admin,
        "/api/v2/inventories/",
        json!({"name": name, "organization": org, "kind": "smart", "host_filter": filter}),
    )
    .await
}

/// The hosts a smart inventory lists, as `name@inventory`.
async fn members(admin: &Api, inventory: i64) -> Vec<String> {
    let path = format!("/api/v2/inventories/{inventory}/hosts/?page_size=200");
    let (status, body) = admin.get(&path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|h| {
            format!(
                "{}@{}",
                h["name"].as_str().unwrap_or_default(),
                h["inventory"]
            )
        })
        .collect()
}

/// Two organizations' inventories, with groups, variables and facts.
struct Fleet {
    org: i64,
    east: i64,
    west: i64,
}

async fn fleet(node: &Node, admin: &Api) -> Fleet {
    let org = create(admin, "/api/v2/organizations/", json!({"name": "Eng"})).await;
    let other = create(admin, "/api/v2/organizations/", json!({"name": "Ops"})).await;
    let east = create(
        admin,
        "/api/v2/inventories/",
        json!({"name": "east", "organization": org}),
    )
    .await;
    let west = create(
        admin,
        "/api/v2/inventories/",
        json!({"name": "west", "organization": org}),
    )
    .await;
    let elsewhere = create(
        admin,
        "/api/v2/inventories/",
        json!({"name": "elsewhere", "organization": other}),
    )
    .await;
    let web1 = host(admin, east, "web1", "").await;
    host(admin, east, "web2", "role: frontend\nport: 8080").await;
    let db1 = host(admin, east, "db1", "{\"role\": \"database\"}").await;
    host(admin, west, "web1", "").await;
    host(admin, west, "cache1", "").await;
    host(admin, elsewhere, "web9", "").await;
    let prod = create(
        admin,
        "/api/v2/groups/",
        json!({"name": "prod", "inventory": east}),
    )
    .await;
    attach(admin, &format!("/api/v2/groups/{prod}/hosts/"), web1).await;
    attach(admin, &format!("/api/v2/groups/{prod}/hosts/"), db1).await;
    // Facts are read-only in the API; a fact scan would write them.
    node.db
        .client()
        .await
        .execute(
            "UPDATE hosts SET ansible_facts = $1 WHERE id = $2",
            &[
                &json!({"ansible_distribution": "Ubuntu", "ansible_lsb": {"codename": "jammy"},
                        "ansible_processor": ["GenuineIntel", "Xeon"], "ansible_memtotal_mb": 2048}),
                &db1,
            ],
        )
        .await
        .expect("facts");
    Fleet { org, east, west }
}

#[tokio::test]
async fn smart_filters_select_exactly_the_matching_hosts() {
    let node = Node::start().await;
    let admin = node.admin();
    let Fleet { org, east, west } = fleet(&node, &admin).await;
    let cases: &[(&str, &[String])] = &[
        // One host per name (the oldest), never another organization's.
        (
            "name__icontains=WEB",
            &[format!("web1@{east}"), format!("web2@{east}")],
        ),
        (
            "groups__name=prod",
            &[format!("db1@{east}"), format!("web1@{east}")],
        ),
        ("variables__icontains=frontend", &[format!("web2@{east}")]),
        (
            "ansible_facts__ansible_distribution=Ubuntu",
            &[format!("db1@{east}")],
        ),
        (
            "ansible_facts__ansible_lsb__codename=jammy",
            &[format!("db1@{east}")],
        ),
        (
            "ansible_facts__ansible_processor[]=GenuineIntel",
            &[format!("db1@{east}")],
        ),
        (
            "ansible_facts__ansible_memtotal_mb=2048",
            &[format!("db1@{east}")],
        ),
        // Quoted, the number is text and the facts hold a number.
        ("ansible_facts__ansible_memtotal_mb=\"2048\"", &[]),
        (
            "(name=web2 or name=cache1) and not groups__name=prod",
            &[format!("cache1@{west}"), format!("web2@{east}")],
        ),
        (
            "name=\"web1\" and inventory__name=west",
            &[format!("web1@{west}")],
        ),
        ("search=cache", &[format!("cache1@{west}")]),
        ("name__in=db1,web9", &[format!("db1@{east}")]),
        ("name=nothing", &[]),
    ];
    for (filter, expected) in cases {
        let inventory = smart(&admin, org, filter, filter).await;
        assert_eq!(members(&admin, inventory).await, *expected, "{filter}");
    }
    // The host list previews a filter, across organizations (as AWX's does).
    assert_eq!(
        admin
            .names("/api/v2/hosts/?host_filter=name__startswith%3Dweb%20and%20not%20inventory%3D0&order_by=name")
            .await,
        vec!["web1", "web1", "web2", "web9"]
    );
    let (status, body) = admin.get("/api/v2/hosts/?host_filter=name%3D(").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("position 5")),
        "{body}"
    );
    // A new filter selects anew.
    let inventory = smart(&admin, org, "changing", "name=db1").await;
    let (status, body) = admin
        .patch(
            &format!("/api/v2/inventories/{inventory}/"),
            json!({"host_filter": "name__startswith=cache"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        members(&admin, inventory).await,
        vec![format!("cache1@{west}")]
    );
    // The list filters and pages as any other.
    let all = smart(&admin, org, "everything", "name__regex=.").await;
    let (_, page) = admin
        .get(&format!(
            "/api/v2/inventories/{all}/hosts/?name__startswith=w&page_size=1"
        ))
        .await;
    assert_eq!(page["count"], 2, "{page}");
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    // A regular inventory still lists its own hosts and creates them there.
    assert_eq!(
        admin
            .names(&format!("/api/v2/inventories/{west}/hosts/"))
            .await,
        vec!["cache1", "web1"]
    );
    let (status, created) = admin
        .post(
            &format!("/api/v2/inventories/{west}/hosts/"),
            json!({"name": "new1"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["inventory"], west);
    // A user who may read the smart inventory sees only the hosts of
    // inventories they may read.
    let user = node.user("reader", "reader-pw").await;
    for inventory in [all, east] {
        let (_, detail) = admin
            .get(&format!("/api/v2/inventories/{inventory}/"))
            .await;
        let role = detail["summary_fields"]["object_roles"]["read_role"]["id"]
            .as_i64()
            .expect("read role");
        attach(&admin, &format!("/api/v2/roles/{role}/users/"), user).await;
    }
    let reader = node.as_user("reader", "reader-pw");
    assert_eq!(
        members(&reader, all).await,
        vec![
            format!("db1@{east}"),
            format!("web1@{east}"),
            format!("web2@{east}")
        ]
    );
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_position() {
    let node = Node::start().await;
    let admin = node.admin();
    let org = create(&admin, "/api/v2/organizations/", json!({"name": "Eng"})).await;
    let message = |body: &Value| {
        body["host_filter"][0]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let (status, body) = admin
        .post(
            "/api/v2/inventories/",
            json!({"name": "s", "organization": org, "kind": "smart", "host_filter": "name=web and (groups__name=x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("at position 13"), "{body}");
    let (status, body) = admin
        .post(
            "/api/v2/inventories/",
            json!({"name": "s", "organization": org, "kind": "smart", "host_filter": "ansible_facts__os__icontains=x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        message(&body).contains("ansible_facts does not support searching with __icontains"),
        "{body}"
    );
    let (status, body) = admin
        .post(
            "/api/v2/inventories/",
            json!({"name": "s", "organization": org, "kind": "smart", "host_filter": "bogus__name=x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("at position 0"), "{body}");

    let inventory = smart(&admin, org, "s", "name=a").await;
    let url = format!("/api/v2/inventories/{inventory}/");
    let (status, body) = admin
        .patch(&url, json!({"host_filter": "name=a and"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("at position 10"), "{body}");
    let (status, body) = admin
        .put(
            &url,
            json!({"name": "s", "organization": org, "kind": "smart", "host_filter": "id=abc"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("at position 3"), "{body}");
    assert!(message(&body).contains("expected an integer"), "{body}");
    // Nothing changed.
    let (_, detail) = admin.get(&url).await;
    assert_eq!(detail["host_filter"], "name=a");
}

#[tokio::test]
async fn the_script_is_the_document_awx_serves() {
    let node = Node::start().await;
    let admin = node.admin();
    let org = create(&admin, "/api/v2/organizations/", json!({"name": "Eng"})).await;
    let inventory = create(
        &admin,
        "/api/v2/inventories/",
        json!({"name": "east", "organization": org, "variables": "env: prod"}),
    )
    .await;
    let web1 = host(&admin, inventory, "web1", "port: 80").await;
    let web2 = host(&admin, inventory, "web2", "").await;
    let db1 = host(&admin, inventory, "db1", "").await;
    let off1 = create(
        &admin,
        "/api/v2/hosts/",
        json!({"name": "off1", "inventory": inventory, "enabled": false, "variables": "x: 1"}),
    )
    .await;
    let servers = create(
        &admin,
        "/api/v2/groups/",
        json!({"name": "servers", "inventory": inventory, "variables": "tier: 1"}),
    )
    .await;
    let prod = create(
        &admin,
        "/api/v2/groups/",
        json!({"name": "prod", "inventory": inventory}),
    )
    .await;
    create(
        &admin,
        "/api/v2/groups/",
        json!({"name": "empty", "inventory": inventory}),
    )
    .await;
    attach(&admin, &format!("/api/v2/groups/{servers}/children/"), prod).await;
    attach(&admin, &format!("/api/v2/groups/{prod}/hosts/"), web1).await;
    attach(&admin, &format!("/api/v2/groups/{prod}/hosts/"), db1).await;
    attach(&admin, &format!("/api/v2/groups/{prod}/hosts/"), off1).await;
    let script = format!("/api/v2/inventories/{inventory}/script/");

    let (status, document) = admin.get(&script).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(
        document,
        json!({
            "all": {"vars": {"env": "prod"}, "hosts": ["web2"], "children": ["empty", "prod", "servers"]},
            "prod": {"hosts": ["db1", "web1"]},
            "servers": {"children": ["prod"], "vars": {"tier": 1}},
        })
    );

    let (_, document) = admin.get(&format!("{script}?hostvars=1")).await;
    assert_eq!(
        document["_meta"]["hostvars"],
        json!({"db1": {}, "web1": {"port": 80}, "web2": {}})
    );

    let (_, document) = admin
        .get(&format!("{script}?hostvars=1&towervars=1&all=1"))
        .await;
    assert_eq!(document["prod"]["hosts"], json!(["db1", "off1", "web1"]));
    assert_eq!(
        document["_meta"]["hostvars"]["off1"],
        json!({"x": 1, "remote_host_enabled": "false", "remote_host_id": off1,
               "remote_tower_enabled": "false", "remote_tower_id": off1})
    );
    assert_eq!(
        document["_meta"]["hostvars"]["web2"]["remote_tower_id"],
        web2
    );

    let (status, vars) = admin.get(&format!("{script}?host=web1")).await;
    assert_eq!((status.as_u16(), vars), (200, json!({"port": 80})));
    assert_eq!(admin.get(&format!("{script}?host=off1")).await.0, 404);
    assert_eq!(
        admin.get(&format!("{script}?host=off1&all=1")).await.1,
        json!({"x": 1})
    );

    // Slices take every other host by name: db1, web2 | web1.
    let (_, first) = admin
        .get(&format!("{script}?hostvars=1&subset=slice1of2"))
        .await;
    let mut names: Vec<&String> = first["_meta"]["hostvars"]
        .as_object()
        .expect("hostvars")
        .keys()
        .collect();
    names.sort();
    assert_eq!(names, ["db1", "web2"]);
    let (status, body) = admin.get(&format!("{script}?subset=slice3of2")).await;
    assert_eq!(status, 400, "{body}");

    // A smart inventory's hosts are all under `all`, with no groups.
    let smart_id = smart(&admin, org, "s", "groups__name=prod").await;
    let (_, document) = admin
        .get(&format!(
            "/api/v2/inventories/{smart_id}/script/?hostvars=1&towervars=1"
        ))
        .await;
    assert_eq!(document["all"], json!({"hosts": ["db1", "web1"]}));
    assert_eq!(
        document["_meta"]["hostvars"]["web1"]["remote_tower_id"],
        web1
    );
    assert_eq!(document.as_object().map(|o| o.len()), Some(2), "{document}");

    // Readers of the inventory only.
    node.user("nobody", "nobody-pw").await;
    let nobody = node.as_user("nobody", "nobody-pw");
    assert_eq!(nobody.get(&script).await.0, 404);
}

#[tokio::test]
async fn groups_and_hosts_through_the_tree() {
    let node = Node::start().await;
    let admin = node.admin();
    let org = create(&admin, "/api/v2/organizations/", json!({"name": "Eng"})).await;
    let inventory = create(
        &admin,
        "/api/v2/inventories/",
        json!({"name": "east", "organization": org}),
    )
    .await;
    let web1 = host(&admin, inventory, "web1", "").await;
    let web2 = host(&admin, inventory, "web2", "").await;
    let db1 = host(&admin, inventory, "db1", "").await;
    let lonely = host(&admin, inventory, "lonely", "").await;
    let group = |name: &'static str| {
        let admin = admin.clone();
        async move {
            create(
                &admin,
                "/api/v2/groups/",
                json!({"name": name, "inventory": inventory}),
            )
            .await
        }
    };
    let servers = group("servers").await;
    let prod = group("prod").await;
    let staging = group("staging").await;
    let dbs = group("dbs").await;
    let orphan = group("orphan").await;
    attach(&admin, &format!("/api/v2/groups/{servers}/children/"), prod).await;
    attach(
        &admin,
        &format!("/api/v2/groups/{servers}/children/"),
        staging,
    )
    .await;
    attach(&admin, &format!("/api/v2/groups/{prod}/children/"), dbs).await;
    attach(&admin, &format!("/api/v2/groups/{prod}/hosts/"), web1).await;
    attach(&admin, &format!("/api/v2/groups/{dbs}/hosts/"), db1).await;
    attach(&admin, &format!("/api/v2/groups/{staging}/hosts/"), web2).await;
    attach(&admin, &format!("/api/v2/groups/{staging}/hosts/"), db1).await;

    assert_eq!(
        admin
            .names(&format!("/api/v2/hosts/{db1}/all_groups/"))
            .await,
        vec!["dbs", "prod", "servers", "staging"]
    );
    assert_eq!(
        admin
            .names(&format!("/api/v2/hosts/{web1}/all_groups/"))
            .await,
        vec!["prod", "servers"]
    );
    assert!(
        admin
            .names(&format!("/api/v2/hosts/{lonely}/all_groups/"))
            .await
            .is_empty()
    );
    assert_eq!(
        admin
            .names(&format!("/api/v2/groups/{servers}/all_hosts/"))
            .await,
        vec!["db1", "web1", "web2"]
    );
    assert_eq!(
        admin
            .names(&format!(
                "/api/v2/groups/{prod}/all_hosts/?name__startswith=d"
            ))
            .await,
        vec!["db1"]
    );
    assert_eq!(
        admin
            .post(
                &format!("/api/v2/groups/{prod}/all_hosts/"),
                json!({"id": lonely})
            )
            .await
            .0,
        405
    );

    let (status, tree) = admin
        .get(&format!("/api/v2/inventories/{inventory}/tree/"))
        .await;
    assert_eq!(status, 200, "{tree}");
    fn shape(groups: &Value) -> Value {
        Value::Array(
            groups
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| json!([g["name"], shape(&g["children"])]))
                .collect(),
        )
    }
    assert_eq!(
        shape(&tree),
        json!([
            ["orphan", []],
            ["servers", [["prod", [["dbs", []]]], ["staging", []]]],
        ])
    );
    assert_eq!(tree[0]["id"], orphan);
    assert_eq!(tree[0]["type"], "group");
    assert_eq!(tree[0]["url"], format!("/api/v2/groups/{orphan}/"));
    assert_eq!(tree[1]["inventory"], inventory);
}

#[tokio::test]
async fn the_dashboard_counts_what_the_caller_sees() {
    let node = Node::start().await;
    let admin = node.admin();
    let Fleet { east, .. } = fleet(&node, &admin).await;
    let user = node.user("reader", "reader-pw").await;

    let response = admin
        .request(Method::GET, "/api/v2/dashboard/")
        .send()
        .await
        .expect("dashboard");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("Warning")
            .and_then(|w| w.to_str().ok())
            .is_some_and(|w| w.contains("deprecated"))
    );
    let board: Value = response.json().await.expect("json");
    assert_eq!(board["inventories"]["total"], 3, "{board}");
    assert_eq!(board["inventories"]["url"], "/api/v2/inventories/");
    assert_eq!(board["inventories"]["job_failed"], 0);
    assert_eq!(board["inventories"]["inventory_failed"], 0);
    assert_eq!(board["hosts"]["total"], 6);
    assert_eq!(board["hosts"]["failed"], 0);
    assert_eq!(board["groups"]["total"], 1);
    assert_eq!(board["organizations"]["total"], 2);
    assert_eq!(board["users"]["total"], 2);
    assert_eq!(board["projects"]["total"], 0);
    assert_eq!(board["scm_types"]["git"]["total"], 0);
    assert_eq!(board["inventory_sources"]["ec2"]["total"], 0);
    assert_eq!(board["job_templates"]["total"], 0);
    assert_eq!(board["credentials"]["total"], 0);
    assert_eq!(board["teams"]["total"], 0);
    assert_eq!(
        board["related"]["jobs_graph"],
        "/api/v2/dashboard/graphs/jobs/"
    );

    let (_, detail) = admin.get(&format!("/api/v2/inventories/{east}/")).await;
    let role = detail["summary_fields"]["object_roles"]["read_role"]["id"]
        .as_i64()
        .expect("read role");
    attach(&admin, &format!("/api/v2/roles/{role}/users/"), user).await;
    let reader = node.as_user("reader", "reader-pw");
    let (status, board) = reader.get("/api/v2/dashboard/").await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["inventories"]["total"], 1, "{board}");
    assert_eq!(board["hosts"]["total"], 3);
    assert_eq!(board["groups"]["total"], 1);
    assert_eq!(board["organizations"]["total"], 0);

    let (status, graph) = reader
        .get("/api/v2/dashboard/graphs/jobs/?period=week")
        .await;
    assert_eq!(status, 200, "{graph}");
    let days = graph["jobs"]["successful"].as_array().expect("series");
    assert!((7..=8).contains(&days.len()), "{graph}");
    assert!(days.iter().all(|d| d[1] == 0));
    assert_eq!(
        reader
            .get("/api/v2/dashboard/graphs/jobs/?period=decade")
            .await
            .0,
        400
    );
}

const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: say hello\n      debug: msg=hello-smart\n";

#[tokio::test]
async fn a_job_on_a_smart_inventory_runs_on_its_hosts_only() {
    let node = Node::start().await;
    let admin = node.admin();
    let dir = node.server.data_dir.path().join("projects/demo");
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("site.yml"), PLAYBOOK).expect("playbook");
    let org = create(&admin, "/api/v2/organizations/", json!({"name": "Eng"})).await;
    let project = create(
        &admin,
        "/api/v2/projects/",
        json!({"name": "demo", "organization": org, "scm_type": "", "local_path": "demo"}),
    )
    .await;
    let fleet = create(
        &admin,
        "/api/v2/inventories/",
        json!({"name": "fleet", "organization": org}),
    )
    .await;
    let more = create(
        &admin,
        "/api/v2/inventories/",
        json!({"name": "more", "organization": org}),
    )
    .await;
    let local_a = host(&admin, fleet, "local-a", LOCAL_HOST_VARS).await;
    let local_b = host(&admin, more, "local-b", LOCAL_HOST_VARS).await;
    host(&admin, fleet, "other-c", LOCAL_HOST_VARS).await;
    create(
        &admin,
        "/api/v2/hosts/",
        json!({"name": "local-off", "inventory": fleet, "enabled": false, "variables": LOCAL_HOST_VARS}),
    )
    .await;
    let smart_id = smart(&admin, org, "locals", "name__startswith=local").await;
    let template = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "hello", "project": project, "inventory": smart_id, "playbook": "site.yml"}),
        )
        .await;
    let (status, launched) = admin
        .post(
            &format!("{}launch/", template["url"].as_str().expect("url")),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{launched}");
    let url = launched["url"].as_str().expect("url").to_string();
    let job = admin.finished(&url).await;
    assert_eq!(job["status"], "successful", "{job}");
    assert_eq!(job["inventory"], smart_id);

    let (_, summaries) = admin
        .get(&format!("{url}job_host_summaries/?order_by=host_name"))
        .await;
    let hosts: Vec<&str> = summaries["results"]
        .as_array()
        .expect("summaries")
        .iter()
        .filter_map(|s| s["host_name"].as_str())
        .collect();
    assert_eq!(hosts, ["local-a", "local-b"], "{summaries}");
    let (_, events) = admin
        .get(&format!(
            "{url}job_events/?event=runner_on_ok&order_by=host_name"
        ))
        .await;
    let ran: Vec<(String, i64)> = events["results"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["host_name"].as_str().unwrap_or_default().to_string(),
                e["host"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ran,
        vec![
            ("local-a".to_string(), local_a),
            ("local-b".to_string(), local_b)
        ]
    );
    let stdout = admin.text(&format!("{url}stdout/?format=txt")).await;
    assert!(stdout.contains("hello-smart"), "{stdout}");
    assert!(!stdout.contains("other-c") && !stdout.contains("local-off"));

    // A job on the regular inventory shows among each host's recent jobs.
    let plain = admin
        .create(
            "/api/v2/job_templates/",
            json!({"name": "plain", "project": project, "inventory": fleet, "playbook": "site.yml"}),
        )
        .await;
    let (_, launched) = admin
        .post(
            &format!("{}launch/", plain["url"].as_str().expect("url")),
            json!({}),
        )
        .await;
    let plain_job = admin.finished(launched["url"].as_str().expect("url")).await;
    assert_eq!(plain_job["status"], "successful", "{plain_job}");
    let (_, detail) = admin.get(&format!("/api/v2/hosts/{local_a}/")).await;
    assert_eq!(detail["last_job"], plain_job["id"], "{detail}");
    let db = rawx::store::connect(rawx::store::parse_url(&node.db.url).expect("url"), 2)
        .await
        .expect("pool");
    let conn = db.get().await.expect("connection");
    let extras = rawx::inventory::host_summaries(&*conn, &[local_a])
        .await
        .expect("summaries");
    let recent = &extras[&local_a]["recent_jobs"];
    assert_eq!(recent[0]["id"], plain_job["id"], "{recent}");
    assert_eq!(recent[0]["name"], "plain");
    assert_eq!(recent[0]["type"], "job");
    assert_eq!(recent[0]["status"], "successful");
    assert!(recent[0]["finished"].is_string());
    assert_eq!(
        extras[&local_a]["groups"],
        json!({"count": 0, "results": []})
    );
}
