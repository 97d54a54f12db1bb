//! The conversation on tickets: messages in one table (id = row + 1), each ticket keeping
//! the rows of its own in order, so a conversation is read without scanning others.

use crate::{Inner, MemoryStore, rows::row_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Audience, Author, Message, MessageReader, MessageStore, NewEvent, NewMessage, Page,
    PageRequest, StoreError, TicketId, TrackingCode, UserId, message::CUSTOMER_WINDOW,
};
use std::hash::BuildHasher;

/// One stored message.
pub(crate) struct MessageRow {
    ticket: u32,
    body: Box<str>,
    audience: Audience,
    /// The staff writer; `None` for the customer.
    author: Option<UserId>,
    at: DateTime<Utc>,
}

impl Inner {
    /// The ticket row holding this tracking code.
    pub(crate) fn row_by_code(&self, code: &TrackingCode) -> Result<u32, StoreError> {
        let code = code.as_str();
        self.by_code
            .find(self.hasher.hash_one(code), |&row| {
                &*self.tickets[row as usize].tracking_code == code
            })
            .copied()
            .ok_or(StoreError::NotFound)
    }

    pub(crate) fn message_audience(&self, id: u32) -> Audience {
        self.messages[id as usize].audience
    }

    fn message(&self, id: u32) -> Message {
        let m = &self.messages[id as usize];
        let name = match m.author {
            Some(u) => self
                .user_row(u)
                .map_or_else(|| format!("user #{}", u.0), |r| r.user.username.clone()),
            None => {
                let client = self.tickets[m.ticket as usize].client;
                self.clients[client as usize].client.name.clone()
            }
        };
        Message {
            id: i64::from(id) + 1,
            ticket_id: TicketId(i64::from(m.ticket) + 1),
            body: m.body.to_string(),
            visibility: m.audience,
            author: Author {
                user_id: m.author,
                name,
            },
            created_at: m.at,
        }
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn add_message(&self, new: NewMessage) -> Result<Message, StoreError> {
        let mut g = self.write();
        let row = g.target_row(&new.target)?;
        let since = new.at - CUSTOMER_WINDOW;
        let t = &g.tickets[row as usize];
        let recent = t
            .messages
            .iter()
            .rev()
            .map(|&m| &g.messages[m as usize])
            .take_while(|m| m.at > since)
            .filter(|m| m.author.is_none())
            .count() as u64;
        new.customer_may_write(t.done_at, recent)?;
        let (status, worker) = (t.status, t.worker);
        let id = u32::try_from(g.messages.len())
            .map_err(|_| StoreError::Backend("too many messages".into()))?;
        let audience = new.audience();
        g.messages.push(MessageRow {
            ticket: row,
            body: new.body.as_str().into(),
            audience,
            author: new.author(),
            at: new.at,
        });
        let r = &mut g.tickets[row as usize];
        r.messages.push(id);
        if audience == Audience::Customer {
            r.awaiting_reply = new.author().is_none();
        }
        g.push_event(
            row,
            NewEvent::message_added(
                new.at,
                new.author(),
                audience,
                i64::from(id) + 1,
                status,
                worker,
            ),
        );
        let m = g.message(id);
        drop(g);
        self.changed(crm_core::Change::Events);
        Ok(m)
    }

    async fn list_messages(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let g = self.read();
        let (row, customer) = g.reader_row(reader)?;
        let visible =
            |&&m: &&u32| !customer || g.messages[m as usize].audience == Audience::Customer;
        let all = &g.tickets[row as usize].messages;
        let total = all.iter().filter(visible).count() as u64;
        let after = page.cursor().map_or(0, |c| c.id);
        let items = all
            .iter()
            .filter(visible)
            .filter(|&&m| i64::from(m) + 1 > after)
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.fetch_limit() as usize)
            .map(|&m| g.message(m))
            .collect();
        Ok(page.page_of(items, total))
    }

    async fn get_message(&self, id: i64) -> Result<Message, StoreError> {
        let g = self.read();
        row_of(id)
            .filter(|&m| (m as usize) < g.messages.len())
            .map(|m| g.message(m))
            .ok_or(StoreError::NotFound)
    }
}
