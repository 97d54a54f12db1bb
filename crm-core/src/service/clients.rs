//! Customers: the list the counter searches, a customer with counts, corrections and history.

use super::{Crm, not_found, require};
use crate::{
    client::{ClientEdit, ClientEvent, ClientQuery, ClientSearch, ClientSummary, EditClient},
    error::{CoreError, StoreError},
    ids::ClientId,
    input::ValidationErrors,
    page::{Page, parse_list},
    role::{Actor, Permission, Role},
    store::Store,
    ticket::Client,
};

/// A customer list request as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct ListClients {
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// Page size 1-100; default 10.
    pub size: Option<i64>,
    /// Walk on from this `next_cursor` of an earlier page (instead of `page`).
    pub cursor: Option<String>,
    /// Name or e-mail fragment, or phone digits.
    pub search: Option<String>,
}

impl<S: Store> Crm<S> {
    /// Customers, newest first, found by name, e-mail or phone digits (admins only).
    pub async fn list_clients(
        &self,
        actor: &Actor,
        req: ListClients,
    ) -> Result<Page<ClientSummary>, CoreError> {
        require(actor, Permission::ManageClients)?;
        let (page, _) = parse_list(req.page, req.size, req.cursor.as_deref(), None)?;
        let mut errs = ValidationErrors::default();
        let search = errs.check(
            "search",
            ClientSearch::parse(req.search.as_deref().unwrap_or("")),
        );
        let Some(search) = search else {
            return Err(errs.into());
        };
        self.store
            .list_clients(&ClientQuery { search, page })
            .await
            .map_err(CoreError::from_store)
    }

    /// One customer with counts: for admins any, for a worker one of its tickets' customers.
    pub async fn get_client(
        &self,
        actor: &Actor,
        id: ClientId,
    ) -> Result<ClientSummary, CoreError> {
        let worker = (actor.role == Role::Worker).then_some(actor.id);
        self.store
            .get_client(id, worker)
            .await
            .map_err(not_found("Customer"))
    }

    /// Corrects a customer's name, e-mail or phone (admins only), recorded in their
    /// history. The e-mail identifies the customer: one another customer has is
    /// [`CoreError::EmailTaken`]. A correction that changes nothing writes nothing.
    pub async fn edit_client(
        &self,
        actor: &Actor,
        id: ClientId,
        edit: EditClient,
    ) -> Result<Client, CoreError> {
        require(actor, Permission::ManageClients)?;
        for _ in 0..super::tickets::RACE_ATTEMPTS {
            let before = self
                .store
                .get_client(id, None)
                .await
                .map_err(not_found("Customer"))?
                .client;
            let (name, email, phone, changes) = crate::client::plan(&before, edit.clone())?;
            if changes.is_empty() {
                return Ok(before);
            }
            let change = ClientEdit {
                client_id: id,
                before,
                name,
                email,
                phone,
                actor: actor.id,
                at: self.clock.now(),
                changes,
            };
            match self.store.edit_client(change).await {
                Ok(c) => return Ok(c),
                Err(StoreError::Stale) => continue,
                Err(StoreError::EmailTaken) => return Err(CoreError::EmailTaken),
                Err(e) => return Err(not_found("Customer")(e)),
            }
        }
        Err(CoreError::Busy)
    }

    /// A customer's history, oldest first (admins only).
    pub async fn client_history(
        &self,
        actor: &Actor,
        id: ClientId,
    ) -> Result<Vec<ClientEvent>, CoreError> {
        require(actor, Permission::ManageClients)?;
        self.store
            .client_history(id)
            .await
            .map_err(not_found("Customer"))
    }
}
