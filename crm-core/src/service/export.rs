//! The ticket export: every ticket a list request matches, walked in batches by cursor (never
//! counted, never offset), each with what a spreadsheet of repairs wants beside it (the
//! worker's name, the approved quote's total). Memory holds one batch at a time, whatever the
//! size of the list.

use super::{Crm, ListTickets, require};
use crate::{
    error::CoreError,
    ids::UserId,
    money::Currency,
    page::{PageRequest, TicketQuery},
    quote::QuoteState,
    role::{Actor, Permission},
    store::Store,
    ticket::Ticket,
};
use std::collections::HashMap;

/// Tickets read per batch: large enough that a round trip is little of a batch's time, small
/// enough that a batch is a few hundred KiB.
pub const EXPORT_BATCH: u32 = 1000;

/// An approved quote's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovedTotal {
    /// Subtotal plus tax, in minor units.
    pub total: i64,
    /// Its currency.
    pub currency: Currency,
}

/// One ticket as the export writes it.
#[derive(Debug, Clone)]
pub struct ExportRow {
    /// The ticket.
    pub ticket: Ticket,
    /// Its worker's username, if it has one.
    pub worker: Option<String>,
    /// Its latest quote's total, when the customer approved it.
    pub approved: Option<ApprovedTotal>,
}

/// A walk through the tickets of one list request, batch by batch.
pub struct TicketExport<S> {
    crm: Crm<S>,
    query: TicketQuery,
    finished: bool,
    workers: HashMap<UserId, Option<String>>,
}

impl<S: Store> Crm<S> {
    /// Starts an export of every ticket `req` matches (admins only; the filters and order of
    /// [`Crm::list_tickets`], each checked the same way; its page, size and cursor are not
    /// used).
    pub fn export_tickets(
        &self,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<TicketExport<S>, CoreError> {
        require(actor, Permission::ExportTickets)?;
        let req = ListTickets {
            page: None,
            size: None,
            cursor: None,
            ..req
        };
        let mut query = self.ticket_query(actor, req)?;
        query.page = PageRequest::batch(EXPORT_BATCH);
        query.viewer = None;
        Ok(TicketExport {
            crm: self.clone(),
            query,
            finished: false,
            workers: HashMap::new(),
        })
    }
}

impl<S: Store> TicketExport<S> {
    /// The next batch, or `None` after the last.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<ExportRow>>, CoreError> {
        if self.finished {
            return Ok(None);
        }
        let store = self.crm.store.clone();
        let tickets = store
            .ticket_batch(&self.query)
            .await
            .map_err(CoreError::from_store)?;
        self.finished = tickets.len() < self.query.page.size() as usize;
        let Some(last) = tickets.last() else {
            return Ok(None);
        };
        self.query.page = self.query.page.after(self.query.sort.position(last));
        for id in tickets.iter().filter_map(|t| t.worker_id) {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.workers.entry(id) {
                slot.insert(match store.find_user(id).await {
                    Ok(rec) => Some(rec.user.username),
                    Err(crate::StoreError::NotFound) => None,
                    Err(e) => return Err(CoreError::from_store(e)),
                });
            }
        }
        let approved: Vec<_> = tickets
            .iter()
            .filter_map(|t| {
                t.quote
                    .as_ref()
                    .filter(|q| q.state == QuoteState::Approved)
                    .map(|q| (t.id, q.id))
            })
            .collect();
        let totals: HashMap<_, _> = store
            .quotes_of(&approved)
            .await
            .map_err(CoreError::from_store)?
            .into_iter()
            .filter_map(|q| {
                let currency = Currency::parse(&q.currency)?;
                Some((
                    q.ticket_id,
                    ApprovedTotal {
                        total: q.totals().total,
                        currency,
                    },
                ))
            })
            .collect();
        let rows = tickets
            .into_iter()
            .map(|ticket| ExportRow {
                worker: ticket
                    .worker_id
                    .and_then(|w| self.workers.get(&w).cloned().flatten()),
                approved: totals.get(&ticket.id).copied(),
                ticket,
            })
            .collect();
        Ok(Some(rows))
    }
}
