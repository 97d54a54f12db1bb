//! Sign-in and every kind of bad token.

use crate::helpers::TestApp;
use crate::helpers::assert_401;
use crate::helpers::{SECRET, forge};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use poem::http::StatusCode;
use serde_json::json;

on_both_stores!(login_me_and_every_kind_of_bad_token,);

async fn login_me_and_every_kind_of_bad_token(app: &TestApp) {
    let r = app.try_login("admin", "admin123").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 3600);
    for (u, p) in [("admin", "wrong-password"), ("nobody", "admin123")] {
        let r = app.try_login(u, p).await;
        assert_401(&r);
        assert_eq!(r.code(), "invalid_credentials");
    }
    let me = app.get("/auth/me", &app.admin).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        (me.body["username"].as_str(), me.body["role"].as_str()),
        (Some("admin"), Some("admin"))
    );
    assert!(me.body.get("password_hash").is_none() && me.body.get("password").is_none());

    let admin_id = me.body["id"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    // The real token's session key, so only what each forgery changes is wrong.
    let real: serde_json::Value =
        serde_json::from_slice(&B64.decode(app.admin.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let sk = real["sk"].clone();
    let claims = json!({"sub": admin_id.to_string(), "iat": now, "exp": now + 600, "sk": sk, "jti": "forged"});
    let other_key = forge(
        claims.clone(),
        jsonwebtoken::Algorithm::HS256,
        b"another key entirely, 32+ bytes long",
    );
    let hs512 = forge(claims.clone(), jsonwebtoken::Algorithm::HS512, SECRET);
    let expired = forge(
        json!({"sub": admin_id.to_string(), "iat": now - 100, "exp": now - 10, "sk": sk, "jti": "x"}),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    let no_exp = forge(
        json!({"sub": admin_id.to_string(), "sk": sk, "jti": "x"}),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    let payload = app.admin.split('.').nth(1).unwrap().to_owned();
    let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    let good = forge(claims, jsonwebtoken::Algorithm::HS256, SECRET);
    assert_eq!(
        app.get("/auth/me", &good).await.status,
        StatusCode::OK,
        "a correctly signed token works"
    );
    let other_session = forge(
        json!({"sub": admin_id.to_string(), "iat": now, "exp": now + 600, "sk": 12345, "jti": "x"}),
        jsonwebtoken::Algorithm::HS256,
        SECRET,
    );
    for bad in [
        other_session,
        other_key,
        hs512,
        expired,
        no_exp,
        none,
        "garbage".into(),
        String::new(),
    ] {
        assert_401(&app.get("/auth/me", &bad).await);
        assert_401(&app.get("/tickets", &bad).await);
    }
    assert_401(&app.call("GET", "/auth/me", None, None).await);
    assert_401(&app.call("GET", "/tickets/", None, None).await);
    let basic = app
        .cli
        .get("/auth/me")
        .header("Authorization", "Basic YWRtaW46YWRtaW4xMjM=")
        .send()
        .await;
    basic.assert_status(StatusCode::UNAUTHORIZED);
    basic.assert_header("www-authenticate", "Bearer");
}
