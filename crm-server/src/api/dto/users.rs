//! Sign-in and staff account bodies.

use super::{RoleBody, Text};
use crate::auth::IssuedToken;
use chrono::{DateTime, Utc};
use crm_core::User;
use poem_openapi::{Object, types::Example};

/// Sign-in credentials.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    /// Username (case-insensitive).
    pub username: Text,
    /// Password.
    #[oai(write_only)]
    pub password: Text,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            username: "admin".into(),
            password: "admin123".into(),
        }
    }
}

/// An access token.
#[derive(Object, Debug)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

impl From<IssuedToken> for TokenResponse {
    fn from(t: IssuedToken) -> Self {
        Self {
            access_token: t.token,
            token_type: "bearer".into(),
            expires_in: t.expires_in,
        }
    }
}

/// A staff account.
#[derive(Object, Debug)]
pub struct UserBody {
    /// Identity.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Powers.
    pub role: RoleBody,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            role: u.role.into(),
            created_at: u.created_at,
        }
    }
}

/// Create a staff account.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct CreateUserRequest {
    /// 3-64 characters of `A-Z a-z 0-9 _ . -`, unique among active users (case-insensitive).
    pub username: Text,
    /// 8-128 characters; stored only as an argon2id hash.
    #[oai(write_only)]
    pub password: Text,
    /// Powers.
    pub role: RoleBody,
}

impl Example for CreateUserRequest {
    fn example() -> Self {
        Self {
            username: "worker1".into(),
            password: "worker123".into(),
            role: RoleBody::Worker,
        }
    }
}
