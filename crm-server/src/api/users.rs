//! Staff accounts, for admins.

use super::{
    AppState, Tag,
    dto::{
        AccountHistoryBody, CreateUserRequest, PageBody, PasswordResetRequest, RoleBody, UserBody,
    },
};
use crate::{auth::AdminAuth, error::ApiError};
use crm_core::{ListUsers, Store, UserId};
use poem_openapi::{
    ApiResponse, OpenApi,
    param::{Path, Query},
    payload::Json,
};

/// The outcome of creating an account.
#[derive(ApiResponse)]
pub enum CreateUserResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

/// The outcome of deleting an account.
#[derive(ApiResponse)]
pub enum DeleteUserResponse {
    /// Deactivated; its open tickets went back to `new` with no worker.
    #[oai(status = 204)]
    Deleted,
}

/// The outcome of a password reset.
#[derive(ApiResponse)]
pub enum ResetPasswordResponse {
    /// Set; the account's tokens stopped working and it must change the password.
    #[oai(status = 204)]
    Reset,
}

/// Staff accounts, for admins.
pub struct UsersApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Users")]
impl<S: Store> UsersApi<S> {
    /// List accounts
    ///
    /// Active accounts, newest first.
    #[oai(path = "/users", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`): constant cost
        /// however deep.
        cursor: Query<Option<String>>,
        /// Case-insensitive substring of the username.
        search: Query<Option<String>>,
        /// Only this role.
        role: Query<Option<RoleBody>>,
    ) -> Result<Json<PageBody<UserBody>>, ApiError> {
        let actor = auth.0.actor;
        let req = ListUsers {
            page: page.0,
            size: size.0,
            cursor: cursor.0,
            role: role.0.map(Into::into),
            search: search.0,
        };
        Ok(Json(self.0.crm.list_users(&actor, req).await?.into()))
    }

    /// Create an account
    #[oai(path = "/users", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        body: Json<CreateUserRequest>,
    ) -> Result<CreateUserResponse, ApiError> {
        let actor = auth.0.actor;
        let u = self
            .0
            .crm
            .create_user(&actor, &body.username, &body.password, body.role.into())
            .await?;
        Ok(CreateUserResponse::Created(Json(u.into())))
    }

    /// Delete an account
    ///
    /// Deactivates it: it can no longer sign in, its tokens stop working, its open tickets go
    /// back to `new` with no worker, and its username becomes free. Its done tickets keep it.
    /// An admin cannot delete itself, and the last admin cannot be deleted.
    #[oai(path = "/users/:id", method = "delete")]
    async fn delete(&self, auth: AdminAuth, id: Path<i64>) -> Result<DeleteUserResponse, ApiError> {
        let actor = auth.0.actor;
        self.0.crm.delete_user(&actor, UserId(id.0)).await?;
        Ok(DeleteUserResponse::Deleted)
    }

    /// Reset an account's password
    ///
    /// Sets a new password for another account (8-128 characters, not its username). Its
    /// tokens stop working at once and it must change the password at next sign-in. Your own
    /// password is changed with `POST /auth/password` instead.
    #[oai(path = "/users/:id/password", method = "post")]
    async fn reset_password(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        body: Json<PasswordResetRequest>,
    ) -> Result<ResetPasswordResponse, ApiError> {
        self.0
            .crm
            .reset_password(&auth.0.actor, UserId(id.0), &body.new_password)
            .await?;
        Ok(ResetPasswordResponse::Reset)
    }

    /// An account's history
    ///
    /// Creation, password changes and resets, and deletion, with who did it and when, oldest
    /// first. Deleted accounts keep theirs.
    #[oai(path = "/users/:id/history", method = "get")]
    async fn history(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
    ) -> Result<Json<AccountHistoryBody>, ApiError> {
        let events = self
            .0
            .crm
            .account_history(&auth.0.actor, UserId(id.0))
            .await?;
        Ok(Json(events.into()))
    }
}
