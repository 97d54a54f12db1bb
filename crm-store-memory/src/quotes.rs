//! Quotes, kept with their ticket's row under the store's lock: a send supersedes the earlier
//! version and a decision is checked and recorded in one critical section.

use crate::{MemoryStore, rows::row_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Change, DecideQuote, NewEvent, NewQuote, Quote, QuoteContent, QuoteId, QuoteStore, StoreError,
    TicketId, UserId, quote::DecisionRefused,
};

impl crate::Inner {
    fn ticket_row(&self, id: TicketId) -> Result<u32, StoreError> {
        row_of(id.0)
            .filter(|&r| (r as usize) < self.tickets.len())
            .ok_or(StoreError::NotFound)
    }

    fn quote_at(&self, ticket: TicketId, id: QuoteId) -> Result<(u32, usize), StoreError> {
        let row = self.ticket_row(ticket)?;
        let i = self.tickets[row as usize]
            .quotes
            .iter()
            .position(|q| q.id == id)
            .ok_or(StoreError::NotFound)?;
        Ok((row, i))
    }
}

#[async_trait]
impl QuoteStore for MemoryStore {
    async fn create_quote(&self, new: NewQuote) -> Result<Quote, StoreError> {
        let mut g = self.write();
        let row = g.ticket_row(new.ticket_id)?;
        g.next_quote += 1;
        let id = QuoteId(g.next_quote);
        let quotes = &mut g.tickets[row as usize].quotes;
        let c = new.content;
        let q = Quote {
            id,
            ticket_id: new.ticket_id,
            version: quotes.len() as u32 + 1,
            currency: new.currency,
            created_by: new.author,
            lines: c.lines,
            tax_rate: c.tax_rate,
            valid_days: c.valid_days,
            note: c.note,
            created_at: new.at,
            sent_at: None,
            superseded_at: None,
            decision: None,
        };
        quotes.push(q.clone());
        Ok(q)
    }

    async fn edit_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        content: QuoteContent,
    ) -> Result<Quote, StoreError> {
        let mut g = self.write();
        let (row, i) = g.quote_at(ticket, id)?;
        let q = &mut g.tickets[row as usize].quotes[i];
        if !q.editable() {
            return Err(StoreError::QuoteNotOpen);
        }
        q.set_content(content);
        Ok(q.clone())
    }

    async fn list_quotes(&self, ticket: TicketId) -> Result<Vec<Quote>, StoreError> {
        let g = self.read();
        let row = g.ticket_row(ticket)?;
        Ok(g.tickets[row as usize].quotes.clone())
    }

    async fn get_quote(&self, ticket: TicketId, id: QuoteId) -> Result<Quote, StoreError> {
        let g = self.read();
        let (row, i) = g.quote_at(ticket, id)?;
        Ok(g.tickets[row as usize].quotes[i].clone())
    }

    async fn quotes_of(&self, wanted: &[(TicketId, QuoteId)]) -> Result<Vec<Quote>, StoreError> {
        let g = self.read();
        Ok(wanted
            .iter()
            .filter_map(|&(ticket, id)| g.quote_at(ticket, id).ok())
            .map(|(row, i)| g.tickets[row as usize].quotes[i].clone())
            .collect())
    }

    async fn send_quote(
        &self,
        ticket: TicketId,
        id: QuoteId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<Quote, StoreError> {
        let mut g = self.write();
        let (row, i) = g.quote_at(ticket, id)?;
        let r = &mut g.tickets[row as usize];
        if !r.quotes[i].editable() {
            return Err(StoreError::QuoteNotOpen);
        }
        for q in &mut r.quotes {
            if q.sent_at.is_some() && q.decision.is_none() && q.superseded_at.is_none() {
                q.superseded_at = Some(at);
            }
        }
        r.quotes[i].sent_at = Some(at);
        r.quote = r.quotes[i].summary();
        let sent = r.quotes[i].clone();
        let (status, worker) = (r.status, r.worker);
        g.push_event(row, NewEvent::quote_sent(at, actor, id.0, status, worker));
        self.changed(Change::Events);
        Ok(sent)
    }

    async fn decide_quote(&self, decide: DecideQuote) -> Result<Quote, StoreError> {
        let mut g = self.write();
        let (row, i) = g.quote_at(decide.ticket_id, decide.quote_id)?;
        let r = &mut g.tickets[row as usize];
        let at = decide.decision.at;
        r.quotes[i].may_decide(at).map_err(|e| match e {
            DecisionRefused::Decided => StoreError::QuoteDecided,
            DecisionRefused::NotOpen => StoreError::QuoteNotOpen,
        })?;
        r.quotes[i].decision = Some(decide.decision);
        r.quote = r.quotes[i].summary();
        let decided = r.quotes[i].clone();
        let (status, worker) = (r.status, r.worker);
        g.push_event(
            row,
            NewEvent::quote_decided(at, decide.quote_id.0, status, worker),
        );
        self.changed(Change::Events);
        Ok(decided)
    }
}
