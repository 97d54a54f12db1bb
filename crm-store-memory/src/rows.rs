//! What the store keeps per ticket, client and account, and the chunked table of tickets.

use chrono::{DateTime, Utc};
use crm_core::{AccountEvent, Client, Device, Event, Priority, TicketStatus, User, UserId};

/// Rows in fixed-size chunks: growing never moves existing rows, so a submission never pays
/// for copying the whole table (a plain `Vec` would, at each doubling).
#[derive(Default)]
pub(crate) struct Rows {
    chunks: Vec<Vec<Row>>,
    len: usize,
}

const CHUNK: usize = 4096;

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Row> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    pub(crate) fn push(&mut self, row: Row) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks
            .last_mut()
            .expect("a chunk was just ensured")
            .push(row);
        self.len += 1;
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = Row;
    fn index(&self, i: usize) -> &Row {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Rows {
    fn index_mut(&mut self, i: usize) -> &mut Row {
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// One ticket. Texts are boxed (no spare capacity); the folded title is kept only when it
/// differs from the title.
pub(crate) struct Row {
    pub(crate) title: Box<str>,
    /// The case-folded title when it differs from `title`.
    pub(crate) folded: Option<Box<str>>,
    pub(crate) description: Box<str>,
    pub(crate) status: TicketStatus,
    pub(crate) viewed: bool,
    pub(crate) client: u32,
    pub(crate) worker: Option<UserId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) assigned_at: Option<DateTime<Utc>>,
    pub(crate) in_progress_at: Option<DateTime<Utc>>,
    pub(crate) done_at: Option<DateTime<Utc>>,
    pub(crate) requester_ip: Option<Box<str>>,
    pub(crate) requester_ua: Option<Box<str>>,
    pub(crate) tracking_code: Box<str>,
    pub(crate) events: Vec<Event>,
    /// Boxed: most customers' own requests carry none.
    pub(crate) device: Option<Box<Device>>,
    pub(crate) priority: Priority,
    pub(crate) due_at: Option<DateTime<Utc>>,
    /// Its messages (rows of the message table), oldest first.
    pub(crate) messages: Vec<u32>,
    /// Whether the newest customer-visible message is the customer's.
    pub(crate) awaiting_reply: bool,
    /// Its files (rows of the file table) still present, oldest first.
    pub(crate) files: Vec<u32>,
    /// Its stage, and since when.
    pub(crate) stage: Option<crm_core::StageId>,
    pub(crate) stage_at: Option<DateTime<Utc>>,
    /// Its quote's versions, oldest first, and the latest sent one's summary.
    pub(crate) quotes: Vec<crm_core::Quote>,
    pub(crate) quote: Option<crm_core::TicketQuote>,
}

impl Row {
    /// A new ticket's row, for the client at row `client`.
    pub(crate) fn new(new: &crm_core::NewTicket, client: u32) -> Self {
        let sub = &new.submission;
        let title = sub.title.as_str();
        let folded = crm_core::input::fold_case(title);
        Self {
            title: title.into(),
            folded: (folded != title).then(|| folded.into_boxed_str()),
            description: sub.description.as_str().into(),
            status: TicketStatus::New,
            viewed: false,
            client,
            worker: None,
            created_at: new.created_at,
            updated_at: new.created_at,
            assigned_at: None,
            in_progress_at: None,
            done_at: None,
            requester_ip: sub.requester_ip.as_deref().map(Into::into),
            requester_ua: sub.requester_ua.as_deref().map(Into::into),
            tracking_code: new.tracking_code.as_str().into(),
            events: Vec::with_capacity(1),
            device: sub.device.clone().map(Box::new),
            priority: sub.priority,
            due_at: sub.due_at,
            messages: Vec::new(),
            awaiting_reply: false,
            files: Vec::new(),
            stage: None,
            stage_at: None,
            quotes: Vec::new(),
            quote: None,
        }
    }

    pub(crate) fn folded_title(&self) -> &str {
        self.folded.as_deref().unwrap_or(&self.title)
    }

    /// Position in the newest-first order (see [`crate::index::OrderKey`]).
    pub(crate) fn order_key(&self, row: u32) -> crate::index::OrderKey {
        (self.created_at.timestamp_micros(), row)
    }

    /// `done_at - created_at` in microseconds for a done ticket, else 0: what the statistics
    /// counters sum.
    pub(crate) fn resolution_micros(&self) -> i128 {
        match (self.status, self.done_at) {
            (TicketStatus::Done, Some(done)) => {
                i128::from((done - self.created_at).num_microseconds().unwrap_or(0))
            }
            _ => 0,
        }
    }
}

/// A customer, with the lower-cased e-mail that identifies it, its tickets (rows, ascending)
/// and its history.
pub(crate) struct ClientRow {
    pub(crate) client: Client,
    pub(crate) email_key: Box<str>,
    pub(crate) tickets: Vec<u32>,
    pub(crate) events: Vec<crm_core::ClientEvent>,
}

/// A staff account, its password hash and its audit trail.
pub(crate) struct UserRow {
    pub(crate) user: User,
    pub(crate) password_hash: String,
    pub(crate) active: bool,
    pub(crate) events: Vec<AccountEvent>,
    /// Its second factor.
    pub(crate) totp: crate::credentials::SecondFactor,
}

/// The row number of an id: ids are row numbers plus one, so no lookup table is needed.
pub(crate) fn row_of(id: i64) -> Option<u32> {
    u32::try_from(id.checked_sub(1)?).ok()
}

#[cfg(test)]
mod tests {
    use super::row_of;

    #[test]
    fn ids_map_to_rows_and_garbage_to_none() {
        assert_eq!(row_of(1), Some(0));
        assert_eq!(row_of(0), None);
        assert_eq!(row_of(-5), None);
        assert_eq!(row_of(i64::MAX), None);
    }
}
