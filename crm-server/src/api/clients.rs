//! Customers: the counter's list, one customer, corrections and history.

use super::{
    AppState, Tag,
    dto::{ClientHistoryBody, ClientSummaryBody, EditClientRequest, PageBody},
};
use crate::{
    auth::{AdminAuth, StaffAuth},
    error::ApiError,
};
use crm_core::{ClientId, ListClients, Store};
use poem_openapi::{
    OpenApi,
    param::{Path, Query},
    payload::Json,
};

/// Customers.
pub struct ClientsApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Clients")]
impl<S: Store> ClientsApi<S> {
    /// List customers
    ///
    /// Newest first, with their ticket counts; `search` finds a name or e-mail fragment
    /// (case-insensitive) or phone digits (`+ - ( ) .` and spaces ignored, a leading trunk
    /// `0` dropped).
    #[oai(path = "/clients", method = "get")]
    async fn list(
        &self,
        auth: AdminAuth,
        /// Page number, 1 or more (default 1).
        page: Query<Option<i64>>,
        /// Page size, 1-100 (default 10).
        size: Query<Option<i64>>,
        /// Walk on from an earlier page's `next_cursor` (instead of `page`).
        cursor: Query<Option<String>>,
        /// A name or e-mail fragment, or phone digits (at most 200 characters).
        search: Query<Option<String>>,
    ) -> Result<Json<PageBody<ClientSummaryBody>>, ApiError> {
        let req = ListClients {
            page: page.0,
            size: size.0,
            cursor: cursor.0,
            search: search.0,
        };
        Ok(Json(
            self.0.crm.list_clients(&auth.0.actor, req).await?.into(),
        ))
    }

    /// One customer
    ///
    /// With their ticket counts. Admins read any; a worker, the customer of one of its
    /// tickets.
    #[oai(path = "/clients/:id", method = "get")]
    async fn get(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
    ) -> Result<Json<ClientSummaryBody>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .get_client(&auth.0.actor, ClientId(id.0))
                .await?
                .into(),
        ))
    }

    /// Correct a customer
    ///
    /// Name, e-mail or phone (left out: unchanged; `null` clears the phone). The e-mail
    /// identifies the customer: one another customer has is `email_taken`. Recorded in the
    /// customer's history. Public submissions never change stored customers.
    #[oai(path = "/clients/:id", method = "patch")]
    async fn edit(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        body: Json<EditClientRequest>,
    ) -> Result<Json<ClientSummaryBody>, ApiError> {
        let actor = auth.0.actor;
        self.0
            .crm
            .edit_client(&actor, ClientId(id.0), body.0.into())
            .await?;
        Ok(Json(
            self.0.crm.get_client(&actor, ClientId(id.0)).await?.into(),
        ))
    }

    /// A customer's history
    ///
    /// Oldest first: `created` (their first request), then each correction with what
    /// changed.
    #[oai(path = "/clients/:id/history", method = "get")]
    async fn history(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
    ) -> Result<Json<ClientHistoryBody>, ApiError> {
        Ok(Json(
            self.0
                .crm
                .client_history(&auth.0.actor, ClientId(id.0))
                .await?
                .into(),
        ))
    }
}
