//! Sign-in and the current user.

use super::{
    AppState, Tag,
    dto::{LoginRequest, PasswordChangeRequest, TokenResponse, UserBody},
};
use crate::{auth::StaffAuth, error::ApiError, request_meta};
use crm_core::{CoreError, Store};
use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};
use std::sync::atomic::Ordering;

/// The outcome of signing out.
#[derive(ApiResponse)]
pub enum SignOutResponse {
    /// The token no longer works, on any replica.
    #[oai(status = 204)]
    SignedOut,
}

/// Sign-in and the current user.
pub struct AuthApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Auth")]
impl<S: Store> AuthApi<S> {
    /// Sign in
    ///
    /// Exchanges a username and password for an access token. An unknown user and a wrong
    /// password get the same answer.
    #[oai(path = "/auth/login", method = "post")]
    async fn login(
        &self,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> Result<Json<TokenResponse>, ApiError> {
        let ip = request_meta::client_ip(req, &self.0.trusted_proxies);
        self.0.limits.login.check(ip)?;
        let code = body.totp_code.as_ref().map(|c| c.0.as_str());
        let user = match self
            .0
            .crm
            .sign_in(&body.username, &body.password, code)
            .await
        {
            Ok(u) => u,
            Err(e) => {
                if matches!(e, CoreError::TooManyAttempts { .. }) {
                    self.0
                        .limits
                        .throttled_sign_ins
                        .fetch_add(1, Ordering::Relaxed);
                }
                return Err(e.into());
            }
        };
        Ok(Json(self.0.tokens.issue(&user).into()))
    }

    /// The signed-in user
    ///
    /// `must_change_password` is true while the account is on a documented default password
    /// or was reset by an admin; the web UI then asks for a new password first.
    #[oai(path = "/auth/me", method = "get")]
    async fn me(&self, auth: StaffAuth) -> Result<Json<UserBody>, ApiError> {
        Ok(Json(auth.0.user.into()))
    }

    /// Change your password
    ///
    /// Needs the current password (a wrong one is a `validation_error` on
    /// `current_password`). The new one is 8-128 characters and differs from the username and
    /// from the current one. Answers a fresh token; every token issued before stops working at
    /// once, on every replica.
    #[oai(path = "/auth/password", method = "post")]
    async fn change_password(
        &self,
        auth: StaffAuth,
        body: Json<PasswordChangeRequest>,
    ) -> Result<Json<TokenResponse>, ApiError> {
        auth.0.token()?;
        let user = self
            .0
            .crm
            .change_password(&auth.0.actor, &body.current_password, &body.new_password)
            .await?;
        Ok(Json(self.0.tokens.issue(&user).into()))
    }

    /// Sign out
    ///
    /// The token this request carries stops working at once, on every replica.
    #[oai(path = "/auth/logout", method = "post")]
    async fn logout(&self, auth: StaffAuth) -> Result<SignOutResponse, ApiError> {
        let session = auth.0;
        let token = session.token()?;
        let expires_at =
            chrono::DateTime::from_timestamp(token.expires_at, 0).unwrap_or_else(chrono::Utc::now);
        self.0
            .crm
            .sign_out(&session.actor, &token.token_id, expires_at)
            .await?;
        Ok(SignOutResponse::SignedOut)
    }
}
