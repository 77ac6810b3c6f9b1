//! A node with a fresh database and an admin, and a small JSON client for it.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Server, TestDb, rawx, redis_url, run};

/// The admin's password in every API test.
pub const ADMIN_PASSWORD: &str = "admin-pw";

/// Host variables that run a host on this machine with the venv's Python.
pub const LOCAL_HOST_VARS: &str =
    "ansible_connection: local\nansible_python_interpreter: '{{ ansible_playbook_python }}'";

/// A running node on its own database, with user `admin`.
pub struct Node {
    pub server: Server,
    pub db: TestDb,
    pub http: reqwest::Client,
}

impl Node {
    /// Creates the database and the admin, starts the server (without the
    /// demo objects, so lists start empty), waits for it.
    pub async fn start() -> Node {
        Node::start_with(&[("RAWX_PRELOAD_DATA", "false")]).await
    }

    /// As `start`, with extra environment for the server.
    pub async fn start_with(env: &[(&str, &str)]) -> Node {
        let db = TestDb::create().await;
        let (status, _, err) = run(rawx()
            .args([
                "admin",
                "create",
                "--username",
                "admin",
                "--password",
                ADMIN_PASSWORD,
            ])
            .env("RAWX_DATABASE_URL", &db.url));
        assert!(status.success(), "admin create: {err}");
        let redis = redis_url();
        let mut all: Vec<(&str, &str)> =
            vec![("RAWX_DATABASE_URL", &db.url), ("RAWX_REDIS_URL", &redis)];
        all.extend_from_slice(env);
        let mut server = Server::start(&all);
        server.wait_ready(Duration::from_secs(60)).await;
        Node {
            server,
            db,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// A client acting as the admin.
    pub fn admin(&self) -> Api {
        self.as_user("admin", ADMIN_PASSWORD)
    }

    /// A client acting as `username` with Basic auth.
    pub fn as_user(&self, username: &str, password: &str) -> Api {
        Api {
            base: self.server.base.clone(),
            http: self.http.clone(),
            auth: Auth::Basic(username.into(), password.into()),
        }
    }

    /// A client sending no credentials.
    pub fn anonymous(&self) -> Api {
        Api {
            base: self.server.base.clone(),
            http: self.http.clone(),
            auth: Auth::None,
        }
    }

    /// A client with a bearer token.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            base: self.server.base.clone(),
            http: self.http.clone(),
            auth: Auth::Bearer(token.into()),
        }
    }

    /// Creates a user (as admin) and returns its id.
    pub async fn user(&self, username: &str, password: &str) -> i64 {
        let (status, body) = self
            .admin()
            .post(
                "/api/v2/users/",
                serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(status, 201, "create user {username}: {body}");
        body["id"].as_i64().expect("user id")
    }
}

/// How a client authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

/// A JSON client for one identity.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
}

impl Api {
    /// A request with this client's credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => builder,
            Auth::Basic(user, password) => builder.basic_auth(user, Some(password)),
            Auth::Bearer(token) => builder.bearer_auth(token),
        }
    }

    /// Sends and reads the body as JSON (`Null` when empty or not JSON).
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn options(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(Method::OPTIONS, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates an object and returns it, asserting 201.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, created) = self.post(path, body).await;
        assert_eq!(status, 201, "POST {path}: {created}");
        created
    }

    /// Creates host `name` in `inventory` (an id) that runs on this machine.
    pub async fn local_host(&self, name: &str, inventory: &Value) -> Value {
        self.create(
            "/api/v2/hosts/",
            serde_json::json!({"name": name, "inventory": inventory, "variables": LOCAL_HOST_VARS}),
        )
        .await
    }

    /// The names (or usernames) in a list response.
    pub async fn names(&self, path: &str) -> Vec<String> {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|o| {
                o.get("name")
                    .or_else(|| o.get("username"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// Polls a unified job until its events are all stored (bounded) and
    /// returns it.
    pub async fn finished(&self, url: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            let (status, job) = self.get(url).await;
            assert_eq!(status, 200, "{job}");
            if job["event_processing_finished"] == true {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "did not finish: {job}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The text at `url` (a stdout endpoint).
    pub async fn text(&self, url: &str) -> String {
        let response = self
            .request(Method::GET, url)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "GET {url}");
        response.text().await.expect("text")
    }

    /// Polls the object at `url` until `done` holds (bounded: `what` names
    /// what did not happen) and returns it.
    pub async fn until(&self, url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            let (status, object) = self.get(url).await;
            assert_eq!(status, 200, "{object}");
            if done(&object) {
                return object;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {object}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    /// The id of `role` among the object roles of the object at `path`.
    pub async fn role_id(&self, path: &str, role: &str) -> i64 {
        let (status, object) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {object}");
        object["summary_fields"]["object_roles"][role]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{path} has no {role}: {object}"))
    }

    /// Grants role `role` to user `user` (as this client).
    pub async fn grant(&self, user: i64, role: i64) {
        let (status, body) = self
            .post(
                &format!("/api/v2/users/{user}/roles/"),
                serde_json::json!({"id": role}),
            )
            .await;
        assert_eq!(status, 204, "grant {role} to {user}: {body}");
    }
}
