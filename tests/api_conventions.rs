//! AWX's conventions through one resource: create, read, list with filters
//! and ordering, update, delete, OPTIONS, named URLs, and bad input.

mod common;

use common::api::Node;
use serde_json::{Value, json};

#[tokio::test]
async fn organizations_follow_awx_conventions() {
    let node = Node::start().await;
    let admin = node.admin();

    // Create: 201, the full object, relative URLs, integer id.
    let web = admin
        .create(
            "/api/v2/organizations/",
            json!({"name": "Web", "description": "front"}),
        )
        .await;
    let id = web["id"].as_i64().expect("integer id");
    assert_eq!(web["type"], "organization");
    assert_eq!(web["url"], format!("/api/v2/organizations/{id}/"));
    assert_eq!(web["max_hosts"], 0);
    assert!(
        web["related"]["teams"]
            .as_str()
            .expect("link")
            .starts_with("/api/")
    );
    assert_eq!(web["summary_fields"]["created_by"]["username"], "admin");
    assert!(web["summary_fields"]["object_roles"]["admin_role"]["id"].is_i64());
    for name in ["Ops", "web-two", "Data"] {
        admin
            .create("/api/v2/organizations/", json!({"name": name}))
            .await;
    }

    // Duplicates and missing fields: 400 naming the field, nothing written.
    let (status, body) = admin
        .post("/api/v2/organizations/", json!({"name": "Web"}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["name"][0]
            .as_str()
            .expect("msg")
            .contains("already exists"),
        "{body}"
    );
    let (status, body) = admin
        .post("/api/v2/organizations/", json!({"description": "x"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["name"][0], "This field is required.");
    let (status, body) = admin
        .post(
            "/api/v2/organizations/",
            json!({"name": "X", "max_hosts": "lots"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["max_hosts"].is_array(), "{body}");
    assert_eq!(admin.names("/api/v2/organizations/?name=X").await.len(), 0);

    // Filters, or/not, search, ordering.
    assert_eq!(
        admin
            .names("/api/v2/organizations/?name__icontains=web&order_by=name")
            .await,
        ["Web", "web-two"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?name__startswith=W")
            .await,
        ["Web"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?or__name=Ops&or__name=Data&order_by=-name")
            .await,
        ["Ops", "Data"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?not__name__icontains=web&order_by=name")
            .await,
        ["Data", "Ops"]
    );
    assert_eq!(
        admin.names("/api/v2/organizations/?search=front").await,
        ["Web"]
    );
    assert_eq!(
        admin
            .names(&format!("/api/v2/organizations/?id__in={id},999"))
            .await,
        ["Web"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?created_by__username=admin&name=Ops")
            .await,
        ["Ops"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?description__isnull=false&name=Ops")
            .await,
        ["Ops"]
    );
    assert_eq!(
        admin
            .names("/api/v2/organizations/?name__regex=^[DO]&order_by=name")
            .await,
        ["Data", "Ops"]
    );
    for bad in [
        "/api/v2/organizations/?nosuchfield=1",
        "/api/v2/organizations/?id=abc",
        "/api/v2/organizations/?name__nosuchlookup=1",
        "/api/v2/organizations/?order_by=nosuchfield",
        "/api/v2/organizations/?name__regex=(",
        "/api/v2/organizations/?page_size=zero",
    ] {
        let (status, body) = admin.get(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["detail"].is_string(), "{bad}: {body}");
    }
    let (status, _) = admin.get("/api/v2/users/?password=x").await;
    assert_eq!(status, 403);

    // Pagination.
    let (_, page) = admin
        .get("/api/v2/organizations/?page_size=2&order_by=name")
        .await;
    assert_eq!(page["count"], 4);
    assert_eq!(page["results"].as_array().expect("results").len(), 2);
    assert!(page["next"].as_str().expect("next").contains("page=2"));
    assert_eq!(page["previous"], Value::Null);
    let (status, _) = admin.get("/api/v2/organizations/?page=9").await;
    assert_eq!(status, 404);

    // Detail by id and by named URL; 404 for what does not exist.
    let (status, by_name) = admin.get("/api/v2/organizations/Web/").await;
    assert_eq!(status, 200);
    assert_eq!(by_name["id"], id);
    assert_eq!(
        by_name["related"]["named_url"],
        "/api/v2/organizations/Web/"
    );
    assert_eq!(admin.get("/api/v2/organizations/999999/").await.0, 404);
    assert_eq!(admin.get("/api/v2/organizations/Nope/").await.0, 404);

    // PATCH changes one field; PUT needs the required ones.
    let (status, patched) = admin
        .patch(
            &format!("/api/v2/organizations/{id}/"),
            json!({"max_hosts": "5"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["max_hosts"], 5);
    assert_eq!(patched["description"], "front");
    let (status, body) = admin
        .put(
            &format!("/api/v2/organizations/{id}/"),
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, put) = admin
        .put(
            &format!("/api/v2/organizations/{id}/"),
            json!({"name": "Web", "description": "back"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(put["description"], "back");

    // OPTIONS: a list offers GET and POST only; a detail answers for any id.
    let (status, options) = admin.options("/api/v2/organizations/").await;
    assert_eq!(status, 200);
    let actions: Vec<&String> = options["actions"]
        .as_object()
        .expect("actions")
        .keys()
        .collect();
    assert_eq!(actions, ["GET", "POST"]);
    assert_eq!(options["actions"]["POST"]["name"]["required"], true);
    assert_eq!(options["actions"]["POST"]["name"]["type"], "string");
    assert_eq!(options["actions"]["POST"]["max_hosts"]["default"], 0);
    assert!(
        options["object_roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("admin_role"))
    );
    let response = admin
        .request(reqwest::Method::OPTIONS, "/api/v2/organizations/1/")
        .send()
        .await
        .expect("options");
    assert_eq!(response.status(), 200);
    let allow = response.headers()["allow"]
        .to_str()
        .expect("allow")
        .to_string();
    assert!(allow.contains("PUT") && allow.contains("DELETE"), "{allow}");

    // Bad bodies: malformed JSON, a non-object, a foreign media type.
    let bad_json = admin
        .send(
            admin
                .request(reqwest::Method::POST, "/api/v2/organizations/")
                .header("Content-Type", "application/json")
                .body("{\"name\": "),
        )
        .await;
    assert_eq!(bad_json.0, 400);
    assert!(
        bad_json.1["detail"]
            .as_str()
            .expect("detail")
            .contains("JSON parse error")
    );
    assert_eq!(
        admin.post("/api/v2/organizations/", json!(["Web"])).await.0,
        400
    );
    let xml = admin
        .send(
            admin
                .request(reqwest::Method::POST, "/api/v2/organizations/")
                .header("Content-Type", "application/xml")
                .body("<name/>"),
        )
        .await;
    assert_eq!(xml.0, 415);
    assert_eq!(
        admin
            .send(admin.request(reqwest::Method::DELETE, "/api/v2/organizations/"))
            .await
            .0,
        405
    );

    // Delete: 204, then gone; the activity stream saw all of it.
    assert_eq!(
        admin
            .delete(&format!("/api/v2/organizations/{id}/"))
            .await
            .0,
        204
    );
    assert_eq!(
        admin.get(&format!("/api/v2/organizations/{id}/")).await.0,
        404
    );
    let client = node.db.client().await;
    let operations: Vec<String> = client
        .query(
            "SELECT a.operation FROM activity_stream a JOIN activity_stream_objects o ON o.entry_id = a.id
              WHERE o.object_type = 'organization' AND o.object_id = $1 ORDER BY a.id",
            &[&id],
        )
        .await
        .expect("activity")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(operations, ["create", "update", "update", "delete"]);
}

#[tokio::test]
async fn every_list_survives_malformed_input() {
    let node = Node::start().await;
    let admin = node.admin();
    let (_, index) = node.anonymous().get("/api/v2/").await;
    let lists: Vec<String> = index
        .as_object()
        .expect("index")
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for list in lists {
        for query in [
            "?page=x",
            "?page_size=-1",
            "?order_by=%00",
            "?id__in=a,b",
            "?nosuch__field=1",
            "?name__gt=",
        ] {
            let (status, _) = admin.get(&format!("{list}{query}")).await;
            assert!(status.as_u16() < 500, "GET {list}{query} gave {status}");
        }
        let response = admin
            .request(reqwest::Method::POST, &list)
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .expect("post");
        assert!(
            response.status().as_u16() < 500,
            "POST {list} gave {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn a_new_cluster_gets_awx_preloaded_objects() {
    let node = Node::start_with(&[]).await;
    let admin = node.admin();
    assert_eq!(admin.names("/api/v2/organizations/").await, ["Default"]);
    let (_, inventory) = admin
        .get("/api/v2/inventories/Demo Inventory++Default/")
        .await;
    assert_eq!(inventory["name"], "Demo Inventory");
    let (_, hosts) = admin.get("/api/v2/hosts/?name=localhost").await;
    assert_eq!(hosts["count"], 1);
    assert!(
        hosts["results"][0]["variables"]
            .as_str()
            .expect("vars")
            .contains("ansible_playbook_python")
    );
    let (_, template) = admin
        .get("/api/v2/job_templates/?name=Demo Job Template")
        .await;
    let template = &template["results"][0];
    assert_eq!(template["playbook"], "hello_world.yml");
    assert_eq!(
        template["summary_fields"]["project"]["name"],
        "Demo Project"
    );
    assert_eq!(
        template["summary_fields"]["organization"]["name"],
        "Default"
    );
    let credentials = admin
        .names(&format!(
            "/api/v2/job_templates/{}/credentials/",
            template["id"]
        ))
        .await;
    assert_eq!(credentials, ["Demo Credential"]);
    assert_eq!(
        admin
            .names("/api/v2/organizations/Default/galaxy_credentials/")
            .await,
        ["Ansible Galaxy"]
    );
}

#[tokio::test]
async fn system_settings_read_by_category() {
    let node = Node::start().await;
    let admin = node.admin();
    let (status, categories) = admin.get("/api/v2/settings/").await;
    assert_eq!(status, 200);
    assert!(
        categories["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|c| c["slug"] == "jobs")
    );
    let (status, jobs) = admin.get("/api/v2/settings/jobs/").await;
    assert_eq!(status, 200);
    assert!(
        jobs["AD_HOC_COMMANDS"]
            .as_array()
            .expect("allow-list")
            .contains(&serde_json::json!("ping"))
    );
    assert_eq!(admin.get("/api/v2/settings/nope/").await.0, 404);
    node.user("plain", "pw").await;
    assert_eq!(
        node.as_user("plain", "pw")
            .get("/api/v2/settings/all/")
            .await
            .0,
        403
    );
}
