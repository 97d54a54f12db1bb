//! API keys (admins, for any account) and one's own two-factor sign-in.

use super::{
    AppState, Tag,
    dto::{
        ApiKeysBody, CreateApiKeyRequest, CreatedApiKeyBody, RecoveryCodesBody, TotpCodeRequest,
        TotpDisableRequest, TotpSetupBody,
    },
};
use crate::{
    auth::{AdminAuth, StaffAuth},
    error::ApiError,
};
use crm_core::{Store, UserId, service::MakeApiKey};
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};

/// The outcome of making an API key.
#[derive(ApiResponse)]
pub enum CreateKeyResponse {
    /// Made: the answer holds the key, shown this once.
    #[oai(status = 201)]
    Created(Json<CreatedApiKeyBody>),
}

/// A change with nothing to answer.
#[derive(ApiResponse)]
pub enum DoneResponse {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// API keys and two-factor sign-in.
pub struct CredentialsApi<S>(pub AppState<S>);

#[OpenApi]
impl<S: Store> CredentialsApi<S> {
    /// Make an API key
    ///
    /// Admins only. The key acts as account `id` everywhere a token does (a `read` key only
    /// reads) until it expires, is revoked, or the account is deleted. The answer is the only
    /// place the key appears: the store keeps its SHA-256.
    #[oai(path = "/users/:id/api-keys", method = "post", tag = "Tag::Users")]
    async fn create_key(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        body: Json<CreateApiKeyRequest>,
    ) -> Result<CreateKeyResponse, ApiError> {
        let b = body.0;
        let made = self
            .0
            .crm
            .create_api_key(
                &auth.0.actor,
                UserId(id.0),
                MakeApiKey {
                    name: b.name.0,
                    scope: b.scope.into(),
                    expires_at: b.expires_at,
                },
            )
            .await?;
        Ok(CreateKeyResponse::Created(Json(made.into())))
    }

    /// An account's API keys
    ///
    /// Admins only: name, scope, when made, when it expires, when last used (to within a
    /// minute); never the key.
    #[oai(path = "/users/:id/api-keys", method = "get", tag = "Tag::Users")]
    async fn list_keys(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
    ) -> Result<Json<ApiKeysBody>, ApiError> {
        let keys = self
            .0
            .crm
            .list_api_keys(&auth.0.actor, UserId(id.0))
            .await?;
        Ok(Json(ApiKeysBody {
            items: keys.into_iter().map(Into::into).collect(),
        }))
    }

    /// Revoke an API key
    ///
    /// Admins only. Refused from the next request on, on every replica; its open streams end.
    #[oai(
        path = "/users/:id/api-keys/:key_id",
        method = "delete",
        tag = "Tag::Users"
    )]
    async fn revoke_key(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        key_id: Path<i64>,
    ) -> Result<DoneResponse, ApiError> {
        self.0
            .crm
            .revoke_api_key(&auth.0.actor, UserId(id.0), key_id.0)
            .await?;
        Ok(DoneResponse::Done)
    }

    /// Clear an account's two-factor sign-in
    ///
    /// Admins only, for another account (a lost phone): it signs in with its password alone
    /// and may set two-factor sign-in up again. Recorded in the account's history.
    #[oai(path = "/users/:id/totp", method = "delete", tag = "Tag::Users")]
    async fn reset_totp(&self, auth: AdminAuth, id: Path<i64>) -> Result<DoneResponse, ApiError> {
        self.0.crm.reset_totp(&auth.0.actor, UserId(id.0)).await?;
        Ok(DoneResponse::Done)
    }

    /// Start setting up two-factor sign-in
    ///
    /// A new secret, its `otpauth://` URI and a QR code to scan with an authenticator app.
    /// Nothing changes at sign-in until `POST /auth/totp/enable` confirms it with a code;
    /// asking again replaces the unconfirmed secret. `409 totp_enabled` while it is on.
    #[oai(path = "/auth/totp/setup", method = "post", tag = "Tag::Auth")]
    async fn setup(&self, auth: StaffAuth) -> Result<Json<TotpSetupBody>, ApiError> {
        auth.0.token()?;
        let setup = self
            .0
            .crm
            .setup_totp(&auth.0.actor, &self.0.shop.name)
            .await?;
        Ok(Json(setup.into()))
    }

    /// Turn two-factor sign-in on
    ///
    /// Confirms the setup with the code the app shows now (a wrong one is a
    /// `validation_error` on `code`). From now on signing in needs a code as well. Answers
    /// ten single-use recovery codes, shown this once.
    #[oai(path = "/auth/totp/enable", method = "post", tag = "Tag::Auth")]
    async fn enable(
        &self,
        auth: StaffAuth,
        body: Json<TotpCodeRequest>,
    ) -> Result<Json<RecoveryCodesBody>, ApiError> {
        auth.0.token()?;
        let codes = self.0.crm.enable_totp(&auth.0.actor, &body.code.0).await?;
        Ok(Json(RecoveryCodesBody {
            recovery_codes: codes,
        }))
    }

    /// Turn two-factor sign-in off
    ///
    /// Needs the password (a wrong one is a `validation_error` on `password` and counts as a
    /// failed sign-in). The secret and the recovery codes are forgotten.
    #[oai(path = "/auth/totp/disable", method = "post", tag = "Tag::Auth")]
    async fn disable(
        &self,
        auth: StaffAuth,
        body: Json<TotpDisableRequest>,
    ) -> Result<DoneResponse, ApiError> {
        auth.0.token()?;
        self.0
            .crm
            .disable_totp(&auth.0.actor, &body.password.0)
            .await?;
        Ok(DoneResponse::Done)
    }
}
