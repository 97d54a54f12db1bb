//! Sign-in and staff account bodies.

use super::{RoleBody, Text};
use crate::auth::IssuedToken;
use chrono::{DateTime, Utc};
use crm_core::{AccountEvent, AccountEventKind, User, UserId};
use poem_openapi::{Enum, Object, types::Example};

/// Sign-in credentials.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct LoginRequest {
    /// Username (case-insensitive).
    pub username: Text,
    /// Password.
    #[oai(write_only)]
    pub password: Text,
    /// For an account with two-factor sign-in: the six-digit code its authenticator app
    /// shows now, or one of its unused recovery codes. Without it such an account is
    /// answered `401 totp_required`.
    #[oai(write_only)]
    pub totp_code: Option<Text>,
}

impl Example for LoginRequest {
    fn example() -> Self {
        Self {
            username: "admin".into(),
            password: "admin123".into(),
            totp_code: None,
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
    /// Still on a documented default password, or reset by an admin: the owner should choose
    /// a new one (`POST /auth/password`) before anything else.
    pub must_change_password: bool,
    /// Whether automatic assignment may choose this account (it matters for workers).
    pub available: bool,
    /// Whether it signs in with a code from an authenticator app as well.
    pub totp_enabled: bool,
}

/// Whether automatic assignment may choose a worker.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct AvailabilityRequest {
    /// True: may be chosen; false: is skipped (away, busy, off shift).
    pub available: bool,
}

impl Example for AvailabilityRequest {
    fn example() -> Self {
        Self { available: false }
    }
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            role: u.role.into(),
            created_at: u.created_at,
            must_change_password: u.must_change_password,
            available: u.available,
            totp_enabled: u.totp_enabled,
        }
    }
}

/// Change one's own password.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct PasswordChangeRequest {
    /// The password in use now.
    #[oai(write_only)]
    pub current_password: Text,
    /// 8-128 characters, not the username, not the current password.
    #[oai(write_only)]
    pub new_password: Text,
}

impl Example for PasswordChangeRequest {
    fn example() -> Self {
        Self {
            current_password: "admin123".into(),
            new_password: "a-long-new-passphrase".into(),
        }
    }
}

/// Set another account's password.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct PasswordResetRequest {
    /// 8-128 characters, not the account's username. Tell it to its owner, who must change it.
    #[oai(write_only)]
    pub new_password: Text,
}

impl Example for PasswordResetRequest {
    fn example() -> Self {
        Self {
            new_password: "temporary-4821".into(),
        }
    }
}

/// What happened to an account.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AccountEventKindBody {
    /// Created (by `actor_id`; none for a default account at first start).
    Created,
    /// Its owner changed its password.
    PasswordChanged,
    /// An admin set a new password.
    PasswordReset,
    /// Deleted.
    Deleted,
    /// Its owner turned two-factor sign-in on.
    TotpEnabled,
    /// Its owner turned two-factor sign-in off.
    TotpDisabled,
    /// An admin cleared its two-factor sign-in.
    TotpReset,
    /// An admin made an API key acting as it.
    ApiKeyCreated,
    /// An admin revoked one of its API keys.
    ApiKeyRevoked,
}

impl From<AccountEventKind> for AccountEventKindBody {
    fn from(k: AccountEventKind) -> Self {
        match k {
            AccountEventKind::Created => Self::Created,
            AccountEventKind::PasswordChanged => Self::PasswordChanged,
            AccountEventKind::PasswordReset => Self::PasswordReset,
            AccountEventKind::Deleted => Self::Deleted,
            AccountEventKind::TotpEnabled => Self::TotpEnabled,
            AccountEventKind::TotpDisabled => Self::TotpDisabled,
            AccountEventKind::TotpReset => Self::TotpReset,
            AccountEventKind::ApiKeyCreated => Self::ApiKeyCreated,
            AccountEventKind::ApiKeyRevoked => Self::ApiKeyRevoked,
        }
    }
}

/// One entry of an account's audit trail.
#[derive(Object, Debug)]
pub struct AccountEventBody {
    /// Identity; increases with time.
    pub id: i64,
    /// The account.
    pub user_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: AccountEventKindBody,
    /// Who did it (null for the default accounts created at first start).
    pub actor_id: Option<i64>,
}

impl From<AccountEvent> for AccountEventBody {
    fn from(e: AccountEvent) -> Self {
        Self {
            id: e.id,
            user_id: e.user_id.0,
            at: e.at,
            kind: e.kind.into(),
            actor_id: e.actor_id.map(UserId::get),
        }
    }
}

/// An account's audit trail, oldest first.
#[derive(Object, Debug)]
pub struct AccountHistoryBody {
    /// The events.
    pub items: Vec<AccountEventBody>,
}

impl From<Vec<AccountEvent>> for AccountHistoryBody {
    fn from(events: Vec<AccountEvent>) -> Self {
        Self {
            items: events.into_iter().map(Into::into).collect(),
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
