//! `spawn_app()`: the whole service in process, on a fresh store, with typed request helpers.
//! PostgreSQL apps read `TEST_DATABASE_URL` (see `crm_tests::pg`) and drop their database.

use crm_core::{Crm, DefaultAccount, PasswordCost, Role};
use crm_server::{Config, app, state};
use crm_store_memory::MemoryStore;
use crm_store_postgres::{PgSettings, PgStore, parse_url};
use crm_tests::pg::{DropDatabase, create_database};
use poem::{EndpointExt, endpoint::BoxEndpoint, http::StatusCode, test::TestClient};
use serde_json::{Value, json};

pub const SECRET: &[u8] = b"test-secret-key-of-at-least-32-bytes!!";

pub fn config() -> Config {
    let mut c = Config::from_vars(|_| None).unwrap();
    c.secret_key = SECRET.to_vec();
    c.secret_generated = false;
    c.admin = DefaultAccount {
        username: "admin".into(),
        password: "admin123".into(),
        role: Role::Admin,
        must_change_password: true,
    };
    c.worker = DefaultAccount {
        username: "worker".into(),
        password: "worker123".into(),
        role: Role::Worker,
        must_change_password: false,
    };
    // Webhook hosts the tests may name without resolving them.
    c.webhook_allow_hosts = vec!["hooks.example.test".into()];
    c
}

pub struct TestApp {
    pub cli: TestClient<BoxEndpoint<'static>>,
    pub admin: String,
    pub worker: String,
    pg: Option<(PgStore, DropDatabase)>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: poem::http::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The body's field names, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

async fn build<S: crm_core::Store + Clone>(
    crm: Crm<S>,
    pg: Option<(PgStore, DropDatabase)>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let crm = crm.with_password_cost(PasswordCost::Fast);
    let mut cfg = config();
    adjust(&mut cfg);
    crm.ensure_default_accounts(&[cfg.admin.clone(), cfg.worker.clone()])
        .await
        .unwrap();
    let ep = app(state(crm, &cfg), &cfg.cors_origins)
        .map_to_response()
        .boxed();
    let mut t = TestApp {
        cli: TestClient::new(ep),
        admin: String::new(),
        worker: String::new(),
        pg,
    };
    t.admin = t.login("admin", "admin123").await;
    t.worker = t.login("worker", "worker123").await;
    t
}

pub async fn memory_app() -> TestApp {
    memory_app_with(|_| {}).await
}

/// An app on the memory store with adjusted settings.
pub async fn memory_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    build(Crm::new(MemoryStore::new()), None, adjust).await
}

pub async fn pg_app() -> TestApp {
    let (url, db) = create_database("crm_api").await;
    let store = PgStore::connect_with(parse_url(&url).unwrap(), PgSettings::default())
        .await
        .unwrap();
    build(Crm::new(store.clone()), Some((store, db)), |_| {}).await
}

impl TestApp {
    pub async fn finish(self) {
        if let Some((store, db)) = self.pg {
            store.close().await;
            drop(db);
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = match method {
            "GET" => self.cli.get(path),
            "POST" => self.cli.post(path),
            "DELETE" => self.cli.delete(path),
            "PUT" => self.cli.put(path),
            "PATCH" => self.cli.patch(path),
            other => panic!("{other}"),
        };
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.body_json(&b);
        }
        reply(req.send().await).await
    }

    pub async fn raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let req = self.cli.post(path).content_type(content_type).body(body);
        reply(req.send().await).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// `POST /auth/login`, whatever it answers.
    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.try_login(username, password).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn submit(&self, title: &str) -> Reply {
        self.call(
            "POST",
            "/public/tickets",
            None,
            Some(json!({
                "title": title,
                "description": format!("About {title}"),
                "client": {"name": "John Doe", "email": "john@example.com", "phone": "+1234567890"}
            })),
        )
        .await
    }

    /// Submits and returns the new ticket's id.
    pub async fn submit_id(&self, title: &str) -> i64 {
        let r = self.submit(title).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_i64().unwrap()
    }

    /// `POST /tickets/{id}/assign` as the admin.
    pub async fn assign(&self, id: i64, worker: i64) -> Reply {
        self.post(
            &format!("/tickets/{id}/assign"),
            &self.admin,
            json!({ "worker_id": worker }),
        )
        .await
    }

    /// `POST /tickets/{id}/status` as the holder of `token`.
    pub async fn set_status(&self, token: &str, id: i64, status: &str) -> Reply {
        self.post(
            &format!("/tickets/{id}/status"),
            token,
            json!({ "new_status": status }),
        )
        .await
    }

    /// `POST /users/` as the admin.
    pub async fn create_user(&self, username: &str, password: &str, role: &str) -> Reply {
        self.post(
            "/users/",
            &self.admin,
            json!({"username": username, "password": password, "role": role}),
        )
        .await
    }

    /// `DELETE` of a path as the admin.
    pub async fn delete_path(&self, path: &str) -> Reply {
        self.call("DELETE", path, Some(&self.admin), None).await
    }

    /// `DELETE /users/{id}` as the admin.
    pub async fn delete_user(&self, id: i64) -> Reply {
        self.call("DELETE", &format!("/users/{id}"), Some(&self.admin), None)
            .await
    }

    pub async fn worker_id(&self) -> i64 {
        self.get("/auth/me", &self.worker).await.body["id"]
            .as_i64()
            .unwrap()
    }
}

async fn reply(resp: poem::test::TestResponse) -> Reply {
    let status = resp.0.status();
    let headers = resp.0.headers().clone();
    let bytes = resp.0.into_body().into_vec().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// A 401 with the challenge header and the error body.
pub fn assert_401(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    assert!(r.body["detail"].is_string());
}

/// A token with these claims, signed with `alg` and `key`.
pub fn forge(claims: Value, alg: jsonwebtoken::Algorithm, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}
