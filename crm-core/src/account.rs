//! The account lifecycle: the audit trail of staff accounts and the password changes a store
//! applies atomically with their event.

use crate::{
    ids::UserId,
    user::{SessionKey, User},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountEventKind {
    /// Created, by an admin or (no actor) as a default account at first start.
    Created,
    /// Its owner changed its password.
    PasswordChanged,
    /// An admin set a new password; the owner must change it.
    PasswordReset,
    /// Deleted (deactivated) by an admin.
    Deleted,
    /// Its owner turned two-factor sign-in on.
    TotpEnabled,
    /// Its owner turned two-factor sign-in off.
    TotpDisabled,
    /// An admin cleared its two-factor sign-in (a lost phone).
    TotpReset,
    /// An admin made an API key acting as it.
    ApiKeyCreated,
    /// An admin revoked one of its API keys.
    ApiKeyRevoked,
}

impl AccountEventKind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::Deleted => "deleted",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::TotpReset => "totp_reset",
            Self::ApiKeyCreated => "api_key_created",
            Self::ApiKeyRevoked => "api_key_revoked",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "password_changed" => Self::PasswordChanged,
            "password_reset" => Self::PasswordReset,
            "deleted" => Self::Deleted,
            "totp_enabled" => Self::TotpEnabled,
            "totp_disabled" => Self::TotpDisabled,
            "totp_reset" => Self::TotpReset,
            "api_key_created" => Self::ApiKeyCreated,
            "api_key_revoked" => Self::ApiKeyRevoked,
            _ => return None,
        })
    }
}

/// One entry of an account's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountEvent {
    /// Identity; increases with time.
    pub id: i64,
    /// The account.
    pub user_id: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: AccountEventKind,
    /// Who did it (`None` for the default accounts created at first start).
    pub actor_id: Option<UserId>,
}

/// A new password to store, with compare-and-set on the session key the decision was made
/// against: a change that raced another change or a reset is [`crate::StoreError::Stale`] and
/// changes nothing. Storing it draws the account's new session key, so every older token
/// stops working in the same step, and appends its audit event.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// The account.
    pub user: UserId,
    /// Its session key when the change was decided.
    pub expected_key: SessionKey,
    /// The new argon2id PHC string.
    pub password_hash: String,
    /// The key every token issued from now on carries.
    pub new_key: SessionKey,
    /// Whether the owner must change it at next sign-in (a reset).
    pub must_change_password: bool,
    /// `PasswordChanged` or `PasswordReset`.
    pub kind: AccountEventKind,
    /// Who changes it.
    pub actor: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("user", &self.user)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What the per-request token check reads, in one store read: the account and whether this
/// token was signed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The account, active or not.
    pub user: User,
    /// False once deleted.
    pub active: bool,
    /// Whether the presented token was revoked by a sign-out.
    pub revoked: bool,
}
