//! The RBAC matrix: for each role, which reads and writes succeed, which are
//! refused (403) and which are hidden (404, absent from lists).

mod common;

use common::api::{Api, Node};
use serde_json::{Value, json};

/// (user, GET Eng, PATCH Eng, GET project, PATCH project, GET host, PATCH host, GET Other)
type Expectation = (&'static str, u16, u16, u16, u16, u16, u16, u16);

#[tokio::test]
async fn roles_decide_reads_and_writes() {
    let node = Node::start().await;
    let admin = node.admin();
    let eng = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let other = admin
        .create("/api/v2/organizations/", json!({"name": "Other"}))
        .await;
    let (eng_id, other_id) = (
        eng["id"].as_i64().expect("id"),
        other["id"].as_i64().expect("id"),
    );
    let project = admin
        .create(
            "/api/v2/projects/",
            json!({"name": "site", "organization": eng_id, "scm_type": ""}),
        )
        .await;
    let project_url = project["url"].as_str().expect("url").to_string();
    let inventory = admin
        .create(
            "/api/v2/inventories/",
            json!({"name": "prod", "organization": eng_id}),
        )
        .await;
    let inventory_id = inventory["id"].as_i64().expect("id");
    let host = admin
        .create(
            "/api/v2/hosts/",
            json!({"name": "web1", "inventory": inventory_id}),
        )
        .await;
    let host_url = host["url"].as_str().expect("url").to_string();
    let team = admin
        .create(
            "/api/v2/teams/",
            json!({"name": "Dev", "organization": eng_id}),
        )
        .await;
    let team_url = team["url"].as_str().expect("url").to_string();
    admin
        .create(
            "/api/v2/projects/",
            json!({"name": "elsewhere", "organization": other_id, "scm_type": ""}),
        )
        .await;

    let eng_url = format!("/api/v2/organizations/{eng_id}/");
    let other_url = format!("/api/v2/organizations/{other_id}/");
    let names = [
        "org_admin",
        "member",
        "auditor",
        "proj_admin",
        "inv_user",
        "team_member",
        "outsider",
        "sys_auditor",
    ];
    let mut users = std::collections::HashMap::new();
    for name in names {
        users.insert(name, node.user(name, "pw").await);
    }
    admin
        .grant(
            users["org_admin"],
            admin.role_id(&eng_url, "admin_role").await,
        )
        .await;
    admin
        .grant(
            users["member"],
            admin.role_id(&eng_url, "member_role").await,
        )
        .await;
    admin
        .grant(
            users["auditor"],
            admin.role_id(&eng_url, "auditor_role").await,
        )
        .await;
    admin
        .grant(
            users["proj_admin"],
            admin.role_id(&project_url, "admin_role").await,
        )
        .await;
    admin
        .grant(
            users["inv_user"],
            admin
                .role_id(inventory["url"].as_str().expect("url"), "use_role")
                .await,
        )
        .await;
    admin
        .grant(
            users["team_member"],
            admin.role_id(&team_url, "member_role").await,
        )
        .await;
    // The team gets the project's use role; its members inherit it.
    let use_role = admin.role_id(&project_url, "use_role").await;
    let (status, body) = admin
        .post(&format!("{team_url}roles/"), json!({"id": use_role}))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = admin
        .patch(
            &format!("/api/v2/users/{}/", users["sys_auditor"]),
            json!({"is_system_auditor": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // (user, GET Eng, PATCH Eng, GET project, PATCH project, GET host, PATCH host, GET Other)
    let matrix: [Expectation; 8] = [
        ("org_admin", 200, 200, 200, 200, 200, 200, 404),
        ("member", 200, 403, 404, 404, 404, 404, 404),
        ("auditor", 200, 403, 200, 403, 200, 403, 404),
        ("proj_admin", 404, 404, 200, 200, 404, 404, 404),
        ("inv_user", 404, 404, 404, 404, 200, 403, 404),
        ("team_member", 404, 404, 200, 403, 404, 404, 404),
        ("outsider", 404, 404, 404, 404, 404, 404, 404),
        ("sys_auditor", 200, 403, 200, 403, 200, 403, 200),
    ];
    for (name, get_eng, patch_eng, get_project, patch_project, get_host, patch_host, get_other) in
        matrix
    {
        let api = node.as_user(name, "pw");
        let checks = [
            ("GET Eng", api.get(&eng_url).await.0, get_eng),
            (
                "PATCH Eng",
                api.patch(&eng_url, json!({"description": name})).await.0,
                patch_eng,
            ),
            ("GET project", api.get(&project_url).await.0, get_project),
            (
                "PATCH project",
                api.patch(&project_url, json!({"description": name}))
                    .await
                    .0,
                patch_project,
            ),
            ("GET host", api.get(&host_url).await.0, get_host),
            (
                "PATCH host",
                api.patch(&host_url, json!({"description": name})).await.0,
                patch_host,
            ),
            ("GET Other", api.get(&other_url).await.0, get_other),
        ];
        for (what, got, want) in checks {
            assert_eq!(got.as_u16(), want, "{name}: {what}");
        }
        // Lists show exactly what the detail shows.
        let projects = api.names("/api/v2/projects/").await;
        assert_eq!(
            projects.contains(&"site".to_string()),
            get_project == 200,
            "{name}: projects {projects:?}"
        );
        assert_eq!(
            projects.contains(&"elsewhere".to_string()),
            get_other == 200,
            "{name}: projects {projects:?}"
        );
    }

    // Creating needs the role AWX needs.
    let create_project = |api: Api| async move {
        api.post("/api/v2/projects/", json!({"name": format!("new-{}", rand_suffix()), "organization": eng_id, "scm_type": ""}))
            .await
            .0
            .as_u16()
    };
    assert_eq!(create_project(node.as_user("org_admin", "pw")).await, 201);
    assert_eq!(create_project(node.as_user("member", "pw")).await, 403);
    assert_eq!(create_project(node.as_user("sys_auditor", "pw")).await, 403);
    let (status, _) = node
        .as_user("org_admin", "pw")
        .post("/api/v2/organizations/", json!({"name": "Mine"}))
        .await;
    assert_eq!(status, 403, "only superusers create organizations");
    let (status, created) = node
        .as_user("org_admin", "pw")
        .post(
            "/api/v2/teams/",
            json!({"name": "Ops", "organization": eng_id}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["summary_fields"]["user_capabilities"]["edit"],
        Value::Bool(true)
    );

    // What each may do with an object shows in its user_capabilities:
    // a project starts for its admins (update) and not for a team member
    // who may only use it; an inventory runs ad hoc commands for the
    // organization's admin and not for a user of it.
    let caps = |user: &'static str, url: String| {
        let api = node.as_user(user, "pw");
        async move {
            let (status, body) = api.get(&url).await;
            assert_eq!(status, 200, "{user} GET {url}: {body}");
            body["summary_fields"]["user_capabilities"].clone()
        }
    };
    let project_caps = caps("proj_admin", project_url.clone()).await;
    assert_eq!(project_caps["start"], true, "{project_caps}");
    assert_eq!(project_caps["schedule"], true, "{project_caps}");
    let project_caps = caps("team_member", project_url.clone()).await;
    assert_eq!(project_caps["start"], false, "{project_caps}");
    assert_eq!(project_caps["edit"], false, "{project_caps}");
    let inventory_url = inventory["url"].as_str().expect("url").to_string();
    let inventory_caps = caps("org_admin", inventory_url.clone()).await;
    assert_eq!(inventory_caps["adhoc"], true, "{inventory_caps}");
    let inventory_caps = caps("inv_user", inventory_url).await;
    assert_eq!(inventory_caps["adhoc"], false, "{inventory_caps}");
    assert_eq!(inventory_caps.get("start"), None, "{inventory_caps}");

    // Granting needs admin of the role's object; users cannot make themselves superusers.
    let member = node.as_user("member", "pw");
    let admin_role = admin.role_id(&eng_url, "admin_role").await;
    let (status, _) = member
        .post(
            &format!("/api/v2/users/{}/roles/", users["member"]),
            json!({"id": admin_role}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = member
        .patch(
            &format!("/api/v2/users/{}/", users["member"]),
            json!({"is_superuser": true}),
        )
        .await;
    assert_eq!(status, 403);
    let org_admin = node.as_user("org_admin", "pw");
    let member_role = admin.role_id(&eng_url, "member_role").await;
    let (status, body) = org_admin
        .post(
            &format!("/api/v2/roles/{member_role}/users/"),
            json!({"id": users["outsider"]}),
        )
        .await;
    assert_eq!(status, 204, "an org admin adds members: {body}");
    assert_eq!(node.as_user("outsider", "pw").get(&eng_url).await.0, 200);
    let (status, _) = org_admin
        .post(
            &format!("/api/v2/roles/{member_role}/users/"),
            json!({"id": users["outsider"], "disassociate": true}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(node.as_user("outsider", "pw").get(&eng_url).await.0, 404);
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

#[tokio::test]
async fn organization_admins_manage_their_users_only() {
    let node = Node::start().await;
    let admin = node.admin();
    let eng = admin
        .create("/api/v2/organizations/", json!({"name": "Eng"}))
        .await;
    let ops = admin
        .create("/api/v2/organizations/", json!({"name": "Ops"}))
        .await;
    let boss = node.user("boss", "pw").await;
    admin
        .grant(
            boss,
            admin
                .role_id(eng["url"].as_str().expect("url"), "admin_role")
                .await,
        )
        .await;
    admin
        .grant(
            boss,
            admin
                .role_id(ops["url"].as_str().expect("url"), "member_role")
                .await,
        )
        .await;
    let boss = node.as_user("boss", "pw");
    let (status, body) = boss
        .post(
            &format!("/api/v2/organizations/{}/users/", eng["id"]),
            json!({"username": "newbie", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 201, "an org admin creates a member: {body}");
    assert_eq!(
        boss.names(&format!("/api/v2/organizations/{}/users/", eng["id"]))
            .await,
        ["newbie"]
    );
    let (status, _) = boss
        .post(
            &format!("/api/v2/organizations/{}/users/", ops["id"]),
            json!({"username": "sneaky", "password": "pw"}),
        )
        .await;
    assert_eq!(
        status, 403,
        "but not into an organization they only belong to"
    );
    assert_eq!(
        admin.get("/api/v2/users/?username=sneaky").await.1["count"],
        0
    );
    let (status, _) = boss
        .post(
            "/api/v2/users/",
            json!({"username": "x", "password": "pw", "is_superuser": true}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let node = Node::start().await;
    let big = "x".repeat(9 * 1024 * 1024);
    let response = node
        .admin()
        .request(reqwest::Method::POST, "/api/v2/organizations/")
        .header("Content-Type", "application/json")
        .body(format!("{{\"name\": \"{big}\"}}"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 413);
    assert_eq!(node.admin().names("/api/v2/organizations/").await.len(), 0);
}
