//! The files on tickets: their rows in one table (id = row + 1; a removed file leaves an
//! empty slot so ids are never reused), each ticket keeping its live files in order. The
//! bytes are in the facade's object store, not here.

use crate::{Inner, MemoryStore, rows::row_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Attachment, AttachmentStore, Audience, Author, FileKind, MessageReader, MessageTarget,
    NewAttachment, NewEvent, Page, PageRequest, Room, StoreError, TicketId, UserId,
    attachment::may_attach, message::CUSTOMER_WINDOW,
};

/// One stored file's metadata.
pub(crate) struct FileRow {
    ticket: u32,
    name: Box<str>,
    kind: FileKind,
    size: u64,
    sha256: Box<str>,
    audience: Audience,
    /// The staff uploader; `None` for the customer.
    author: Option<UserId>,
    at: DateTime<Utc>,
    object: Box<str>,
    thumbnail: Option<Box<str>>,
}

impl Inner {
    /// The ticket row `target` names inside the writer's or uploader's scope.
    pub(crate) fn target_row(&self, target: &MessageTarget) -> Result<u32, StoreError> {
        match target {
            MessageTarget::Staff { id, visibility, .. } => row_of(id.0)
                .filter(|&r| {
                    self.tickets
                        .get(r as usize)
                        .is_some_and(|t| visibility.allows(t.worker))
                })
                .ok_or(StoreError::NotFound),
            MessageTarget::Customer(code) => self.row_by_code(code),
        }
    }

    /// The ticket row a reader reads, and whether the reader is the customer.
    pub(crate) fn reader_row(&self, reader: &MessageReader) -> Result<(u32, bool), StoreError> {
        match reader {
            MessageReader::Staff(id, visibility) => row_of(id.0)
                .filter(|&r| {
                    self.tickets
                        .get(r as usize)
                        .is_some_and(|t| visibility.allows(t.worker))
                })
                .map(|r| (r, false))
                .ok_or(StoreError::NotFound),
            MessageReader::Customer(code) => Ok((self.row_by_code(code)?, true)),
        }
    }

    fn file_row(&self, id: u32) -> Option<&FileRow> {
        self.files.get(id as usize).and_then(Option::as_ref)
    }

    /// How many of the ticket's files the customer may download.
    pub(crate) fn public_files(&self, row: u32) -> u64 {
        self.tickets[row as usize]
            .files
            .iter()
            .filter(|&&f| {
                self.file_row(f)
                    .is_some_and(|f| f.audience == Audience::Customer)
            })
            .count() as u64
    }

    fn room(&self, row: u32, at: DateTime<Utc>) -> Room {
        let t = &self.tickets[row as usize];
        let since = at - CUSTOMER_WINDOW;
        let files = t.files.iter().filter_map(|&f| self.file_row(f));
        Room {
            ticket: TicketId(i64::from(row) + 1),
            files: t.files.len() as u64,
            customer_recent: files.filter(|f| f.author.is_none() && f.at > since).count() as u64,
            done_at: t.done_at,
        }
    }

    fn attachment(&self, id: u32) -> Option<Attachment> {
        let f = self.file_row(id)?;
        let name = match f.author {
            Some(u) => self
                .user_row(u)
                .map_or_else(|| format!("user #{}", u.0), |r| r.user.username.clone()),
            None => {
                let client = self.tickets[f.ticket as usize].client;
                self.clients[client as usize].client.name.clone()
            }
        };
        Some(Attachment {
            id: i64::from(id) + 1,
            ticket_id: TicketId(i64::from(f.ticket) + 1),
            name: f.name.to_string(),
            kind: f.kind,
            size: f.size,
            sha256: f.sha256.to_string(),
            visibility: f.audience,
            uploaded_by: Author {
                user_id: f.author,
                name,
            },
            created_at: f.at,
            object: f.object.to_string(),
            thumbnail: f.thumbnail.as_deref().map(str::to_owned),
        })
    }
}

#[async_trait]
impl AttachmentStore for MemoryStore {
    async fn attachment_room(
        &self,
        target: &MessageTarget,
        at: DateTime<Utc>,
    ) -> Result<Room, StoreError> {
        let g = self.read();
        let row = g.target_row(target)?;
        Ok(g.room(row, at))
    }

    async fn add_attachment(&self, new: NewAttachment) -> Result<Attachment, StoreError> {
        let mut g = self.write();
        let row = g.target_row(&new.target)?;
        may_attach(
            &new.target,
            &g.room(row, new.at),
            new.max_per_ticket,
            new.at,
        )?;
        let id = u32::try_from(g.files.len())
            .map_err(|_| StoreError::Backend("too many files".into()))?;
        let (audience, author) = (new.audience(), new.author());
        g.files.push(Some(FileRow {
            ticket: row,
            name: new.name.into(),
            kind: new.kind,
            size: new.size,
            sha256: new.sha256.into(),
            audience,
            author,
            at: new.at,
            object: new.object.into(),
            thumbnail: new.thumbnail.map(Into::into),
        }));
        let t = &mut g.tickets[row as usize];
        t.files.push(id);
        let (status, worker) = (t.status, t.worker);
        g.push_event(
            row,
            NewEvent::attachment_added(new.at, author, audience, i64::from(id) + 1, status, worker),
        );
        let a = g.attachment(id).expect("just stored");
        drop(g);
        self.changed(crm_core::Change::Events);
        Ok(a)
    }

    async fn list_attachments(
        &self,
        reader: &MessageReader,
        page: PageRequest,
    ) -> Result<Page<Attachment>, StoreError> {
        let g = self.read();
        let (row, customer) = g.reader_row(reader)?;
        let visible = |&&f: &&u32| {
            g.file_row(f)
                .is_some_and(|f| !customer || f.audience == Audience::Customer)
        };
        let all = &g.tickets[row as usize].files;
        let total = all.iter().filter(visible).count() as u64;
        let after = page.cursor().map_or(0, |c| c.id);
        let items = all
            .iter()
            .filter(visible)
            .filter(|&&f| i64::from(f) + 1 > after)
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.fetch_limit() as usize)
            .filter_map(|&f| g.attachment(f))
            .collect();
        Ok(page.page_of(items, total))
    }

    async fn get_attachment(
        &self,
        reader: &MessageReader,
        id: i64,
    ) -> Result<Attachment, StoreError> {
        let g = self.read();
        let (row, customer) = g.reader_row(reader)?;
        row_of(id)
            .filter(|&f| {
                g.file_row(f).is_some_and(|f| {
                    f.ticket == row && (!customer || f.audience == Audience::Customer)
                })
            })
            .and_then(|f| g.attachment(f))
            .ok_or(StoreError::NotFound)
    }

    async fn remove_attachment(
        &self,
        ticket: TicketId,
        id: i64,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<Attachment, StoreError> {
        let mut g = self.write();
        let row = row_of(ticket.0)
            .filter(|&r| (r as usize) < g.tickets.len())
            .ok_or(StoreError::NotFound)?;
        let file = row_of(id)
            .filter(|&f| g.file_row(f).is_some_and(|f| f.ticket == row))
            .ok_or(StoreError::NotFound)?;
        let a = g.attachment(file).expect("checked above");
        g.files[file as usize] = None;
        let t = &mut g.tickets[row as usize];
        t.files.retain(|&f| f != file);
        let (status, worker) = (t.status, t.worker);
        g.push_event(
            row,
            NewEvent::attachment_removed(at, by, a.visibility, a.id, status, worker),
        );
        drop(g);
        self.changed(crm_core::Change::Events);
        Ok(a)
    }

    async fn known_objects(&self, objects: &[String]) -> Result<Vec<String>, StoreError> {
        let g = self.read();
        let named: std::collections::HashSet<&str> = g
            .files
            .iter()
            .flatten()
            .flat_map(|f| std::iter::once(&*f.object).chain(f.thumbnail.as_deref()))
            .collect();
        Ok(objects
            .iter()
            .filter(|o| named.contains(o.as_str()))
            .cloned()
            .collect())
    }
}
