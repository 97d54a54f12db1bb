//! API keys and two-factor sign-in.

use super::Text;
use chrono::{DateTime, Utc};
use crm_core::{ApiKey, KeyScope, KeySecret, service::TotpSetup};
use poem_openapi::{Enum, Object, types::Example};

/// What an API key may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum KeyScopeBody {
    /// Only reads (`GET`): every other request is 403.
    Read,
    /// Whatever its account may do.
    Write,
}

impl From<KeyScopeBody> for KeyScope {
    fn from(s: KeyScopeBody) -> Self {
        match s {
            KeyScopeBody::Read => KeyScope::Read,
            KeyScopeBody::Write => KeyScope::Write,
        }
    }
}

impl From<KeyScope> for KeyScopeBody {
    fn from(s: KeyScope) -> Self {
        match s {
            KeyScope::Read => KeyScopeBody::Read,
            KeyScope::Write => KeyScopeBody::Write,
        }
    }
}

/// A new API key.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct CreateApiKeyRequest {
    /// What it is for, 1-100 characters ("accounting export").
    pub name: Text,
    /// `read` or `write`.
    pub scope: KeyScopeBody,
    /// When it stops working (in the future); omitted or null: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Example for CreateApiKeyRequest {
    fn example() -> Self {
        Self {
            name: "Accounting export".into(),
            scope: KeyScopeBody::Read,
            expires_at: None,
        }
    }
}

/// An API key as listed: the key itself is shown once, when made, and never again.
#[derive(Object, Debug)]
pub struct ApiKeyBody {
    /// Identity.
    pub id: i64,
    /// The account it acts as.
    pub user_id: i64,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scope: KeyScopeBody,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; null: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// The last request it signed, to within a minute; null: never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyBody {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            user_id: k.user_id.0,
            name: k.name,
            scope: k.scope.into(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just made, with the key itself: copy it now, it is not shown again.
#[derive(Object, Debug)]
pub struct CreatedApiKeyBody {
    /// The key: send it as `Authorization: Bearer crm_...`.
    pub key: String,
    /// The key's record.
    #[oai(flatten)]
    pub info: ApiKeyBody,
}

impl From<(ApiKey, KeySecret)> for CreatedApiKeyBody {
    fn from((k, secret): (ApiKey, KeySecret)) -> Self {
        Self {
            key: secret.expose().to_owned(),
            info: k.into(),
        }
    }
}

/// An account's API keys, oldest first.
#[derive(Object, Debug)]
pub struct ApiKeysBody {
    /// The keys.
    pub items: Vec<ApiKeyBody>,
}

/// A started setup of two-factor sign-in: scan the QR code (or type the secret) into an
/// authenticator app, then confirm with `POST /auth/totp/enable`.
#[derive(Object)]
pub struct TotpSetupBody {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code, an inline SVG element.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpSetupBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetupBody(***)")
    }
}

impl From<TotpSetup> for TotpSetupBody {
    fn from(s: TotpSetup) -> Self {
        Self {
            qr_svg: crate::receipt::labelled_qr_svg(
                &s.uri,
                200,
                "QR code to scan with an authenticator app",
            ),
            secret: s.secret,
            otpauth_uri: s.uri,
        }
    }
}

/// A code from the authenticator app.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct TotpCodeRequest {
    /// The six digits it shows now.
    #[oai(write_only)]
    pub code: Text,
}

impl Example for TotpCodeRequest {
    fn example() -> Self {
        Self {
            code: "123456".into(),
        }
    }
}

/// Two-factor sign-in is on. Keep these codes somewhere safe: each signs in once in place of
/// a code, and they are not shown again.
#[derive(Object)]
pub struct RecoveryCodesBody {
    /// Ten single-use recovery codes.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodesBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodesBody(***)")
    }
}

/// Turning two-factor sign-in off needs the password.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct TotpDisableRequest {
    /// The account's password.
    #[oai(write_only)]
    pub password: Text,
}

impl Example for TotpDisableRequest {
    fn example() -> Self {
        Self {
            password: "a-long-new-passphrase".into(),
        }
    }
}
