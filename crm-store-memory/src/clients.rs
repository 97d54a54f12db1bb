//! Customers: lists with their counts, reads, corrections and history.

use crate::{Inner, MemoryStore, rows::row_of};
use async_trait::async_trait;
use crm_core::{
    Client, ClientEdit, ClientEvent, ClientEventKind, ClientId, ClientQuery, ClientStore,
    ClientSummary, Page, StoreError, UserId,
};
use std::hash::BuildHasher;

impl Inner {
    fn client_row(&self, id: ClientId) -> Result<u32, StoreError> {
        row_of(id.0)
            .filter(|&r| (r as usize) < self.clients.len())
            .ok_or(StoreError::NotFound)
    }

    fn summary(&self, row: u32) -> ClientSummary {
        let c = &self.clients[row as usize];
        ClientSummary {
            client: c.client.clone(),
            ticket_count: c.tickets.len() as u64,
            open_ticket_count: c
                .tickets
                .iter()
                .filter(|&&t| self.tickets[t as usize].status.is_open())
                .count() as u64,
        }
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn list_clients(&self, query: &ClientQuery) -> Result<Page<ClientSummary>, StoreError> {
        let g = self.read();
        let after = query.page.cursor().map(|c| (c.key, c.id));
        let matching = |c: &Client| query.search.as_ref().is_none_or(|s| s.matches(c));
        let total = g.clients.iter().filter(|c| matching(&c.client)).count() as u64;
        // Rows are in creation order: newest first is the rows backwards.
        let items = (0..g.clients.len() as u32)
            .rev()
            .filter(|&r| {
                let c = &g.clients[r as usize].client;
                matching(c) && after.is_none_or(|a| (c.created_at.timestamp_micros(), c.id.0) < a)
            })
            .skip(usize::try_from(query.page.offset()).unwrap_or(usize::MAX))
            .take(query.page.fetch_limit() as usize)
            .map(|r| g.summary(r))
            .collect();
        Ok(query.page.page_of(items, total))
    }

    async fn get_client(
        &self,
        id: ClientId,
        worker: Option<UserId>,
    ) -> Result<ClientSummary, StoreError> {
        let g = self.read();
        let row = g.client_row(id)?;
        if let Some(w) = worker {
            let theirs = g.clients[row as usize]
                .tickets
                .iter()
                .any(|&t| g.tickets[t as usize].worker == Some(w));
            if !theirs {
                return Err(StoreError::NotFound);
            }
        }
        Ok(g.summary(row))
    }

    async fn edit_client(&self, edit: ClientEdit) -> Result<Client, StoreError> {
        let mut g = self.write();
        let row = g.client_row(edit.client_id)?;
        if g.clients[row as usize].client != edit.before {
            return Err(StoreError::Stale);
        }
        let key = edit.email.key();
        if *g.clients[row as usize].email_key != *key {
            let hash = g.hasher.hash_one(key);
            if g.clients_by_email
                .find(hash, |&c| &*g.clients[c as usize].email_key == key)
                .is_some()
            {
                return Err(StoreError::EmailTaken);
            }
            let old = g.hasher.hash_one(&*g.clients[row as usize].email_key);
            if let Ok(entry) = g.clients_by_email.find_entry(old, |&c| c == row) {
                entry.remove();
            }
            let Inner {
                hasher,
                clients,
                clients_by_email,
                ..
            } = &mut *g;
            clients[row as usize].email_key = key.into();
            clients_by_email.insert_unique(hash, row, |&c| {
                hasher.hash_one(&*clients[c as usize].email_key)
            });
        }
        let c = &mut g.clients[row as usize];
        c.client.name = edit.name.as_str().to_owned();
        c.client.email = edit.email.as_str().to_owned();
        c.client.phone = edit.phone.as_ref().map(|p| p.as_str().to_owned());
        c.events.push(ClientEvent {
            at: edit.at,
            kind: ClientEventKind::Edited,
            actor_id: Some(edit.actor),
            changes: edit.changes,
        });
        Ok(c.client.clone())
    }

    async fn client_history(&self, id: ClientId) -> Result<Vec<ClientEvent>, StoreError> {
        let g = self.read();
        let row = g.client_row(id)?;
        Ok(g.clients[row as usize].events.clone())
    }
}
