//! Staff accounts, for admins.

use super::{
    AppState, Tag,
    dto::{CreateUserRequest, PageBody, RoleBody, UserBody},
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
        /// Case-insensitive substring of the username.
        search: Query<Option<String>>,
        /// Only this role.
        role: Query<Option<RoleBody>>,
    ) -> Result<Json<PageBody<UserBody>>, ApiError> {
        let actor = auth.0.actor;
        let req = ListUsers {
            page: page.0,
            size: size.0,
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
}
