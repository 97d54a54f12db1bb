//! Sign-in and the current user.

use super::{
    AppState, Tag,
    dto::{LoginRequest, TokenResponse, UserBody},
};
use crate::{auth::StaffAuth, error::ApiError, request_meta};
use crm_core::Store;
use poem::Request;
use poem_openapi::{OpenApi, payload::Json};

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
        let user = self
            .0
            .crm
            .authenticate(&body.username, &body.password)
            .await?;
        Ok(Json(self.0.tokens.issue(&user).into()))
    }

    /// The signed-in user
    #[oai(path = "/auth/me", method = "get")]
    async fn me(&self, auth: StaffAuth) -> Result<Json<UserBody>, ApiError> {
        Ok(Json(auth.0.user.into()))
    }
}
