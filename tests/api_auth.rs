//! Authentication as AWX clients use it: tokens (the collection, `awx
//! login`), session login with CSRF (the `awx` CLI), Basic.

mod common;

use common::api::{ADMIN_PASSWORD, Node};
use serde_json::json;

#[tokio::test]
async fn tokens_authenticate_and_respect_scope() {
    let node = Node::start().await;
    node.user("alice", "alice-pw").await;
    let alice = node.as_user("alice", "alice-pw");

    // The collection's way in: Basic POST /tokens/, then Bearer.
    let (status, token) = alice
        .post(
            "/api/v2/tokens/",
            json!({"description": "Automation Platform Controller Module Token", "application": null, "scope": "write"}),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let secret = token["token"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 30);
    let token_url = token["url"].as_str().expect("url").to_string();
    let bearer = node.with_token(&secret);
    let (status, me) = bearer.get("/api/v2/me/").await;
    assert_eq!(status, 200);
    assert_eq!(me["results"][0]["username"], "alice");
    // Later reads never show the secret.
    let (_, shown) = bearer.get(&token_url).await;
    assert_eq!(shown["token"], "************");
    // The secret is stored hashed.
    let stored: i64 = node
        .db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM tokens WHERE token_hash = $1",
            &[&secret],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 0);

    // `awx login`: a personal token through the username's named URL.
    let (status, personal) = alice
        .post(
            "/api/v2/users/alice/personal_tokens/",
            json!({"description": "AWX CLI", "application": null, "scope": "read"}),
        )
        .await;
    assert_eq!(status, 201, "{personal}");
    let reader = node.with_token(personal["token"].as_str().expect("token"));
    assert_eq!(reader.get("/api/v2/me/").await.0, 200);
    // A read-scoped token cannot write.
    let (status, _) = reader.post("/api/v2/tokens/", json!({})).await;
    assert_eq!(status, 403);
    // Nobody mints tokens for someone else.
    let (status, _) = node
        .admin()
        .post("/api/v2/users/alice/personal_tokens/", json!({}))
        .await;
    assert_eq!(status, 403);

    // Deleted with Basic, as the collection does at exit; then refused.
    assert_eq!(alice.delete(&token_url).await.0, 204);
    let (status, body) = bearer.get("/api/v2/me/").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        node.with_token("not-a-token").get("/api/v2/me/").await.0,
        401
    );
}

#[tokio::test]
async fn session_login_follows_django_csrf() {
    let node = Node::start().await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = &node.server.base;
    // GET /api/ hands out the CSRF cookie (never Secure on plain http).
    let root = http.get(format!("{base}/api/")).send().await.expect("root");
    let set_cookie: Vec<String> = root
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let csrf_line = set_cookie
        .iter()
        .find(|c| c.starts_with("csrftoken="))
        .expect("csrftoken cookie");
    assert!(!csrf_line.contains("Secure"), "{csrf_line}");
    let csrf = csrf_line
        .trim_start_matches("csrftoken=")
        .split(';')
        .next()
        .expect("value")
        .to_string();

    // Without the token: refused.
    let refused = http
        .post(format!("{base}/api/login/"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/api/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), 403);
    // Wrong password: 401 with the form.
    let wrong = http
        .post(format!("{base}/api/login/"))
        .header("X-CSRFToken", &csrf)
        .form(&[
            ("username", "admin"),
            ("password", "nope"),
            ("next", "/api/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);
    // Right: 302 to next, the session cookie, its name in a header.
    let login = http
        .post(format!("{base}/api/login/"))
        .header("X-CSRFToken", &csrf)
        .header("Referer", format!("{base}/api/login/"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/api/v2/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 302);
    assert_eq!(login.headers()["location"], "/api/v2/");
    assert_eq!(
        login.headers()["x-api-session-cookie-name"],
        "awx_sessionid"
    );

    let me = http
        .get(format!("{base}/api/v2/me/"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    // Unsafe methods need the CSRF header on a session.
    let no_csrf = http
        .post(format!("{base}/api/v2/organizations/"))
        .json(&json!({"name": "S"}))
        .send()
        .await
        .expect("post");
    assert_eq!(no_csrf.status(), 403);
    let with_csrf = http
        .post(format!("{base}/api/v2/organizations/"))
        .header("X-CSRFToken", &csrf)
        .json(&json!({"name": "S"}))
        .send()
        .await
        .expect("post");
    assert_eq!(with_csrf.status(), 201);

    let logout = http
        .get(format!("{base}/api/logout/"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 302);
    let after = http
        .get(format!("{base}/api/v2/me/"))
        .send()
        .await
        .expect("me");
    assert_eq!(after.status(), 401);
}

/// Basic credentials a node has verified are served from its cache without
/// a query; any change to the user empties it: through the API at once,
/// and from anywhere else (SQL here, as `rawx admin` or another node) when
/// the database's notice arrives.
#[tokio::test]
async fn cached_basic_credentials_follow_every_change_to_the_user() {
    let node = Node::start().await;
    let admin = node.admin();
    let bob_id = node.user("bob", "pw-bob-1").await;
    let bob = node.as_user("bob", "pw-bob-1");
    for _ in 0..2 {
        let (status, me) = bob.get("/api/v2/me/").await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["results"][0]["is_superuser"], false);
    }

    // Through the API: the next request already sees the change.
    let (status, body) = admin
        .patch(
            &format!("/api/v2/users/{bob_id}/"),
            json!({"is_superuser": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, me) = bob.get("/api/v2/me/").await;
    assert_eq!(me["results"][0]["is_superuser"], true);
    let (status, body) = admin
        .patch(
            &format!("/api/v2/users/{bob_id}/"),
            json!({"password": "pw-bob-2"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(bob.get("/api/v2/me/").await.0, 401);
    let bob = node.as_user("bob", "pw-bob-2");
    assert_eq!(bob.get("/api/v2/me/").await.0, 200);
    assert_eq!(bob.get("/api/v2/me/").await.0, 200);

    // Behind the API's back: the notice empties the cache.
    let db = node.db.client().await;
    db.execute(
        "UPDATE users SET is_active = false WHERE id = $1",
        &[&bob_id],
    )
    .await
    .expect("deactivate");
    let mut refused = false;
    for _ in 0..250 {
        if bob.get("/api/v2/me/").await.0 == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "a deactivated user is still let in after 5 s");
}
